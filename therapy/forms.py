"""Forms for therapy pages. Shared building blocks (dates, text boxes, radios, the form
that knows the user's service) come from assessment.forms."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError

import measures
from assessment.forms import (
    FREQUENCIES,
    MISSING,
    WEEKDAY_NAMES,
    WEEKDAYS,
    ServiceForm,
    answers_from,
    date_field,
    line,
    parse_time,
    radios,
    textarea,
)
from assessment.models import Mode
from therapy.models import SessionPlan, TherapySession

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
            and not any(f"goal_{goal.public_id}" in self.errors for goal in self.goals)
            and not any(data.get(f"goal_{goal.public_id}") is not None for goal in self.goals)
        ):
            raise ValidationError("Enter a rating for at least one goal")
        rated_on = data.get("rated_on")
        for number, goal in enumerate(self.goals, start=1):
            field = f"goal_{goal.public_id}"
            if rated_on and data.get(field) is not None and rated_on < goal.agreed_on:
                self.add_error(
                    field,
                    f"Goal {number}, '{goal.short_description()}', was agreed on "
                    f"{goal.agreed_on:%-d %B %Y}: it cannot be rated before then",
                )
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
    """One a planned break on the plan page: each field's id names its break, so the
    page's labels and error links stay apart; the field's name stays `reason`."""

    reason = forms.CharField(
        label="Why is this break no longer planned?",
        max_length=300,
        error_messages={
            "required": "Say why the break is being removed",
            "max_length": "The reason must be 300 characters or fewer (you have %(show_value)d)",
        },
    )

    def __init__(self, *args, break_id: str = "", **kwargs):
        kwargs.setdefault("auto_id", f"remove-{break_id}-%s" if break_id else "id_%s")
        super().__init__(*args, **kwargs)


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
        statuses = [f"{code}_status" for code in self.codes]
        if not any(name in self.errors for name in statuses) and all(
            data.get(name) == "not_done" for name in statuses
        ):
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
        error_messages={
            "required": "Enter what you and the client made of it",
            "max_length": "The note must be 2000 characters or fewer (you have %(show_value)d)",
        },
    )


class NonAttendanceForm(forms.Form):
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, attempts to reach the client by phone",
        error_messages={
            "max_length": "The note must be 1000 characters or fewer (you have %(show_value)d)"
        },
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


class QuestionnaireRequestForm(forms.Form):
    """Ask the client to complete one questionnaire in the client portal."""

    measure = radios(
        "Which questionnaire should the client complete online?",
        [(code, f"{m.name}: {m.title}") for code, m in measures.MEASURES.items()],
        message="Select the questionnaire to ask the client to complete",
        hint="The client sees it when they sign in to the client portal, with the others due.",
    )
