"""Staff forms for assessment and therapy. Every message names the field and says how to put
it right; nothing typed is lost when a page comes back with errors."""

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
    SessionPlan,
    TherapySession,
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
BREAK_KINDS = [
    ("therapist_leave", "Therapist's leave"),
    ("service_closure", "Service closure or public holidays"),
    ("client_holiday", "Client's holiday"),
    ("other", "Something else"),
]
BREAK_KIND_NAMES = dict(BREAK_KINDS)
# Breaks the service decides: the client gets a written notice of these.
NOTIFIED_BREAKS = {"therapist_leave", "service_closure", "other"}
MEASURE_CHOICES = [(code, measures.MEASURES[code].name) for code in measures.MEASURES]
MAX_ROWS = 5


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
        if day and start:
            starts_at = timezone.make_aware(datetime.combine(day, start))
            if day < self.today or starts_at <= timezone.now():
                self.add_error("day", "The assessment must be in the future: check the date")
            elif day > self.today + timedelta(days=366):
                self.add_error("day", "The date must be within the next 12 months")
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
        if status == SectionStatus.ANSWERED and not filled and not self.errors:
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


# --- Therapy ----------------------------------------------------------------------------------


class TherapyStartForm(forms.Form):
    therapist = forms.ChoiceField(
        label="Therapist",
        choices=[],
        error_messages={"required": "Select the therapist who will see the client"},
    )
    started_on = date_field("First session date", "First session date")

    def __init__(self, *args, therapists=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.therapists = list(therapists)
        self.fields["therapist"].choices = [("", "Choose a therapist")] + [
            (str(user.public_id), user.get_full_name() or user.username) for user in therapists
        ]
        self.fields["therapist"].widget = forms.Select()

    def therapist_chosen(self):
        chosen = self.cleaned_data.get("therapist")
        return next((u for u in self.therapists if str(u.public_id) == chosen), None)


class GoalAddForm(ServiceForm):
    description = forms.CharField(
        label="The goal, in the client's words",
        max_length=300,
        help_text="For example, 'To be able to say no to people without feeling guilty'",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Enter the goal in the client's words",
            "max_length": "The goal must be 300 characters or fewer",
        },
    )
    score = forms.IntegerField(
        label="Where the client feels they are now, from 0 to 10",
        help_text="0 means not at all towards the goal, 10 means the goal is reached",
        min_value=0,
        max_value=10,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "nhsuk-input--width-2"}),
        error_messages={
            "required": "Enter the client's rating from 0 to 10",
            "invalid": "The rating must be a whole number from 0 to 10",
            "min_value": "The rating must be 0 or more",
            "max_value": "The rating must be 10 or less",
        },
    )
    rated_on = date_field("Date agreed", "Date agreed")

    def clean_rated_on(self):
        value = self.cleaned_data.get("rated_on")
        if value and value > self.today:
            raise ValidationError("The date agreed cannot be in the future")
        return value


