"""Staff forms for assessment, and the building blocks therapy's forms share. Every message
names the field and says how to put it right; nothing typed is lost when a page comes back
with errors."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

import measures
from assessment.models import (
    Assessment,
    AssessmentMeasure,
    Mode,
    RiskAnswer,
    SectionStatus,
)
from intake.forms import NhsDateField, NhsDateWidget
from intake.models import Referral

TEXT_LIMIT = 4000
SHORT_LIMIT = 500
YES_NO = [("yes", "Yes"), ("no", "No")]
MISSING = "missing"
WEEKDAYS = [
    ("0", "Monday"),
    ("1", "Tuesday"),
    ("2", "Wednesday"),
    ("3", "Thursday"),
    ("4", "Friday"),
    ("5", "Saturday"),
    ("6", "Sunday"),
]
WEEKDAY_NAMES = dict(WEEKDAYS)
FREQUENCIES = [
    ("1", "Once a week"),
    ("2", "Twice a week"),
    ("3", "3 times a week"),
    ("4", "4 times a week"),
    ("5", "5 times a week"),
]
OTHER_MODALITIES = [
    ("dit", "Dynamic interpersonal therapy (DIT)"),
    ("cat", "Cognitive analytic therapy (CAT)"),
    ("group", "Group psychodynamic therapy"),
    ("mbt", "Mentalization-based treatment (MBT)"),
    ("cbt", "Cognitive behavioural therapy (CBT)"),
    ("counselling", "Counselling"),
    ("other", "Another therapy"),
]
MODALITY_NAMES = {"psychodynamic": "Psychodynamic psychotherapy", **dict(OTHER_MODALITIES)}
RELATIONSHIP_PATTERNS = [
    ("keeping_distance", "Keeping people at a distance"),
    ("others_first", "Putting other people's needs first"),
    ("fear_of_rejection", "Fearing rejection or being left"),
    ("repeated_conflict", "Repeated conflict or falling out"),
    ("hard_to_trust", "Finding it hard to trust people"),
    ("relying_on_one", "Relying heavily on one person"),
    ("feeling_controlled", "Feeling controlled or controlling others"),
    ("other", "Another pattern (describe below)"),
]


# --- Building blocks --------------------------------------------------------------------------


class StaffDateWidget(NhsDateWidget):
    """The NHS date input without birthday autocomplete hints."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        for widget in self.widgets:
            widget.attrs.pop("autocomplete", None)


def date_field(label: str, noun: str, *, required: bool = True, hint: str = "") -> NhsDateField:
    return NhsDateField(
        label=label,
        label_noun=noun,
        required=required,
        widget=StaffDateWidget,
        help_text=hint or "For example, 14 3 2027",
        error_messages={
            "required": f"Enter the {noun.lower()}",
            "incomplete": f"{noun} must include a day, month and year",
        },
    )


def textarea(
    label: str, *, limit: int = TEXT_LIMIT, hint: str = "", rows: int = 5
) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=limit,
        help_text=hint,
        widget=forms.Textarea(attrs={"rows": rows}),
        error_messages={
            "max_length": f"{label.replace(' (optional)', '')} must be {limit} characters or "
            "fewer (you have %(show_value)d)"
        },
    )


def line(label: str, *, limit: int = 200, hint: str = "", width: str = "") -> forms.CharField:
    attrs = {"class": f"nhsuk-input--width-{width}"} if width else {}
    return forms.CharField(
        label=label,
        required=False,
        max_length=limit,
        help_text=hint,
        widget=forms.TextInput(attrs=attrs),
        error_messages={
            "max_length": f"{label.replace(' (optional)', '')} must be {limit} characters or fewer"
        },
    )


def radios(label: str, choices, *, required: bool = True, message: str = "", hint: str = ""):
    return forms.ChoiceField(
        label=label,
        choices=choices,
        required=required,
        help_text=hint,
        widget=forms.RadioSelect,
        error_messages={"required": message or f"Select an answer: {label.lower()}"},
    )


TIME_RE = re.compile(r"^(\d{1,2})[:.]?(\d{2})$")


