"""The self-referral's steps. Each form asks only what that step needs; everything beyond
name and date of birth is optional. Error messages name the field and say how to fix it."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

import measures
from intake import validation
from intake.models import PREFER_NOT_TO_SAY, Client, Preferences

YES_NO = [("yes", "Yes"), ("no", "No")]
PREFER = (PREFER_NOT_TO_SAY, "Prefer not to say")
TEXT_LIMIT = 2000
SHORT_TEXT_LIMIT = 500
WEEKDAYS = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
]
PARTS = [("morning", "Morning"), ("afternoon", "Afternoon"), ("evening", "Evening")]
AVAILABILITY = [(f"{d}_{p}", f"{dn} {pn.lower()}") for d, dn in WEEKDAYS for p, pn in PARTS]
DIFFICULTY_AREAS = [
    ("low_mood", "Low mood or depression"),
    ("anxiety", "Anxiety or worry"),
    ("relationships", "Relationships with other people"),
    ("loss", "Loss or bereavement"),
    ("trauma", "Something painful that happened in the past"),
    ("self_worth", "How I feel about myself"),
    ("anger", "Anger or irritability"),
    ("eating", "Eating or body image"),
    ("work", "Work or study"),
    ("other", "Something else"),
]
DURATIONS = [
    ("under_6_months", "Less than 6 months"),
    ("6_to_12_months", "6 to 12 months"),
    ("1_to_2_years", "1 to 2 years"),
    ("over_2_years", "More than 2 years"),
    PREFER,
]
CURRENT_SERVICES = [
    ("crisis_team", "A crisis team or home treatment team"),
    ("community_mental_health", "A community mental health team"),
    ("psychiatrist", "A psychiatrist"),
    ("other_therapy", "Another therapy or counselling service"),
    ("none", "None of these"),
]
GENDERS = [("female", "A woman"), ("male", "A man"), ("non_binary", "A non-binary person")]


class NhsDateWidget(forms.MultiWidget):
    """The NHS date input: separate day, month and year boxes."""

    def __init__(self, attrs=None):
        widgets = {
            "day": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "bday-day"}),
            "month": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "bday-month"}),
            "year": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "bday-year"}),
        }
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if isinstance(value, date):
            return [value.day, value.month, value.year]
        return [None, None, None]


class NhsDateField(forms.MultiValueField):
    widget = NhsDateWidget

    def __init__(self, *, label_noun: str, **kwargs):
        self.label_noun = label_noun
        # Parts are optional here so compress() can say exactly which one is missing.
        fields = (
            forms.CharField(required=False),
            forms.CharField(required=False),
            forms.CharField(required=False),
        )
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list or not any(data_list):
            return None
        day, month, year = (str(part or "").strip() for part in data_list)
        missing = [
            name for name, part in (("day", day), ("month", month), ("year", year)) if not part
        ]
        noun = self.label_noun
        if missing:
            raise ValidationError(f"{noun} must include a {' and a '.join(missing)}")
        if not (day.isdigit() and month.isdigit() and year.isdigit()):
            raise ValidationError(f"{noun} must be a real date, written in numbers like 27 3 1985")
        if len(year) != 4:
            raise ValidationError("Year must include 4 numbers, like 1985")
        try:
            return date(int(year), int(month), int(day))
        except (ValueError, OverflowError):  # a day like 99999999999999999999 overflows
            raise ValidationError(f"{noun} must be a real date") from None


def limit_subject(label: str) -> str:
    """What a too-long message names: the field ("Postal address"), or "Your answer" where
    the label is a question."""
    name = label.replace(" (optional)", "")
    return "Your answer" if name.endswith("?") else name


def text_field(
    label: str, *, limit: int = TEXT_LIMIT, required: bool = False, hint: str = "", rows: int = 5
) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=limit,
        help_text=hint,
        strip=True,
        widget=forms.Textarea(attrs={"rows": rows, "data-maxlength": limit}),
        error_messages={
            "max_length": f"{limit_subject(label)} must be {limit} characters or fewer "
            "(you have %(show_value)d)",
        },
    )


def line_field(
    label: str,
    *,
    limit: int = 100,
    required: bool = False,
    hint: str = "",
    autocomplete: str = "",
    width: str = "",
) -> forms.CharField:
    attrs = {}
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    if width:
        attrs["class"] = f"nhsuk-input--width-{width}"
    return forms.CharField(
        label=label,
        required=required,
        max_length=limit,
        help_text=hint,
        widget=forms.TextInput(attrs=attrs),
        error_messages={
            "required": f"Enter your {label.lower()}",
            "max_length": f"{limit_subject(label)} must be {limit} characters or fewer",
        },
    )


def radio_field(
    label: str, choices, *, required: bool = False, hint: str = "", required_message: str = ""
) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        required=required,
        help_text=hint,
        widget=forms.RadioSelect,
        error_messages={"required": required_message or f"Select an answer: {label.lower()}"},
    )


def checkboxes_field(label: str, choices, *, hint: str = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        required=False,
        help_text=hint,
        widget=forms.CheckboxSelectMultiple,
    )


class StepForm(forms.Form):
    """A wizard step. Forms that depend on the service's rules receive it.

    ``reveals`` names the questions asked only under a choice: {field: {choice: [fields]}}.
    The page shows them inside that choice's conditional content. Without JavaScript they
    are all on the page, so whatever was typed under a choice not made is posted too: it is
    neither checked nor kept (``revealed_data`` is the posted data without it).
    """

    reveals: dict[str, dict[str, list[str]]] = {}

    def __init__(self, *args, service=None, **kwargs):
        self.service = service
        super().__init__(*args, **kwargs)
        if self.is_bound:
            for name in self.unrevealed():
                field = self.fields[name]
                field.clean = _unanswered(field)

    def chosen(self, name: str) -> set[str]:
        key = self.add_prefix(name)
        if hasattr(self.data, "getlist"):
            values = self.data.getlist(key)
        else:
            raw = self.data.get(key)
            values = raw if isinstance(raw, (list, tuple)) else [raw]
        return {str(value) for value in values if value not in (None, "")}

    def unrevealed(self) -> set[str]:
        """Questions under a choice that was not made (those under a hidden one, too)."""
        hidden: set[str] = set()
        for parent, by_choice in self.reveals.items():
            chosen = set() if parent in hidden else self.chosen(parent)
            for choice, names in by_choice.items():
                if choice not in chosen:
                    hidden.update(name for name in names if name in self.fields)
        return hidden

    def revealed_data(self):
        """The posted data without the answers to questions under a choice not made."""
        hidden = {self.add_prefix(name) for name in self.unrevealed()}
        data = self.data.copy()
        for key in list(data):
            base = key.rsplit("_", 1)[0] if key.endswith(("_day", "_month", "_year")) else key
            if key in hidden or base in hidden:
                del data[key]
        return data


def _unanswered(field):
    empty = [] if isinstance(field, forms.MultipleChoiceField) else ""

    def clean(value):
        return empty

    return clean


class SafetyForm(StepForm):
    safe_now = radio_field(
        "Are you safe right now?",
        [("yes", "Yes"), ("no", "No")],
        required=True,
        hint="If you might act on thoughts of ending your life or harming yourself, "
        "we will show you where to get help straight away.",
        required_message="Select yes if you are safe right now, or no if you are not",
    )
    age_ok = radio_field("age", YES_NO, required=True)
    in_area = radio_field(
        "Are you registered with a GP practice in the area this service covers?",
        [
            ("yes", "Yes"),
            ("no", "No"),
            ("not_registered", "I am not registered with a GP"),
            ("not_sure", "I'm not sure"),
        ],
        required=True,
        required_message="Select whether your GP practice is in the area we cover",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        min_age = self.service.min_age if self.service else 18
        max_age = self.service.max_age if self.service else None
        question = (
            f"Are you aged between {min_age} and {max_age}?"
            if max_age
            else f"Are you aged {min_age} or over?"
        )
        self.fields["age_ok"].label = question
        self.fields["age_ok"].error_messages["required"] = (
            f"Select yes if you are aged {min_age} or over"
        )
        areas = self.service.gp_postcode_areas if self.service else []
        if areas:
            self.fields["in_area"].help_text = (
                "We cover GP practices in these postcode areas: " + ", ".join(areas)
            )
        else:
            del self.fields["in_area"]

    def ineligible_reason(self) -> str | None:
        if self.cleaned_data.get("age_ok") == "no":
            return "age"
        if self.cleaned_data.get("in_area") == "no":
            return "area"
        return None


class ContinueForm(StepForm):
    """A page with information and a Continue button, and nothing to answer."""


GENDER_IDENTITIES = [
    ("woman", "Woman"),
    ("man", "Man"),
    ("non_binary", "Non-binary"),
    ("self_described", "I describe it another way"),
    PREFER,
]


class AboutForm(StepForm):
    given_name = line_field("First name", required=True, autocomplete="given-name")
    family_name = line_field("Last name", required=True, autocomplete="family-name")
    preferred_name = line_field(
        "What would you like us to call you? (optional)",
        autocomplete="nickname",
        hint="If it is different from your first name",
    )
    date_of_birth = NhsDateField(
        label="Date of birth",
        label_noun="Date of birth",
        help_text="For example, 27 3 1985",
        error_messages={
            "required": "Enter your date of birth",
            "incomplete": "Date of birth must include a day, month and year",
        },
    )
    nhs_number = line_field(
        "NHS number (optional)",
        limit=14,
        width="10",
        hint="A 10 digit number, like 943 476 5919. You can find it on a letter from the NHS "
        "or in the NHS App.",
    )
    postcode = line_field("Postcode (optional)", limit=10, autocomplete="postal-code", width="10")

    def clean_date_of_birth(self):
        born = self.cleaned_data.get("date_of_birth")
        if born is None:
            raise ValidationError("Enter your date of birth")
        return validation.clean_birth_date(
            born,
            today=timezone.localdate(),
            min_age=self.service.min_age if self.service else 18,
            max_age=self.service.max_age if self.service else None,
        )

    def clean_nhs_number(self):
        return validation.clean_nhs_number(self.cleaned_data.get("nhs_number", ""))

    def clean_postcode(self):
        return validation.clean_postcode(self.cleaned_data.get("postcode", ""))


class GenderForm(StepForm):
    gender_identity = radio_field(
        "How would you describe your gender? (optional)", GENDER_IDENTITIES
    )
    gender_self_described = line_field("Your own description (optional)", limit=100)
    pronouns = line_field(
        "Pronouns (optional)", limit=50, hint="For example, she/her or they/them", width="10"
    )

    reveals = {"gender_identity": {"self_described": ["gender_self_described"]}}


MOBILE_USES = [("sms", "Text messages"), ("calls", "Phone calls")]
CONTACT_REQUIRED = (
    "You need to give us at least one way to contact you that we may use. Everything else "
    "on this page is up to you."
)


class ContactForm(StepForm):
    """One question per way of contacting the person, its detail revealed under "Yes".

    The cleaned data keeps the shape the rest of the service reads: each detail with its
    permission (email and email_ok, mobile_phone with sms_ok and mobile_call_ok,
    landline_phone and landline_call_ok, address and letters_ok). A detail under "No", or
    under no answer, is dropped."""

    email_ok = radio_field("May we contact you by email?", YES_NO)
    email = forms.EmailField(
        label="Email address",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={
            "invalid": "Enter an email address in the correct format, like name@example.com",
            "max_length": "Email address must be 254 characters or fewer",
        },
    )
    mobile_ok = radio_field("May we contact you on a mobile phone?", YES_NO)
    mobile_phone = line_field("Mobile number", limit=20, autocomplete="tel", width="20")
    mobile_uses = checkboxes_field(
        "How may we use your mobile?", MOBILE_USES, hint="Select all that apply"
    )
    landline_call_ok = radio_field("May we call you on a landline?", YES_NO)
    landline_phone = line_field("Landline number", limit=20, width="20")
    letters_ok = radio_field(
        "May we send you letters?",
        YES_NO,
        hint="Say no if someone else might open your post.",
    )
    address = text_field("Postal address", limit=SHORT_TEXT_LIMIT, rows=4)

    required_words = CONTACT_REQUIRED
    reveals = {
        "email_ok": {"yes": ["email"]},
        "mobile_ok": {"yes": ["mobile_phone", "mobile_uses"]},
        "landline_call_ok": {"yes": ["landline_phone"]},
        "letters_ok": {"yes": ["address"]},
    }
    # (permission, detail, what to ask for when it is missing)
    DETAILS = [
        ("email_ok", "email", "Enter your email address"),
        ("mobile_ok", "mobile_phone", "Enter your mobile number"),
        ("landline_call_ok", "landline_phone", "Enter your landline number"),
        ("letters_ok", "address", "Enter your postal address"),
    ]

    def clean_mobile_phone(self):
        return validation.clean_phone(self.cleaned_data.get("mobile_phone", ""), kind="mobile")

    def clean_landline_phone(self):
        return validation.clean_phone(self.cleaned_data.get("landline_phone", ""), kind="landline")

    def clean(self):
        data = super().clean()
        for permission, detail, missing in self.DETAILS:
            if data.get(permission) == "yes" and not data.get(detail) and detail not in self.errors:
                self.add_error(detail, missing)
        uses = data.get("mobile_uses") or []
        if data.get("mobile_ok") == "yes" and not uses:
            self.add_error("mobile_uses", "Select whether we may text you, call you, or both")
        mobile = data.get("mobile_ok", "")
        data["sms_ok"] = ("yes" if "sms" in uses else "no") if mobile == "yes" else mobile
        data["mobile_call_ok"] = ("yes" if "calls" in uses else "no") if mobile == "yes" else mobile
        # Only a mistake in the contact details themselves holds this back: any other
        # error on the page is reported alongside it.
        if not self.errors and not usable_channels(data):
            raise ValidationError(
                "Give us at least one way to contact you that we may use: say yes to email, "
                "a mobile, a landline or letters, and give us the detail",
                code="no_channel",
            )
        return data


def usable_channels(contact: dict) -> list[str]:
    """The ways we may contact someone, from the contact step's cleaned answers."""
    usable = []
    if contact.get("email") and contact.get("email_ok") == "yes":
        usable.append("email")
    if contact.get("mobile_phone") and contact.get("sms_ok") == "yes":
        usable.append("sms")
    if (contact.get("mobile_phone") and contact.get("mobile_call_ok") == "yes") or (
        contact.get("landline_phone") and contact.get("landline_call_ok") == "yes"
    ):
        usable.append("phone")
    if contact.get("address") and contact.get("letters_ok") == "yes":
        usable.append("letter")
    return usable