class GoalRatingForm(ServiceForm):
    rated_on = date_field("Date of these ratings", "Date of the ratings")

    def __init__(self, *args, goals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.goals = list(goals)
        for number, goal in enumerate(self.goals, start=1):
            self.fields[f"goal_{goal.public_id}"] = forms.IntegerField(
                label=f"Goal {number}: {goal.description}",
                required=False,
                min_value=0,
                max_value=10,
                help_text="From 0 to 10. Leave empty if it was not rated this time.",
                widget=forms.TextInput(
                    attrs={"inputmode": "numeric", "class": "nhsuk-input--width-2"}
                ),
                error_messages={
                    "invalid": f"Goal {number}: the rating must be a whole number from 0 to 10",
                    "min_value": f"Goal {number}: the rating must be 0 or more",
                    "max_value": f"Goal {number}: the rating must be 10 or less",
                },
            )

    def clean_rated_on(self):
        value = self.cleaned_data.get("rated_on")
        if value and value > self.today:
            raise ValidationError("The date of the ratings cannot be in the future")
        return value

    def clean(self):
        data = super().clean()
        if (
            self.goals
            and not self.errors
            and not any(data.get(f"goal_{goal.public_id}") is not None for goal in self.goals)
        ):
            raise ValidationError("Enter a rating for at least one goal")
        return data

    def ratings(self) -> dict:
        return {
            goal: self.cleaned_data[f"goal_{goal.public_id}"]
            for goal in self.goals
            if self.cleaned_data.get(f"goal_{goal.public_id}") is not None
        }


class GoalCloseForm(forms.Form):
    reason = forms.CharField(
        label="Why the client and you stopped working on this goal",
        max_length=300,
        error_messages={
            "required": "Enter why this goal is no longer being worked on",
            "max_length": "The reason must be 300 characters or fewer",
        },
    )


class SessionPlanForm(ServiceForm):
    length = radios(
        "How long will therapy be?",
        SessionPlan.Length.choices,
        message="Select a fixed number of sessions or open-ended",
    )
    session_count = forms.IntegerField(
        label="Number of sessions (for a fixed number)",
        required=False,
        min_value=1,
        max_value=300,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "nhsuk-input--width-3"}),
        error_messages={
            "invalid": "The number of sessions must be a whole number, like 16",
            "min_value": "The number of sessions must be at least 1",
            "max_value": "The number of sessions must be 300 or fewer",
        },
    )
    sessions_per_week = radios("How often?", FREQUENCIES, message="Select how many sessions a week")
    mode = radios(
        "Where will sessions take place?",
        Mode.choices,
        message="Select in person, video call or telephone",
    )
    site = forms.ChoiceField(label="Site (for in person)", required=False)
    room = line("Room (optional)", limit=100, width="20")
    starts_on = date_field("Start date", "Start date")
    ends_on = date_field(
        "Planned ending date (needed for a fixed number of sessions)",
        "Planned ending date",
        required=False,
    )
    ending_plan = textarea(
        "Ending plan (optional)",
        hint="How the client will look after themselves if difficulties come back: early "
        "signs, who they can turn to, and how to get help again",
    )
    couch_discussed = radios(
        "For more than one session a week: was use of the couch discussed?",
        [("yes", "Yes, it was discussed"), ("no", "No, not yet")],
        required=False,
    )
    measures_every_sessions = forms.IntegerField(
        label="Repeat questionnaires every how many attended sessions?",
        min_value=1,
        max_value=12,
        initial=4,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "nhsuk-input--width-2"}),
        error_messages={
            "required": "Enter how often questionnaires are repeated, from 1 to 12 sessions",
            "invalid": "Enter a whole number of sessions from 1 to 12",
            "min_value": "Questionnaires can be repeated every session at most often",
            "max_value": "Repeat questionnaires at least every 12 sessions",
        },
    )
    repeat_measures = forms.MultipleChoiceField(
        label="Questionnaires to repeat",
        choices=MEASURE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="PHQ-9 and GAD-7 together show reliable improvement or deterioration",
        error_messages={"required": "Select at least one questionnaire to repeat"},
    )
    reason = line(
        "Why is the plan being made or changed?",
        limit=500,
        hint="For example, 'First plan agreed with the client' or 'Moved to Thursdays at the "
        "client's request'",
    )

    def __init__(self, *args, first_version: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_version = first_version
        fields = list(self.fields)
        for row in range(1, MAX_ROWS + 1):
            self.fields[f"day_{row}"] = forms.ChoiceField(
                label=f"Session {row} of the week: day",
                choices=[("", "Choose a day"), *WEEKDAYS],
                required=False,
            )
            self.fields[f"time_{row}"] = line(
                f"Session {row} of the week: time", limit=10, width="5"
            )
        for row in range(1, 4):
            self.fields[f"review_{row}"] = date_field(
                f"Review date {row} (optional)", f"Review date {row}", required=False
            )
        at = fields.index("mode")
        order = fields[:at]
        order += [f"{kind}_{row}" for row in range(1, MAX_ROWS + 1) for kind in ("day", "time")]
        order += fields[at : fields.index("ending_plan")]
        order += [f"review_{row}" for row in range(1, 4)]
        order += fields[fields.index("ending_plan") :]
        self.order_fields(order)

    def clean(self):
        data = super().clean()
        length = data.get("length")
        if (
            length == SessionPlan.Length.FIXED
            and not data.get("session_count")
            and "session_count" not in self.errors
        ):
            self.add_error("session_count", "Enter the number of sessions")
        if length == SessionPlan.Length.OPEN_ENDED:
            data["session_count"] = None
        per_week = int(data.get("sessions_per_week") or 0)
        times, days_seen = [], {}
        for row in range(1, MAX_ROWS + 1):
            day, raw_time = data.get(f"day_{row}"), (data.get(f"time_{row}") or "").strip()
            if row > per_week:
                if per_week and (day or raw_time):
                    self.add_error(
                        f"day_{row}",
                        f"You chose {per_week} session{'s' if per_week > 1 else ''} a week "
                        f"but filled in session {row}: clear it or change how often",
                    )
                continue
            if not day:
                self.add_error(f"day_{row}", f"Session {row}: select a day")
            elif day in days_seen:
                self.add_error(
                    f"day_{row}",
                    f"Sessions {days_seen[day]} and {row} are both on "
                    f"{WEEKDAY_NAMES[day]}: choose different days",
                )
            else:
                days_seen[day] = row
            if not raw_time:
                self.add_error(f"time_{row}", f"Session {row}: enter a time, like 10:30")
                continue
            try:
                at = parse_time(raw_time, what=f"the time of session {row}")
            except ValidationError as error:
                self.add_error(f"time_{row}", error)
                continue
            if day:
                times.append({"weekday": int(day), "time": at.strftime("%H:%M")})
        data["regular_times"] = sorted(times, key=lambda t: (t["weekday"], t["time"]))
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and days_seen and str(starts.weekday()) not in days_seen:
            regular = " and ".join(WEEKDAY_NAMES[d] for d in sorted(days_seen))
            self.add_error(
                "starts_on",
                f"The start date is a {starts:%A}, but the regular sessions are on {regular}: "
                "choose a start date on one of those days",
            )
        if length == SessionPlan.Length.FIXED and not ends and "ends_on" not in self.errors:
            self.add_error(
                "ends_on", "Enter the planned ending date for a fixed number of sessions"
            )
        if starts and ends:
            if ends <= starts:
                self.add_error("ends_on", "The planned ending date must be after the start date")
            elif length == SessionPlan.Length.FIXED and data.get("session_count") and per_week:
                weeks = -(-data["session_count"] // per_week)
                earliest = starts + timedelta(weeks=weeks - 1)
                if ends < earliest:
                    self.add_error(
                        "ends_on",
                        f"{data['session_count']} sessions at {per_week} a week need until at "
                        f"least {earliest:%-d %B %Y}: choose a later ending date or fewer "
                        "sessions",
                    )
        reviews = []
        for row in range(1, 4):
            review = data.get(f"review_{row}")
            if not review:
                continue
            if starts and review <= starts:
                self.add_error(f"review_{row}", f"Review date {row} must be after the start date")
            elif ends and review > ends:
                self.add_error(
                    f"review_{row}", f"Review date {row} must be on or before the planned ending"
                )
            else:
                reviews.append(review)
        if length == SessionPlan.Length.OPEN_ENDED and not reviews and not self.errors:
            self.add_error("review_1", "Enter at least one review date for open-ended therapy")
        data["review_dates"] = sorted(set(reviews))
        if per_week > 1 and not data.get("couch_discussed"):
            self.add_error(
                "couch_discussed",
                "Select whether use of the couch was discussed: it is needed for more than "
                "one session a week",
            )
        if per_week == 1:
            data["couch_discussed"] = ""
        mode = data.get("mode")
        if mode == Mode.IN_PERSON and "site" in self.fields and not data.get("site"):
            self.add_error("site", "Select the site for in-person sessions")
        if mode in (Mode.VIDEO, Mode.PHONE):
            data["site"], data["room"] = "", ""
        if not self.first_version and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the plan is changing")
        return data


class BreakForm(ServiceForm):
    starts_on = date_field("First day of the break", "First day of the break")
    ends_on = date_field("Last day of the break", "Last day of the break")
    kind = radios("What is the break for?", BREAK_KINDS, message="Select what the break is for")
    note = line("Note (optional)", limit=200)

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and starts < self.today:
            self.add_error(
                "starts_on",
                "A planned break must start today or later. To record a missed week, record "
                "the sessions as cancelled by the service",
            )
        if starts and ends and ends < starts:
            self.add_error("ends_on", "The last day of the break must be on or after the first")
        return data


class BreakRemoveForm(forms.Form):
    reason = forms.CharField(
        label="Why is this break no longer planned?",
        max_length=300,
        error_messages={"required": "Say why the break is being removed"},
    )


class SessionRecordForm(ServiceForm):
    occurred_on = date_field("Date of the session", "Date of the session")
    attendance = radios(
        "Attendance",
        TherapySession.Attendance.choices,
        message="Select whether the client attended",
    )
    note = line(
        "Note (optional)",
        limit=500,
        hint="Practical details only, for example why a session was cancelled. Clinical "
        "notes belong in the clinical record.",
    )

    def clean_occurred_on(self):
        value = self.cleaned_data.get("occurred_on")
        if value and value > self.today:
            raise ValidationError("The session date cannot be in the future")
        return value


class ReviewMeasuresForm(forms.Form):
    """The questionnaires the plan repeats, on one page: each completed, declined or not done."""

    def __init__(self, *args, codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.codes = list(codes)
        for code in self.codes:
            measure = measures.get_measure(code)
            self.fields[f"{code}_status"] = radios(
                f"{measure.name}: {measure.title}",
                [
                    ("completed", "Completed"),
                    ("declined", "The client chose not to complete it"),
                    ("not_done", "Not done this time"),
                ],
                message=f"Select whether the {measure.name} was completed",
            )
            for number, wording in enumerate(measure.items, start=1):
                choices = [(str(i), label) for i, label in enumerate(measure.options)]
                if number in measure.not_applicable_items:
                    choices.append((measures.NOT_APPLICABLE, "Not applicable"))
                choices += [
                    (measures.PREFER_NOT_TO_SAY, "Prefer not to say"),
                    (MISSING, "Not answered"),
                ]
                self.fields[f"{code}_item_{number}"] = radios(
                    f"{measure.name} {number}. {wording}", choices, required=False
                )

    def clean(self):
        data = super().clean()
        for code in self.codes:
            measure = measures.get_measure(code)
            if data.get(f"{code}_status") != "completed":
                continue
            for number in range(1, measure.item_count + 1):
                if not data.get(f"{code}_item_{number}"):
                    self.add_error(
                        f"{code}_item_{number}",
                        f"{measure.name} question {number}: select the client's answer, "
                        "'Prefer not to say' or 'Not answered'",
                    )
        if not self.errors and all(data.get(f"{code}_status") == "not_done" for code in self.codes):
            raise ValidationError(
                "Nothing to save: select 'Completed' or 'chose not to complete' for at "
                "least one questionnaire, or go back without saving"
            )
        return data

    def groups(self) -> list[dict]:
        """Bound fields per questionnaire, for the page to show each as its own part."""
        out = []
        for code in self.codes:
            measure = measures.get_measure(code)
            out.append(
                {
                    "measure": measure,
                    "status": self[f"{code}_status"],
                    "items": [self[f"{code}_item_{n}"] for n in range(1, measure.item_count + 1)],
                }
            )
        return out

    def results(self) -> dict[str, list | str]:
        """{code: answers} for completed ones, {code: "declined"} for declined ones."""
        out: dict[str, list | str] = {}
        for code in self.codes:
            status = self.cleaned_data.get(f"{code}_status")
            if status == "completed":
                out[code] = answers_from(measures.get_measure(code), self.cleaned_data, f"{code}_")
            elif status == "declined":
                out[code] = "declined"
        return out


class ProgressFlagReviewForm(forms.Form):
    note = forms.CharField(
        label="What you and the client made of it",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, what you think is getting in the way and what you agreed",
        error_messages={"required": "Enter what you and the client made of it"},
    )


class NonAttendanceForm(forms.Form):
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, attempts to reach the client by phone",
    )


class TherapyEndForm(ServiceForm):
    last_session_on = date_field("Date of the last session", "Date of the last session")
    summary = textarea(
        "What the client and you worked on (for the client's letter, optional)",
        hint="Written to the client, in plain words",
    )
    plan = textarea(
        "If things become difficult again (for the client's letter)",
        hint="The ending plan you agreed: early signs, who to turn to, how to get help again",
    )
    gp_summary = textarea("What the client agreed we tell their GP (optional)", rows=3)

    def __init__(self, *args, gp_ok: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not gp_ok:
            del self.fields["gp_summary"]

    def clean(self):
        data = super().clean()
        if not data.get("plan"):
            self.add_error("plan", "Enter the plan for if things become difficult again")
        last = data.get("last_session_on")
        if last and last > self.today:
            self.add_error("last_session_on", "The last session cannot be in the future")
        return data
