"""What therapy is built on: the therapist link, agreed goals and their ratings, the
versioned session plan, sessions, progress flags and the non-attendance policy's steps.

Clinical text is kept exactly as the member of staff wrote it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

import measures
from assessment.models import Mode
from common.models import BaseModel, Service, Site


class Therapy(BaseModel):
    """Which therapist sees a client, from when. Independent of allocation's own records so
    that access ("a therapist sees only their clients") rests on one small table.

    Allocation plans it (`therapy_plan`): the therapist and the first appointment, while the
    referral is still allocated, and `started_on` is the planned first date. The first
    attended session puts the referral in therapy and sets `started_on` to its date."""

    class EndReason(models.TextChoices):
        COMPLETED = "completed", "Planned ending"
        NON_ATTENDANCE = "non_attendance", "Discharged after missed sessions"
        HANDED_OVER = "handed_over", "Handed over to another therapist"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.PROTECT, related_name="therapies"
    )
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="therapies"
    )
    started_on = models.DateField()
    # The first appointment agreed at allocation; empty when therapy was recorded by hand.
    first_appointment_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)

    class Meta:
        ordering = ["started_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral"],
                condition=models.Q(ended_on__isnull=True),
                name="one_current_therapy_per_referral",
            )
        ]
        indexes = [
            # The caseload and therapy pages: who is in therapy now, longest first, a page
            # at a time (ended therapies, most of the table, are not in it).
            models.Index(
                fields=["service", "started_on", "id"],
                condition=models.Q(ended_on__isnull=True),
                name="therapy_current_by_start",
            )
        ]

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


class Goal(BaseModel):
    """A goal agreed with the client, in their own words (goal-based outcomes)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Working on it"
        CLOSED = "closed", "No longer working on it"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey("intake.Referral", on_delete=models.PROTECT, related_name="goals")
    description = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    agreed_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_on = models.DateField(null=True, blank=True)
    close_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["agreed_on", "id"]
        indexes = [
            # The API's list (api/): the service's rows, newest first, a page at a time.
            models.Index(fields=["service", "created_at"], name="goal_service_created"),
        ]

    def short_description(self, limit: int = 60) -> str:
        """The goal for a message: whole if short, else cut at a word with an ellipsis."""
        text = " ".join(self.description.split())
        if len(text) <= limit:
            return text
        cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
        return cut.rstrip(" ,;:.-") + "…"


class GoalRating(BaseModel):
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="ratings")
    score = models.PositiveSmallIntegerField()
    rated_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["rated_on", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__lte=10), name="goal_rating_0_to_10")
        ]