class ContactPreferencesForm(StepForm):
    """How we contact them, given the ways they said we may: voicemail only where we may
    call, a preferred way only where there is more than one."""

    voicemail_ok = radio_field(
        "If you do not answer, may we leave a voicemail?",
        YES_NO,
        hint="We would only say our name and ask you to call back, nothing about why.",
    )
    preferred_channel = radio_field(
        "How would you prefer us to contact you? (optional)", Client.Channel.choices
    )
    safe_contact_times = line_field(
        "Are there times when it is not safe or convenient to contact you? (optional)",
        limit=200,
        hint="For example, not before 10am, or not at weekends",
    )

    def __init__(self, *args, channels=None, **kwargs):
        super().__init__(*args, **kwargs)
        channels = list(channels or [])
        if "phone" not in channels:
            del self.fields["voicemail_ok"]
        if len(channels) > 1:
            self.fields["preferred_channel"].choices = [
                (value, label) for value, label in Client.Channel.choices if value in channels
            ]
        else:
            del self.fields["preferred_channel"]

    def clean(self):
        data = super().clean()
        if "voicemail_ok" in self.fields and not data.get("voicemail_ok"):
            self.add_error("voicemail_ok", "Select whether we may leave a voicemail")
        return data


class GpForm(StepForm):
    gp_registered = radio_field(
        "Are you registered with a GP?",
        Client.GpRegistration.choices,
        required=True,
        required_message="Select whether you are registered with a GP",
    )
    gp_practice_name = line_field("GP practice name (optional)", limit=200)
    gp_practice_address = text_field(
        "GP practice address (optional)", limit=SHORT_TEXT_LIMIT, rows=3
    )
    tell_gp = radio_field(
        "May we tell your GP that you have referred yourself?",
        YES_NO,
        hint="We would write to your GP practice. If you say no, we will not contact them "
        "unless we are worried about your safety.",
    )

    def clean(self):
        data = super().clean()
        if data.get("gp_registered") == "yes" and not data.get("tell_gp"):
            self.add_error("tell_gp", "Select whether we may tell your GP")
        if data.get("gp_registered") != "yes":
            data["tell_gp"] = ""
        return data


