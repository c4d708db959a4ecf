"""Forms for the coordinator's allocation pages and for therapist profiles. Every error
says what is wrong and how to put it right, next to the field, keeping what was entered."""

from __future__ import annotations

import copy
import datetime as dt
import re

from django import forms

from allocation import choosing, exclusions, waiting
from allocation.engine.parse import WindowError, window_parse, windows_overlap
from allocation.engine.problem import (
    DAY_NAMES,
    MAX_COURSE_WEEKS,
    MAX_TRAVEL_MINUTES,
    OPEN_ENDED_WEEKS,
    _hhmm,
)
from allocation.models import (
    SPECIALISMS,
    AllocationNeeds,
    LeavePeriod,
    Therapist,
    TherapistExclusion,
    WeeklySlot,
)
from assessment.forms import date_field

# The codes the assessment's recommendation uses, so proposals can match them.
MODALITIES = [
    ("psychodynamic", "Psychodynamic psychotherapy"),
    ("dit", "Dynamic interpersonal therapy (DIT)"),
    ("cat", "Cognitive analytic therapy (CAT)"),
    ("group", "Group psychodynamic therapy"),
    ("mbt", "Mentalization-based treatment (MBT)"),
    ("cbt", "Cognitive behavioural therapy (CBT)"),
    ("counselling", "Counselling"),
    ("other", "Another therapy"),
]
FREQUENCIES = [
    ("1", "Once a week"),
    ("2", "Twice a week"),
    ("3", "3 times a week"),
    ("4", "4 times a week"),
    ("5", "5 times a week"),
]
WEEKDAYS = [(str(value), label) for value, label in WeeklySlot.Weekday.choices]
YES_NO = [("yes", "Yes"), ("no", "No")]
TIME_RE = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")


def reason_field(label: str, required_message: str, hint: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=500,
        help_text=hint,
        widget=forms.Textarea(attrs={"rows": 3, "data-maxlength": 500}),
        error_messages={
            "required": required_message,
            "max_length": "Keep this to 500 characters or fewer (you have %(show_value)d)",
        },
    )


class FilterSelect(forms.ChoiceField):
    """A list's filter: a select of fixed choices. Each form gets a shallow copy of it, not
    the deep copy a form makes of each field (its widget and error messages copied, its
    choices replaced whole, never changed in place): the deep copies were most of the cost
    of the waiting list's filter form, built on every request."""

    def __deepcopy__(self, memo):
        result = copy.copy(self)
        memo[id(self)] = result
        result.widget = copy.copy(self.widget)
        result.widget.attrs = self.widget.attrs.copy()
        result.error_messages = self.error_messages.copy()
        return result


def select(label: str, choices) -> forms.ChoiceField:
    return FilterSelect(label=label, choices=choices, required=False)


class WaitingFilterForm(forms.Form):
    """Filters and sorting of the waiting list. An unknown value shows everything rather
    than an error: these come from links and bookmarks as well as the form."""

    status = select("Show", waiting.STATUS_FILTERS)
    wait = select("Waiting", waiting.WAIT_FILTERS)
    risk = select("Risk", waiting.RISK_FILTERS)
    language = select("Language", [("", "Any language")])
    needs = select("Needs", waiting.NEEDS_FILTERS)
    sort = select("Sort by", waiting.SORTS)

    def offer_languages(self, languages) -> None:
        """The languages asked for on the waiting list, read with the list itself."""
        self.fields["language"].choices = [("", "Any language"), *languages]

    def selects(self) -> list[tuple[forms.BoundField, list[tuple[str, str, bool]]]]:
        """Each field with its options as (value, label, selected), for the page's selects:
        worked out once per field rather than once per option by the template."""
        shown = []
        for bound in self:
            current = bound.value()
            current = "" if current is None else str(current)
            options = [(v, label, str(v) == current) for v, label in bound.field.choices]
            shown.append((bound, options))
        return shown

    def filters(self) -> waiting.WaitingFilters:
        """The filters asked for; a value that is not one of the choices is left out. The
        language is checked by the selector, against the languages the list asks for."""
        clean = {}
        for name, field in self.fields.items():
            value = self.data.get(name, "")
            valid = {str(v) for v, _ in field.choices}
            clean[name] = value if name == "language" or value in valid else ""
        return waiting.WaitingFilters(
            status=clean.get("status") or "",
            wait=clean.get("wait") or "",
            risk=clean.get("risk") or "",
            language=clean.get("language") or "",
            needs=clean.get("needs") or "",
            sort=clean.get("sort") or "wait",
        )