class SessionPlan(BaseModel):
    """One version of the plan for therapy. Versions are never edited: a change is a new row
    with who, when and why, and the current plan is the highest version."""

    class Length(models.TextChoices):
        FIXED = "fixed", "A fixed number of sessions"
        OPEN_ENDED = "open_ended", "Open-ended, with reviews"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.PROTECT, related_name="session_plans"
    )
    version = models.PositiveIntegerField()
    length = models.CharField(max_length=16, choices=Length.choices)
    session_count = models.PositiveSmallIntegerField(null=True, blank=True)
    sessions_per_week = models.PositiveSmallIntegerField()
    # [{"weekday": 0-6, "time": "HH:MM"}], one per session a week.
    regular_times = models.JSONField(default=list)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True)
    room = models.CharField(max_length=100, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    review_dates = models.JSONField(default=list, blank=True)  # ISO dates, ascending
    # [{"id", "starts_on", "ends_on", "kind", "note"}]
    breaks = models.JSONField(default=list, blank=True)
    ending_plan = models.TextField(blank=True)
    couch_discussed = models.CharField(max_length=8, blank=True)
    measures_every_sessions = models.PositiveSmallIntegerField(default=4)
    repeat_measures = models.JSONField(default=list)
    change_reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["version"]
        indexes = [
            # The API's list (api/): the service's rows, newest first, a page at a time.
            models.Index(fields=["service", "created_at"], name="plan_service_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["referral", "version"], name="plan_version_unique"),
            models.CheckConstraint(
                condition=models.Q(sessions_per_week__gte=1, sessions_per_week__lte=5),
                name="plan_sessions_per_week_1_to_5",
            ),
            models.CheckConstraint(
                condition=models.Q(length="open_ended") | models.Q(session_count__isnull=False),
                name="fixed_plan_has_session_count",
            ),
        ]


class TherapySession(BaseModel):
    class Attendance(models.TextChoices):
        ATTENDED = "attended", "Attended"
        DID_NOT_ATTEND = "did_not_attend", "Did not attend"
        CANCELLED_BY_CLIENT = "cancelled_by_client", "Cancelled by the client"
        CANCELLED_BY_SERVICE = "cancelled_by_service", "Cancelled by the service"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.PROTECT, related_name="therapy_sessions"
    )
    therapy = models.ForeignKey(Therapy, on_delete=models.PROTECT, related_name="sessions")
    occurred_on = models.DateField()
    attendance = models.CharField(max_length=24, choices=Attendance.choices)
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The questionnaires repeated at this session (the answers are the referral's record).
    measure_responses = models.ManyToManyField(
        "intake.MeasureResponse", through="SessionResponse", related_name="+", blank=True
    )

    class Meta:
        ordering = ["occurred_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "occurred_on"], name="one_session_record_per_day"
            )
        ]
        indexes = [
            # The service report's reads of a range of sessions (docs/reporting.md): covering,
            # so the count by month and attendance reads the index alone.
            models.Index(
                fields=["service", "occurred_on"],
                include=["attendance", "referral"],
                name="session_service_date_idx",
            ),
            # The service report's per-referral reads of attended sessions (reporting/sql.py):
            # whether one came before the range, whether there were two; index-only.
            models.Index(
                fields=["referral", "occurred_on"],
                include=["service"],
                condition=models.Q(attendance="attended"),
                name="session_attended_idx",
            ),
            # The API's list (api/): the service's rows, newest first, a page at a time.
            models.Index(fields=["service", "created_at"], name="session_service_created"),
        ]


class SessionResponse(models.Model):
    """A questionnaire repeated at a therapy session: intake keeps the answers, therapy the
    link. A response belongs to one session at most."""

    session = models.ForeignKey(TherapySession, on_delete=models.PROTECT, related_name="+")
    response = models.OneToOneField(
        "intake.MeasureResponse", on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"questionnaire {self.response_id} at session {self.session_id}"


class ProgressFlag(BaseModel):
    """Repeated measures say therapy may not be helping: the therapist and coordinator see it
    until the therapist records what they and the client made of it."""

    class Reason(models.TextChoices):
        NO_IMPROVEMENT_AT_REVIEW = (
            "no_improvement_at_review",
            "No reliable improvement at a review point",
        )
        RELIABLE_DETERIORATION = "reliable_deterioration", "Reliable deterioration"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.PROTECT, related_name="progress_flags"
    )
    reason = models.CharField(max_length=32, choices=Reason.choices)
    review_date = models.DateField(null=True, blank=True)
    detail = models.CharField(max_length=300)
    raised_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "review_date"],
                condition=models.Q(reason="no_improvement_at_review"),
                name="one_review_flag_per_review_point",
            ),
            models.CheckConstraint(
                condition=models.Q(reviewed_at__isnull=True)
                | (models.Q(reviewed_by__isnull=False) & ~models.Q(review_note="")),
                name="progress_flag_review_names_who_and_what",
            ),
        ]

    @property
    def is_open(self) -> bool:
        return self.reviewed_at is None


class NonAttendanceStep(BaseModel):
    """A step of the non-attendance policy taken after missed sessions."""

    class Step(models.TextChoices):
        LETTER = "letter", "Letter asking the client to get in touch"
        DISCHARGE = "discharge", "Discharged after missed sessions"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.PROTECT, related_name="non_attendance_steps"
    )
    therapy = models.ForeignKey(Therapy, on_delete=models.PROTECT, related_name="+")
    step = models.CharField(max_length=16, choices=Step.choices)
    missed_in_a_row = models.PositiveSmallIntegerField()
    letter_queued = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]


class QuestionnaireRequest(BaseModel):
    """Someone who may see the client's progress page asked the client to complete a
    questionnaire in the client portal. Open until the client completes it there; the
    answers are the referral's record (intake.MeasureResponse), this row the asking."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.PROTECT, related_name="questionnaire_requests"
    )
    measure = models.CharField(max_length=16)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    asked_at = models.DateTimeField()
    response = models.OneToOneField(
        "intake.MeasureResponse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "measure"],
                condition=models.Q(completed_at__isnull=True),
                name="one_open_questionnaire_request_per_measure",
            ),
            models.CheckConstraint(
                condition=models.Q(completed_at__isnull=True, response__isnull=True)
                | models.Q(completed_at__isnull=False, response__isnull=False),
                name="questionnaire_request_completed_with_its_answers",
            ),
        ]

    @property
    def is_open(self) -> bool:
        return self.completed_at is None

    @property
    def measure_name(self) -> str:
        known = measures.MEASURES.get(self.measure)
        return known.name if known else self.measure