class DifficultiesForm(StepForm):
    presenting_problem = text_field(
        "In your own words, what has been difficult for you? (optional)",
        hint="Share as much or as little as you like. You can talk about it more at your "
        "assessment.",
        rows=8,
    )
    difficulty_areas = checkboxes_field(
        "Which of these are part of it? (optional)",
        DIFFICULTY_AREAS,
        hint="Select all that apply",
    )
    difficulty_duration = radio_field("How long has this been going on? (optional)", DURATIONS)
    hopes = text_field("What would you hope to get from therapy? (optional)")
    previous_help = text_field(
        "Have you had any help before, such as counselling, therapy or medication? (optional)",
    )
    current_services = checkboxes_field(
        "Are you in contact with any of these services now? (optional)",
        CURRENT_SERVICES,
        hint="Select all that apply",
    )

    def clean_current_services(self):
        chosen = self.cleaned_data.get("current_services") or []
        if "none" in chosen and len(chosen) > 1:
            raise ValidationError(
                "Select the services you are in contact with, or 'None of these', not both"
            )
        return chosen


class QuestionnaireChoiceForm(StepForm):
    answer_now = radio_field(
        "Would you like to answer two short questionnaires now?",
        [("yes", "Yes, answer them now"), ("no", "No, skip them")],
        required=True,
        hint="They ask about mood and worry over the last 2 weeks, and take about 5 minutes. "
        "They help us understand how things are for you. You can skip them: "
        "we can go through them together at your assessment.",
        required_message="Select whether you would like to answer the questionnaires now",
    )