class AcceptForm(forms.Form):
    first_appointment = date_field(
        "First appointment",
        "First appointment",
        required=False,
        hint="On the day of the regular time. Leave the date as it is unless you have agreed "
        "another with the client. For example, 14 3 2027",
    )


class HoldForm(forms.Form):
    reason = reason_field(
        "Why is this referral on hold?",
        "Enter why this referral is on hold",
        hint="For example, the client is away until the spring and would like to wait",
    )


class ChooseFilterForm(forms.Form):
    """Filters of the list of therapists to choose from, by GET. A value that is not
    offered is ignored (the selector checks it against the team), never an error."""

    times = forms.BooleanField(
        label="Only therapists with a free slot in the client's available times",
        required=False,
    )
    requirements = forms.BooleanField(
        label="Only therapists who meet every requirement of the client's (therapy, language, "
        "gender, sessions a week, leave, the team's exclusions)",
        required=False,
    )
    language = select("Speaks", [("", "Any language")])
    place = select("Has a free slot", [("", "Anywhere")])

    @staticmethod
    def filters_from(data) -> choosing.ChooseFilters:
        """The filters in a query string, as given: shown unbound, so a stale bookmark
        never makes an error of the page."""
        return choosing.ChooseFilters(
            times=data.get("times") == "1",
            requirements=data.get("requirements") == "1",
            language=str(data.get("language", "")),
            place=str(data.get("place", "")),
        )

    def offer(self, *, languages, places) -> None:
        """The languages the team speaks and the places with slots, read by the selector."""
        self.fields["language"].choices = [("", "Any language"), *languages]
        self.fields["place"].choices = [("", "Anywhere"), *places]