def parse_time(raw: str, *, what: str) -> time:
    value = (raw or "").strip().replace(" ", "")
    match = TIME_RE.match(value)
    if not match:
        raise ValidationError(f"Enter {what} in the 24-hour clock, like 14:30")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValidationError(f"Enter {what} as a real time, like 09:15 or 17:45")
    return time(hour, minute)


class ServiceForm(forms.Form):
    """Forms that need the service's sites or today's date get them here, so tests can fix
    the date and no form reads the clock on its own."""

    def __init__(self, *args, sites=None, today: date | None = None, **kwargs):
        self.sites = list(sites or [])
        self.today = today or timezone.localdate()
        super().__init__(*args, **kwargs)
        if "site" in self.fields:
            if self.sites:
                self.fields["site"].choices = [("", "Choose a site")] + [
                    (str(site.public_id), site.name) for site in self.sites
                ]
            else:
                del self.fields["site"]

    def site_chosen(self):
        chosen = self.cleaned_data.get("site")
        return next((s for s in self.sites if str(s.public_id) == chosen), None)


# --- Booking ----------------------------------------------------------------------------------


class BookingForm(ServiceForm):
    day = date_field("Date of the assessment", "Date of the assessment")
    start = line("Start time", limit=10, hint="24-hour clock, for example 14:30", width="5")
    duration = radios(
        "How long",
        [("50", "50 minutes"), ("60", "1 hour"), ("90", "1 hour 30 minutes")],
        message="Select how long the assessment will be",
    )
    mode = radios(
        "How will it take place?", Mode.choices, message="Select in person, video call or telephone"
    )
    site = forms.ChoiceField(label="Site", required=False)
    room = line("Room (optional)", limit=100, width="20")
    video_link = line(
        "Video link (for a video call)",
        limit=500,
        hint="The secure link the client will use, starting with https://",
    )

    def clean_start(self):
        return parse_time(self.cleaned_data.get("start", ""), what="the start time")

    def clean(self):
        data = super().clean()
        day, start = data.get("day"), data.get("start")
        # The date is checked on its own too, so a past date and an unreadable time are both
        # reported at once.
        starts_at = timezone.make_aware(datetime.combine(day, start)) if day and start else None
        if day and (day < self.today or (starts_at and starts_at <= timezone.now())):
            self.add_error("day", "The assessment must be in the future: check the date")
        elif day and day > self.today + timedelta(days=366):
            self.add_error("day", "The date must be within the next 12 months")
        if starts_at:
            data["starts_at"] = starts_at
        mode = data.get("mode")
        if mode == Mode.IN_PERSON:
            if "site" in self.fields and not data.get("site"):
                self.add_error("site", "Select the site for an in-person assessment")
            data["video_link"] = ""
        elif mode == Mode.VIDEO:
            link = (data.get("video_link") or "").strip()
            if not link:
                self.add_error("video_link", "Enter the video link for a video call")
            elif not link.startswith("https://") or " " in link or len(link) < 12:
                self.add_error("video_link", "Enter a video link starting with https://")
            data["site"], data["room"] = "", ""
        elif mode == Mode.PHONE:
            data["site"], data["room"], data["video_link"] = "", "", ""
        return data


# --- The assessment wizard ------------------------------------------------------------------


class StepForm(forms.Form):
    """A wizard step; steps that depend on the referral receive it."""

    def __init__(self, *args, referral=None, context=None, **kwargs):
        self.referral = referral
        self.context = context or {}
        super().__init__(*args, **kwargs)


SECTION_QUESTION = "What did the client share about this?"