class MeasureForm(StepForm):
    """One questionnaire; every item has 'prefer not to say'."""

    measure_code = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        measure = measures.get_measure(self.measure_code)
        self.measure = measure
        choices = [(str(i), label) for i, label in enumerate(measure.options)] + [PREFER]
        for number, text in enumerate(measure.items, start=1):
            self.fields[f"item_{number}"] = forms.ChoiceField(
                label=f"{number}. {text}",
                choices=choices,
                required=True,
                widget=forms.RadioSelect,
                error_messages={
                    "required": f"Question {number}: select an answer, or 'Prefer not to say'",
                },
            )

    def answers(self) -> list:
        """Answers for measures.score: option numbers or the sentinel."""
        values = []
        for number in range(1, len(self.measure.items) + 1):
            raw = self.cleaned_data.get(f"item_{number}")
            values.append(measures.PREFER_NOT_TO_SAY if raw == PREFER_NOT_TO_SAY else int(raw))
        return values


class Phq9Form(MeasureForm):
    measure_code = measures.PHQ9


class Gad7Form(MeasureForm):
    measure_code = measures.GAD7


THERAPIST_GENDER_ANY = Preferences.TherapistGender.ANY


class PreferencesForm(StepForm):
    therapist_gender_matters = radio_field(
        "Would you like your therapist to be a particular gender? (optional)",
        [("yes", "Yes"), ("no", "No, I do not mind")],
    )
    therapist_gender = radio_field(
        "Would you like your therapist to be",
        GENDERS,
        required_message="Select the gender you would like your therapist to be",
    )
    therapist_gender_strength = radio_field(
        "How important is this?",
        [
            (Preferences.GenderWish.PREFERENCE, "A preference: I would still see someone else"),
            (
                Preferences.GenderWish.REQUIREMENT,
                "A requirement: I would rather wait longer for this",
            ),
        ],
        hint="Requirements can mean a longer wait.",
    )
    language = line_field(
        "Which language would you like to have therapy in? (optional)",
        limit=50,
        hint="For example, English, Polish or British Sign Language",
    )
    interpreter_needed = radio_field("Would you need an interpreter? (optional)", YES_NO)
    interpreter_language = line_field(
        "Interpreter language", limit=50, hint="Including British Sign Language (BSL)"
    )
    access_needs = text_field(
        "Is there anything we should know to make sessions accessible for you? (optional)",
        limit=SHORT_TEXT_LIMIT,
        rows=3,
        hint="For example, step-free access, large print or a hearing loop",
    )
    mode = radio_field("How would you like to have sessions? (optional)", Preferences.Mode.choices)
    site = forms.ChoiceField(
        label="Which place would suit you best? (optional)",
        required=False,
        widget=forms.RadioSelect,
    )
    availability = checkboxes_field(
        "When could you usually come to a weekly session? (optional)",
        AVAILABILITY,
        hint="Select all that apply. Morning is before 12pm, afternoon 12pm to 5pm, evening "
        "after 5pm.",
    )
    more_than_weekly = radio_field(
        "Could you come more than once a week if that was suggested? (optional)",
        [("yes", "Yes"), ("no", "No"), ("not_sure", "Not sure")],
    )

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is None:
            sites = list(self.service.sites.all()) if self.service else []
        if sites:
            self.fields["site"].choices = [("", "No preference")] + [
                (str(site.public_id), site.name) for site in sites
            ]
        else:
            del self.fields["site"]

    reveals = {
        "therapist_gender_matters": {"yes": ["therapist_gender", "therapist_gender_strength"]},
        "interpreter_needed": {"yes": ["interpreter_language"]},
    }

    def clean(self):
        data = super().clean()
        matters = data.get("therapist_gender_matters")
        if matters == "yes":
            if not data.get("therapist_gender") and "therapist_gender" not in self.errors:
                self.add_error(
                    "therapist_gender", "Select the gender you would like your therapist to be"
                )
            if not data.get("therapist_gender_strength"):
                self.add_error(
                    "therapist_gender_strength",
                    "Select whether this is a preference or a requirement",
                )
        elif matters == "no":
            # "I do not mind" is an answer of its own, kept apart from no answer.
            data["therapist_gender"] = THERAPIST_GENDER_ANY
        if data.get("interpreter_needed") == "yes" and not data.get("interpreter_language"):
            self.add_error(
                "interpreter_language", "Enter the language you would need an interpreter for"
            )
        return data