class ChooseForm(forms.Form):
    """The slot or slots of one therapist, why, and the first appointment. Every mistake is
    said at once; the service checks the same again when it saves."""

    slots = forms.MultipleChoiceField(
        label="Regular time",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Select the slot or slots to book",
            "invalid_choice": "A selected slot is no longer free: select from the list as it is",
        },
    )
    reason = reason_field(
        "Why this therapist?",
        "Enter why you chose this therapist",
        hint="This is kept with the allocation",
    )
    first_appointment = date_field(
        "First appointment (optional)",
        "First appointment",
        required=False,
        hint="Leave blank for the first date at least a week ahead. For example, 14 3 2027",
    )

    def __init__(self, *args, options=(), sessions_per_week: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.sessions_per_week = sessions_per_week
        self.slot_rows: dict[str, WeeklySlot] = {}
        choices = []
        for option in options:
            name = option.therapist.display_name
            for choice in option.slots:
                slot = choice.slot
                where = slot.site.name if slot.site_id else "remote"
                self.slot_rows[str(slot.public_id)] = slot
                choices.append(
                    (
                        str(slot.public_id),
                        f"{name}: {slot.get_weekday_display()} {slot.start:%H:%M} "
                        f"({slot.length_minutes} min, {where})",
                    )
                )
        field = self.fields["slots"]
        field.choices = choices
        k = sessions_per_week
        if k > 1:
            field.help_text = (
                f"Select {k} slots of one therapist, on different days: the assessment "
                f"recommends {k} sessions a week"
            )
        else:
            field.help_text = "Select one slot of one therapist"

    def clean_slots(self):
        chosen = [self.slot_rows[value] for value in self.cleaned_data["slots"]]
        k = self.sessions_per_week
        if len({slot.therapist_id for slot in chosen}) > 1:
            raise forms.ValidationError("Select slots of one therapist only")
        if len(chosen) != k or len({slot.weekday for slot in chosen}) != len(chosen):
            raise forms.ValidationError(
                f"Select {k} slot{'s' if k > 1 else ''}"
                + (", on different days" if k > 1 else "")
                + f": the assessment recommends {k} session{'s' if k > 1 else ''} a week"
            )
        return self.cleaned_data["slots"]


class BulkAcceptForm(forms.Form):
    proposal = forms.MultipleChoiceField(
        required=True, error_messages={"required": "Select at least one proposal to accept"}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any UUID is a candidate; the selector keeps only open proposals of this service.
        self.fields["proposal"].choices = [
            (value, value) for value in (self.data.getlist("proposal") if self.data else [])
        ]

    def clean_proposal(self):
        import uuid

        ids = []
        for value in self.cleaned_data["proposal"]:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                raise forms.ValidationError("Select proposals from the list") from None
        return ids


# --- Therapist profiles -----------------------------------------------------------------------


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label="Name",
        max_length=200,
        error_messages={
            "required": "Enter the therapist's name",
            "max_length": "The name must be 200 characters or fewer",
        },
    )
    gender = forms.ChoiceField(
        label="Gender",
        choices=Therapist.Gender.choices,
        widget=forms.RadioSelect,
        help_text="Used only to meet clients' wishes about their therapist's gender",
        error_messages={"required": "Select the therapist's gender, or 'Not stated'"},
    )
    modalities = forms.MultipleChoiceField(
        label="Therapies offered",
        choices=MODALITIES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Select at least one kind of therapy offered"},
    )
    languages = forms.CharField(
        label="Languages",
        max_length=300,
        help_text="Separate languages with commas, for example: English, Polish, BSL",
        error_messages={
            "required": "Enter at least one language",
            "max_length": "Languages must be 300 characters or fewer (you have %(show_value)d)",
        },
    )
    frequencies = forms.MultipleChoiceField(
        label="Sessions a week offered",
        choices=FREQUENCIES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Select how many sessions a week are offered"},
    )
    sites = forms.MultipleChoiceField(
        label="Sites worked at",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    offers_remote = forms.ChoiceField(
        label="Offers remote sessions (video or phone)?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether remote sessions are offered"},
    )
    grade = forms.ChoiceField(
        label="Grade",
        choices=Therapist.Grade.choices,
        widget=forms.RadioSelect,
        required=False,  # qualified unless said otherwise
        initial=Therapist.Grade.QUALIFIED,
        error_messages={"invalid_choice": "Select qualified or trainee"},
    )
    supervised = forms.ChoiceField(
        label="Works under clinical supervision?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        required=False,  # no unless said otherwise
        initial="no",
        help_text="A trainee always does. Clients who need a therapist not under supervision "
        "are not proposed to one who does",
        error_messages={"invalid_choice": "Select yes or no"},
    )
    specialisms = forms.MultipleChoiceField(
        label="Specialisms",
        required=False,
        choices=SPECIALISMS,
        widget=forms.CheckboxSelectMultiple,
        help_text="A client who needs a specialism is proposed only to a therapist who has it",
        error_messages={"invalid_choice": "Select only the specialisms listed"},
    )
    capacity = forms.IntegerField(
        label="Weekly sessions",
        min_value=0,
        max_value=200,
        help_text="The most therapy sessions a week the therapist carries. A client seen twice "
        "a week uses two. The sessions in use are counted from allocations",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "nhsuk-input--width-4"}),
        error_messages={
            "required": "Enter the weekly sessions",
            "invalid": "Weekly sessions must be a whole number, like 30",
            "min_value": "Weekly sessions must be 0 or more",
            "max_value": "Weekly sessions must be 200 or fewer",
        },
    )
    max_high_risk = forms.IntegerField(
        label="Most high-risk clients at once (optional)",
        required=False,
        min_value=0,
        max_value=200,
        help_text="Leave empty for no cap. A client whose risk is high counts against it, "
        "those allocated now included",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "nhsuk-input--width-4"}),
        error_messages={
            "invalid": "The cap on high-risk clients must be a whole number, like 2",
            "min_value": "The cap on high-risk clients must be 0 or more",
            "max_value": "The cap on high-risk clients must be 200 or fewer",
        },
    )
    max_complex = forms.IntegerField(
        label="Most complex clients at once (optional)",
        required=False,
        min_value=0,
        max_value=200,
        help_text="Leave empty for no cap. A referral marked as a complex case counts "
        "against it, those allocated now included",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "nhsuk-input--width-4"}),
        error_messages={
            "invalid": "The cap on complex clients must be a whole number, like 3",
            "min_value": "The cap on complex clients must be 0 or more",
            "max_value": "The cap on complex clients must be 200 or fewer",
        },
    )

    def __init__(self, *args, sites=(), sign_ins=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.site_rows = {str(site.public_id): site for site in sites}
        self.fields["sites"].choices = [(key, site.name) for key, site in self.site_rows.items()]
        if not self.site_rows:
            del self.fields["sites"]
        # Only a service administrator's form links the profile to a staff sign-in.
        self.sign_in_rows = None
        if sign_ins is not None:
            self.sign_in_rows = {str(u.public_id): u for u in sign_ins}
            self.fields["sign_in"] = forms.ChoiceField(
                label="Staff sign-in",
                required=False,
                help_text="The therapist's own sign-in: with it they see and open the clients "
                "allocated to them. Clients can be allocated only to a linked profile",
                choices=[("", "Not linked yet")]
                + [
                    (key, f"{u.get_full_name() or u.username} ({u.username})")
                    for key, u in self.sign_in_rows.items()
                ],
                error_messages={"invalid_choice": "Select a sign-in from the list"},
            )

    @staticmethod
    def initial_for(therapist: Therapist) -> dict:
        return {
            "display_name": therapist.display_name,
            "gender": therapist.gender,
            "modalities": list(therapist.modalities or []),
            "languages": ", ".join(therapist.languages or []),
            "frequencies": [str(f) for f in therapist.frequencies or [1]],
            "sites": [str(site.public_id) for site in therapist.sites.all()],
            "offers_remote": "yes" if therapist.offers_remote else "no",
            "capacity": therapist.capacity,
            # Empty, not None, for no cap: what the form posts back when left empty.
            "max_high_risk": "" if therapist.max_high_risk is None else therapist.max_high_risk,
            "max_complex": "" if therapist.max_complex is None else therapist.max_complex,
            "grade": therapist.grade,
            "supervised": "yes" if therapist.supervised else "no",
            "specialisms": list(therapist.specialisms or []),
            "sign_in": str(therapist.user.public_id) if therapist.user_id else "",
        }

    def clean_languages(self):
        languages = [" ".join(x.split()) for x in self.cleaned_data["languages"].split(",")]
        languages = [x for x in languages if x]
        if not languages:
            raise forms.ValidationError("Enter at least one language")
        if any(len(x) > 50 for x in languages):
            raise forms.ValidationError("Each language must be 50 characters or fewer")
        return languages

    def profile(self):
        from allocation.therapists import ProfileInput

        data = self.cleaned_data
        return ProfileInput(
            display_name=data["display_name"],
            gender=data["gender"],
            modalities=data["modalities"],
            languages=data["languages"],
            frequencies=[int(f) for f in data["frequencies"]],
            sites=[self.site_rows[key] for key in data.get("sites") or []],
            offers_remote=data["offers_remote"] == "yes",
            capacity=data["capacity"],
            max_high_risk=data.get("max_high_risk"),
            max_complex=data.get("max_complex"),
            grade=data["grade"] or Therapist.Grade.QUALIFIED,
            # A trainee is supervised unless the form says otherwise (which is refused).
            supervised=data["supervised"] == "yes"
            or (data["grade"] == Therapist.Grade.TRAINEE and data["supervised"] != "no"),
            specialisms=list(data.get("specialisms") or []),
            link=self.sign_in_rows is not None,
            sign_in=(self.sign_in_rows or {}).get(data.get("sign_in") or ""),
        )


class SlotForm(forms.Form):
    weekday = forms.ChoiceField(
        label="Day",
        choices=[("", "Choose a day"), *WEEKDAYS],
        error_messages={"required": "Select a day"},
    )
    start = forms.CharField(
        label="Start time",
        max_length=5,
        help_text="Use the 24-hour clock, for example 09:30 or 18:00",
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-5"}),
        error_messages={
            "required": "Enter a start time",
            "max_length": "Enter the start time in 5 characters or fewer, like 09:30",
        },
    )
    length = forms.IntegerField(
        label="Length in minutes",
        initial=50,
        min_value=15,
        max_value=180,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "nhsuk-input--width-4"}),
        error_messages={
            "required": "Enter the length in minutes",
            "invalid": "Length must be a whole number of minutes, like 50",
            "min_value": "Length must be 15 minutes or more",
            "max_value": "Length must be 180 minutes or fewer",
        },
    )
    site = forms.ChoiceField(
        label="Where",
        widget=forms.RadioSelect,
        error_messages={"required": "Select where the sessions take place"},
    )

    def __init__(self, *args, therapist: Therapist, **kwargs):
        super().__init__(*args, **kwargs)
        self.site_rows = {str(site.public_id): site for site in therapist.sites.all()}
        choices = [(key, site.name) for key, site in self.site_rows.items()]
        if therapist.offers_remote:
            choices.append(("remote", "Remote (video or phone)"))
        self.fields["site"].choices = choices

    def clean_start(self):
        match = TIME_RE.match(self.cleaned_data["start"])
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise forms.ValidationError(
                "Enter a real time on the 24-hour clock, like 09:30 or 18:00"
            )
        return dt.time(int(match.group(1)), int(match.group(2)))

    def chosen_site(self):
        return self.site_rows.get(self.cleaned_data["site"])