class SectionForm(StepForm):
    """A section that keeps 'not asked yet', 'chose not to say' and an answer apart."""

    topic = ""
    content_fields: tuple[str, ...] = ()
    radio_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"] = radios(
            SECTION_QUESTION,
            SectionStatus.choices,
            message=f"Select whether the client talked about {self.topic}, chose not to say, "
            "or it has not been asked yet",
        )
        self.order_fields(["status"])

    def clean(self):
        data = super().clean()
        status = data.get("status")
        filled = [name for name in self.content_fields if data.get(name)]
        content_errors = any(name in self.errors for name in self.content_fields)
        if status == SectionStatus.ANSWERED and not filled and not content_errors:
            self.add_error(
                self.content_fields[0],
                f"Enter what the client said about {self.topic}, or select that they chose "
                "not to say or that it has not been asked yet",
            )
        if status in (SectionStatus.DECLINED, SectionStatus.NOT_ASKED):
            if filled:
                self.add_error(
                    "status",
                    f"You selected '{SectionStatus(status).label}' but there is text below. "
                    "Select 'The client talked about this' to keep it, or clear the text",
                )
            for name in self.radio_fields:
                data[name] = ""  # a radio cannot be cleared by hand: ignore it
        return data


class PresentingForm(SectionForm):
    topic = "their difficulties"
    content_fields = ("own_words", "impact")
    own_words = textarea(
        "Their difficulties, in their own words",
        hint="Write what the client said, in their words where you can.",
        rows=8,
    )
    impact = textarea(
        "How this affects them and the people close to them (optional)",
        hint="For example, on work, home life, friendships and family",
    )


class RelationshipsForm(SectionForm):
    topic = "relationships and patterns"
    content_fields = ("patterns", "detail")
    patterns = forms.MultipleChoiceField(
        label="Patterns the client recognised (optional)",
        choices=RELATIONSHIP_PATTERNS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Select all the client recognised in themselves",
    )
    detail = textarea(
        "Relationships and patterns, as the client described them (optional)",
        hint="For example, how they are with people close to them, and what repeats",
    )

    def clean(self):
        data = super().clean()
        if "other" in (data.get("patterns") or []) and not data.get("detail"):
            self.add_error("detail", "Describe the other pattern the client recognised")
        return data


class HistoryForm(SectionForm):
    topic = "their history and previous help"
    content_fields = ("background", "previous_help")
    background = textarea("Background and history the client chose to share (optional)", rows=6)
    previous_help = textarea(
        "Help they have had before, and what it was like for them (optional)",
        hint="Counselling, therapy, medication, other services",
    )


class CircumstancesForm(SectionForm):
    topic = "their current circumstances and support"
    content_fields = ("living", "support")
    living = textarea(
        "Current circumstances (optional)", hint="Home, work or study, money, physical health"
    )
    support = textarea("Who they can turn to for support (optional)")


RISK_DOMAINS = [
    ("to_self", "Risk to self", "Including self-harm and thoughts of suicide"),
    ("to_others", "Risk to others", "Including thoughts of harming someone"),
    ("from_others", "Risk from others", "For example abuse, violence or exploitation"),
    ("safeguarding", "Safeguarding", "Children or adults at risk connected to the client"),
]
RISK_LEVELS = [
    (Referral.Risk.NONE_KNOWN, "None known"),
    (Referral.Risk.LOW, "Low"),
    (Referral.Risk.MEDIUM, "Medium"),
    (Referral.Risk.HIGH, "High"),
]