# Shown on the consent step when the service has published no privacy notice of its own.
BUILT_IN_NOTICE_VERSION = "built-in-1"
BUILT_IN_NOTICE = (
    "We use what you tell us to give you care, as the law allows NHS services to do. We keep "
    "it confidential and share it only as you agree, or if we are seriously worried about "
    "your safety or someone else's."
)
NOTICE_CHANGED = (
    "Our privacy notice changed while this page was open. Read the new version, then answer again"
)


class ConsentForm(StepForm):
    """Agreeing to send, under the privacy notice shown on this page.

    The page carries the version of the notice it showed; if a new one was published
    before the person answered, the page comes back with the new one to read.
    """

    notice_version = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    outcome_data = radio_field(
        "May we use your questionnaire results, without your name or details, to check how "
        "well the service works?",
        YES_NO,
        required=True,
        hint="This is optional. Saying no does not change the care you get.",
        required_message="Select yes or no for using your anonymised results",
    )
    answers_own = forms.BooleanField(
        label="I confirm the answers in this referral are mine, given by me or with my agreement",
        required=True,
        error_messages={"required": "Confirm that these answers are yours to send the referral"},
    )

    def __init__(self, *args, notice=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.notice = notice
        self.shown_version = notice.version if notice is not None else BUILT_IN_NOTICE_VERSION
        self.fields["notice_version"].initial = self.shown_version

    def clean_notice_version(self):
        # Without the field (a client that drops hidden inputs), the notice on the page now.
        posted = self.cleaned_data.get("notice_version") or self.shown_version
        if posted != self.shown_version:
            self.add_error(None, NOTICE_CHANGED)
            # The page comes back carrying the version it now shows.
            self.data = self.data.copy()
            self.data[self.add_prefix("notice_version")] = self.shown_version
        return posted


class CheckForm(StepForm):
    """Check your answers: nothing to answer; the button sends the referral."""