class LeaveForm(forms.Form):
    kind = forms.ChoiceField(
        label="Leave or a planned break?",
        choices=LeavePeriod.Kind.choices,
        widget=forms.RadioSelect,
        required=False,  # leave unless said otherwise
        initial=LeavePeriod.Kind.LEAVE,
        help_text="A planned break is time away the service plans, such as a closure or a "
        "block of training. Both keep clients whose course would cross them away",
        error_messages={"invalid_choice": "Select leave or a planned break"},
    )
    starts_on = date_field("First day of leave", "First day of leave")
    ends_on = date_field("Last day of leave", "Last day of leave")
    note = forms.CharField(
        label="Note (optional)",
        max_length=200,
        required=False,
        help_text="For example, annual leave. Clients do not see this",
        error_messages={"max_length": "The note must be 200 characters or fewer"},
    )


class ExclusionForm(forms.Form):
    """A therapist this client must never be allocated to, and why."""

    therapist = forms.ChoiceField(
        label="Therapist",
        error_messages={
            "required": "Select the therapist this client must not be allocated to",
            "invalid_choice": "Select a therapist of this service",
        },
    )
    reason = forms.ChoiceField(
        label="Why",
        choices=TherapistExclusion.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select why this therapist is excluded"},
    )
    note = forms.CharField(
        label="Note (needed for another reason)",
        required=False,
        max_length=300,
        help_text="Only what the team needs to know, for example: the therapist knows the "
        "client's family",
        error_messages={
            "max_length": "Keep the note to 300 characters or fewer (you have %(show_value)d)"
        },
    )

    def __init__(self, *args, therapists=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.therapist_rows = {str(t.public_id): t for t in therapists}
        self.fields["therapist"].choices = [
            ("", "Select a therapist"),
            *((key, t.display_name) for key, t in self.therapist_rows.items()),
        ]

    def clean(self):
        data = super().clean()
        if data.get("reason") == TherapistExclusion.Reason.OTHER and not data.get("note", ""):
            self.add_error("note", "Enter the reason, as it is not one of those listed")
        return data


GENDER_EXCLUSION_CHOICES = [
    (value, label)
    for value, label in Therapist.Gender.choices
    if value != Therapist.Gender.NOT_STATED
]


class GenderExclusionForm(forms.Form):
    """The therapist genders this client must not be allocated to ("not a man")."""

    genders = forms.MultipleChoiceField(
        label="The therapist must not be",
        required=False,
        choices=GENDER_EXCLUSION_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="A requirement: proposals never place the client with a therapist of these "
        "genders, nor with one whose gender is not stated. Leave all unticked for no "
        "requirement. The client's own preference still counts among those left",
        error_messages={"invalid_choice": "Select only the genders listed"},
    )


class CompetenceForm(forms.Form):
    """The competence this client's therapist needs, and a specialism."""

    competence = forms.ChoiceField(
        label="The therapist must be",
        choices=AllocationNeeds.Competence.choices,
        widget=forms.RadioSelect,
        initial=AllocationNeeds.Competence.ANY,
        error_messages={"required": "Select what the therapist must be"},
    )
    specialism = forms.ChoiceField(
        label="Specialism needed",
        required=False,
        choices=[("", "None needed"), *SPECIALISMS],
        error_messages={"invalid_choice": "Select a specialism from the list"},
    )


class CourseForm(forms.Form):
    """When this client can start, and how long the course is planned to be."""

    earliest_start = date_field(
        "Earliest start (optional)",
        "Earliest start",
        required=False,
        hint="Leave empty if the client can start as soon as a place is free. "
        "For example, 14 3 2027",
    )
    length = forms.ChoiceField(
        label="Planned length of therapy",
        choices=[("open", "Open-ended"), ("weeks", "A fixed number of weeks")],
        widget=forms.RadioSelect,
        initial="open",
        help_text="Therapists away during the course (leave or a planned break) are not "
        f"proposed. An open-ended course is checked over its first {OPEN_ENDED_WEEKS} weeks",
        error_messages={"required": "Select open-ended or a fixed number of weeks"},
    )
    weeks = forms.IntegerField(
        label="Number of weeks",
        required=False,
        min_value=1,
        max_value=MAX_COURSE_WEEKS,
        error_messages={
            "invalid": "Enter the number of weeks as a whole number, like 16",
            "min_value": "The course must be at least 1 week",
            "max_value": f"The course must be {MAX_COURSE_WEEKS} weeks or fewer",
        },
    )

    def clean(self):
        data = super().clean()
        if (
            data.get("length") == "weeks"
            and data.get("weeks") is None
            and "weeks" not in (self.errors)
        ):
            self.add_error("weeks", "Enter the number of weeks of the course")
        if data.get("length") == "open":
            data["weeks"] = None
        return data


class LanguagesForm(forms.Form):
    """BSL as well as a spoken language, for one client."""

    bsl = forms.ChoiceField(
        label="Does the client need BSL as well as a spoken language?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        help_text="For example, a Deaf client who also reads and speaks English. They are "
        "proposed a therapist who signs, or any therapist with a BSL interpreter if the "
        "service can book one",
        error_messages={"required": "Select yes or no"},
    )
    spoken_language = forms.CharField(
        label="Spoken language the client also uses (optional)",
        max_length=50,
        required=False,
        help_text="Leave empty for English",
        error_messages={"max_length": "The language must be 50 characters or fewer"},
    )


class InterpreterLanguagesForm(forms.Form):
    """The languages the service can book an interpreter for."""

    scope = forms.ChoiceField(
        label="Which languages can the service book an interpreter for?",
        choices=[("any", "Any language"), ("listed", "Only the languages listed")],
        widget=forms.RadioSelect,
        error_messages={"required": "Select any language, or only the languages listed"},
    )
    languages = forms.CharField(
        label="Languages",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One a line, or separated by commas, for example: Polish, Urdu, BSL",
        error_messages={"max_length": "The list must be 2000 characters or fewer"},
    )


class ComplexityForm(forms.Form):
    """Whether the referral is a complex case (docs/allocation.md, "Caseload mix")."""

    complex_case = forms.ChoiceField(
        label="Is this a complex case?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        help_text="Complex: the assessment found several needs that interact (for example "
        "a personality disorder, trauma and substance use together), or the case needs "
        "more than one agency involved. It counts against a therapist's cap on complex "
        "clients",
        error_messages={
            "required": "Select yes or no",
            "invalid_choice": "Select yes or no",
        },
    )


class ContinuityForm(forms.Form):
    """Continuity with the assessor: a wish, a requirement, or none."""

    continuity = forms.ChoiceField(
        label="Continuity with the assessor",
        choices=AllocationNeeds.Continuity.choices,
        widget=forms.RadioSelect,
        help_text="A requirement proposes only the assessor, if they have a therapist profile "
        "and a free place; otherwise the client waits, and the page says why",
        error_messages={"required": "Select how much continuity matters"},
    )


class AccessForm(forms.Form):
    """Step-free access, and travel to each of the service's sites with a limit."""

    step_free = forms.ChoiceField(
        label="Does the client need step-free access?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        help_text="In-person sessions are then proposed only at step-free sites",
        error_messages={"required": "Select yes or no"},
    )
    max_travel_minutes = forms.IntegerField(
        label="Most the client can travel, in minutes (optional)",
        required=False,
        min_value=1,
        max_value=MAX_TRAVEL_MINUTES,
        help_text="Sites further than this (from the times below) are not proposed",
        error_messages={
            "invalid": "Enter the minutes as a whole number, like 45",
            "min_value": "The most the client can travel must be at least 1 minute",
            "max_value": f"The most the client can travel must be {MAX_TRAVEL_MINUTES} "
            "minutes or fewer",
        },
    )

    def __init__(self, *args, site_names=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.site_fields = []
        for i, name in enumerate(site_names):
            key = f"travel_{i}"
            self.fields[key] = forms.IntegerField(
                label=f"Travel to {name}, in minutes (optional)",
                required=False,
                min_value=0,
                max_value=MAX_TRAVEL_MINUTES,
                error_messages={
                    "invalid": f"Enter the minutes to {name} as a whole number, like 20",
                    "min_value": f"The minutes to {name} must be 0 or more",
                    "max_value": f"The minutes to {name} must be {MAX_TRAVEL_MINUTES} or fewer",
                },
            )
            self.site_fields.append((name, key))

    @property
    def travel_fields(self):
        return [self[key] for _, key in self.site_fields]

    def travel(self) -> dict[str, int]:
        return {
            name: self.cleaned_data[key]
            for name, key in self.site_fields
            if self.cleaned_data.get(key) is not None
        }


# How each kind of unreadable time is put to the person who typed it.
WINDOW_ERRORS = {
    "format": "Enter '{line}' as a day and times, like Tuesday 17:30-20:00",
    "day": "'{line}' does not start with a day of the week: enter it like Tuesday 17:30-20:00",
    "outside": "'{line}' is outside the day: times run from 00:00 to 24:00",
    "order": "'{line}' ends before it starts: enter the start time first, like Tuesday 17:30-20:00",
}


def window_lines(windows) -> str:
    """Windows as the form shows them, one a line: "Tuesday 17:30-20:00"."""
    return "\n".join(f"{DAY_NAMES[day]} {_hhmm(start)}-{_hhmm(end)}" for day, start, end in windows)


def _windows_from_lines(text: str) -> list:
    """The windows typed, one a line (or separated by semicolons); every line that cannot
    be read is named, and overlapping times too."""
    lines = [x.strip() for x in re.split(r"[\n;]", text or "") if x.strip()]
    if len(lines) > exclusions.MAX_WINDOWS:
        raise forms.ValidationError(f"Enter at most {exclusions.MAX_WINDOWS} times")
    windows, errors = [], []
    for line in lines:
        try:
            windows.append(window_parse(line))
        except WindowError as error:
            errors.append(WINDOW_ERRORS[error.kind].format(line=line))
    if errors:
        raise forms.ValidationError(errors)
    overlap = windows_overlap(windows)
    if overlap:
        raise forms.ValidationError(
            f"{overlap.removeprefix('windows ').removesuffix(' overlap')} overlap: enter each "
            "time once, or as one longer time"
        )
    return sorted(windows)


class TimesForm(forms.Form):
    """The exact times the client can come, and those they would rather have."""

    windows = forms.CharField(
        label="Times the client can come",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One a line: a day and a start and end time, like Tuesday 17:30-20:00. "
        "Several a day are fine. A part of the day works too, like Tuesday evening. A slot "
        "is proposed only when the whole session fits inside one of these times. Leave empty "
        "to use the parts of the day the client gave",
        error_messages={"max_length": "The times must be 2000 characters or fewer"},
    )
    preferred = forms.CharField(
        label="Times the client would rather have (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="In the same way, for example Thursday 18:00-19:00. Proposals favour them "
        "when they can",
        error_messages={"max_length": "The times must be 2000 characters or fewer"},
    )

    def clean_windows(self):
        return _windows_from_lines(self.cleaned_data["windows"])

    def clean_preferred(self):
        return _windows_from_lines(self.cleaned_data["preferred"])