class RiskForm(StepForm):
    level = radios(
        "Overall level of risk",
        RISK_LEVELS,
        message="Select the overall level of risk",
        hint="Your judgement from everything above and from what you know of the referral",
    )
    plan = textarea(
        "Plan to keep the client safe (optional for no known or low risk)",
        hint="What was agreed: who the client will contact in a crisis, who else is told, "
        "and when risk is looked at again",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        order = []
        for name, label, hint in RISK_DOMAINS:
            self.fields[name] = radios(
                label,
                RiskAnswer.choices,
                hint=hint,
                message=f"Select an answer for {label.lower()}",
            )
            self.fields[f"{name}_detail"] = textarea(f"{label}: what was identified", rows=3)
            order += [name, f"{name}_detail"]
        self.order_fields([*order, "level", "plan"])

    def clean(self):
        data = super().clean()
        present = []
        for name, label, _ in RISK_DOMAINS:
            answer, detail = data.get(name), data.get(f"{name}_detail")
            if answer == RiskAnswer.PRESENT:
                present.append(label.lower())
                if not detail:
                    self.add_error(
                        f"{name}_detail", f"Describe the {label.lower()} that was identified"
                    )
            elif answer in (RiskAnswer.NOT_ASKED,) and detail:
                self.add_error(
                    name,
                    f"You selected 'Not asked yet' for {label.lower()} but wrote about it. "
                    "Select another answer or clear the text",
                )
        level = data.get("level")
        if present and level == Referral.Risk.NONE_KNOWN:
            self.add_error(
                "level",
                f"You recorded {' and '.join(present)}, so the level cannot be 'None known'. "
                "Select low, medium or high",
            )
        if level in (Referral.Risk.MEDIUM, Referral.Risk.HIGH) and not data.get("plan"):
            self.add_error("plan", "Enter the plan to keep the client safe for medium or high risk")
        return data


class MeasuresChoiceForm(StepForm):
    """How each questionnaire was done: with the assessor now, online already, declined, or
    not yet."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        online = self.context.get("online", {})
        for code, measure in measures.MEASURES.items():
            choices = []
            previous = online.get(code)
            if previous is not None:
                total = (
                    f"total {float(previous.total):g}, {previous.band}"
                    if previous.total is not None
                    else "not scored"
                )
                when = timezone.localtime(previous.completed_at).strftime("%-d %B %Y")
                choices.append(
                    (
                        AssessmentMeasure.Source.ONLINE,
                        f"Use the answers the client gave online on {when} ({total})",
                    )
                )
            choices += [
                (AssessmentMeasure.Source.ENTERED, "Completed now, with the client"),
                (AssessmentMeasure.Source.DECLINED, "The client chose not to complete it"),
                (AssessmentMeasure.Source.NOT_DONE, "Not done yet"),
            ]
            self.fields[code] = radios(
                f"{measure.name}: {measure.title}",
                choices,
                message=f"Select how the {measure.name} was completed, or that it was not",
            )


class MeasureEntryForm(StepForm):
    """Every item of one questionnaire, as the client answered it."""

    measure_code = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.measure = measures.get_measure(self.measure_code)
        for number, wording in enumerate(self.measure.items, start=1):
            choices = [(str(i), label) for i, label in enumerate(self.measure.options)]
            if number in self.measure.not_applicable_items:
                choices.append((measures.NOT_APPLICABLE, "Not applicable"))
            choices += [
                (measures.PREFER_NOT_TO_SAY, "Prefer not to say"),
                (MISSING, "Not answered"),
            ]
            self.fields[f"item_{number}"] = radios(
                f"{number}. {wording}",
                choices,
                message=f"Question {number}: select the client's answer, 'Prefer not to say' "
                "or 'Not answered'",
            )

    def answers(self) -> list:
        return answers_from(self.measure, self.cleaned_data)


def answers_from(measure, cleaned: dict, prefix: str = "") -> list:
    values = []
    for number in range(1, measure.item_count + 1):
        raw = cleaned.get(f"{prefix}item_{number}")
        if raw in (None, "", MISSING):
            values.append(None)
        elif raw in (measures.PREFER_NOT_TO_SAY, measures.NOT_APPLICABLE):
            values.append(raw)
        else:
            values.append(int(raw))
    return values


def _entry_form(code: str) -> type[MeasureEntryForm]:
    return type(f"{code.title()}EntryForm", (MeasureEntryForm,), {"measure_code": code})


Phq9EntryForm = _entry_form(measures.PHQ9)
Gad7EntryForm = _entry_form(measures.GAD7)
Core10EntryForm = _entry_form(measures.CORE10)
WsasEntryForm = _entry_form(measures.WSAS)


class FormulationForm(SectionForm):
    topic = "the formulation"
    content_fields = ("text", "client_view_words")
    radio_fields = ("approach_explained", "client_view")
    text = textarea(
        "How psychodynamic ideas may make sense of the difficulties",
        hint="For example, how early relationships, repeating patterns or feelings that are "
        "hard to notice might be part of what the client is going through",
        rows=8,
    )
    approach_explained = radios(
        "Was the psychodynamic approach explained to the client?", YES_NO, required=False
    )
    client_view = radios(
        "How did the client see it?", Assessment.ClientView.choices, required=False
    )
    client_view_words = textarea("The client's view, in their words (optional)", rows=3)

    def clean(self):
        data = super().clean()
        if data.get("status") == SectionStatus.ANSWERED:
            if not data.get("approach_explained"):
                self.add_error(
                    "approach_explained", "Select whether the approach was explained to the client"
                )
            elif data["approach_explained"] == "yes" and not data.get("client_view"):
                self.add_error("client_view", "Select how the client saw the approach")
        return data


class RecommendationForm(StepForm):
    choice = radios(
        "Recommendation",
        Assessment.Recommendation.choices,
        message="Select a recommendation",
    )
    modality = forms.ChoiceField(
        label="Which kind of therapy (for another kind of therapy)",
        choices=[("", "Choose a therapy"), *OTHER_MODALITIES],
        required=False,
    )
    offered_here = radios(
        "Is it offered by this service? (for another kind of therapy)", YES_NO, required=False
    )
    sessions_per_week = radios(
        "Sessions a week recommended (for therapy offered here)", FREQUENCIES, required=False
    )
    signpost_to = line(
        "Where the client is being signposted or referred (optional)",
        limit=300,
        hint="The service's name, and how the client can contact it",
    )
    reason = textarea("Reason for this recommendation", rows=5)

    def clean(self):
        data = super().clean()
        choice = data.get("choice")
        if not data.get("reason"):
            self.add_error("reason", "Enter the reason for this recommendation")
        weekly = data.get("sessions_per_week")
        if choice == Assessment.Recommendation.PSYCHODYNAMIC:
            data["modality"], data["offered_here"] = "psychodynamic", "yes"
            if not weekly:
                self.add_error(
                    "sessions_per_week", "Select how many sessions a week are recommended"
                )
        elif choice == Assessment.Recommendation.OTHER_MODALITY:
            if not data.get("modality"):
                self.add_error("modality", "Select which kind of therapy is recommended")
            if not data.get("offered_here"):
                self.add_error("offered_here", "Select whether this service offers it")
            elif data["offered_here"] == "yes" and not weekly:
                self.add_error(
                    "sessions_per_week", "Select how many sessions a week are recommended"
                )
            elif data["offered_here"] == "no":
                data["sessions_per_week"] = ""
                if not data.get("signpost_to"):
                    self.add_error(
                        "signpost_to", "Enter where the client is being referred for this therapy"
                    )
        elif choice == Assessment.Recommendation.SIGNPOST:
            data["modality"], data["offered_here"], data["sessions_per_week"] = "", "", ""
            if not data.get("signpost_to"):
                self.add_error("signpost_to", "Enter the service the client is being signposted to")
        elif choice == Assessment.Recommendation.DISCHARGE:
            data["modality"], data["offered_here"], data["sessions_per_week"] = "", "", ""
        return data


class LettersForm(StepForm):
    gp_summary = textarea(
        "What the client agreed we tell their GP (optional)",
        hint="Only what the client agreed to share. The letter already says they were "
        "assessed and what happens next.",
        rows=5,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.context.get("gp_ok"):
            del self.fields["gp_summary"]


class CheckForm(StepForm):
    """Check the answers; the button finishes and locks the assessment."""


class AddendumForm(forms.Form):
    section = forms.ChoiceField(
        label="Which part does this add to or correct?",
        choices=[],
        error_messages={"required": "Select which part of the assessment this is about"},
    )
    text = forms.CharField(
        label="Addendum",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Say what is added or corrected, and why. It is kept with your name and "
        "the time, and cannot be changed later.",
        error_messages={
            "required": "Enter the addendum",
            "max_length": f"The addendum must be {TEXT_LIMIT} characters or fewer",
        },
    )

    def __init__(self, *args, sections=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].choices = [("", "Choose a part"), *sections]
        self.fields["section"].widget = forms.Select()

    def clean_text(self):
        value = self.cleaned_data["text"].strip()
        if not value:
            raise ValidationError("Enter the addendum")
        return value
