"""Writes for therapy: the therapist link (planned at allocation, started by the first
attended session, or recorded by hand), the versioned session plan, sessions, repeated
measures, progress flags, the non-attendance policy and planned endings. Goals and their
ratings are written in therapy/goals.py.

Top-level services are atomic and keyword-only. Letters and alerts are queued through the
notifications outbox inside the same transaction, so they leave only if it commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

import measures
from assessment.models import Mode
from common import roles
from common.errors import ServiceError
from intake.clinical_record import measure_response_record, risk_alert_queue
from intake.models import MeasureResponse, Referral, RiskFlag
from intake.selectors import gp_share_ok, portal_reachable
from notifications import kinds
from notifications.outbox import notification_queue
from therapy import tracking
from therapy.models import (
    NonAttendanceStep,
    ProgressFlag,
    QuestionnaireRequest,
    SessionPlan,
    Therapy,
    TherapySession,
)
from therapy.selectors import (
    MISSED_BEFORE_POLICY,
    attended_since_measures,
    missed_in_a_row,
    non_attendance_state,
    progress_evaluations,
    questionnaires_due,
)

READY_FOR_THERAPY = (
    Referral.Status.AWAITING_ALLOCATION,
    Referral.Status.ALLOCATED,
    Referral.Status.IN_THERAPY,
)
MAX_ACTIVE_GOALS = 3
# A message kind queued only once the notifications app defines it (see docs/assessment.md).
NON_ATTENDANCE_LETTER_KIND = "non_attendance_letter"


class TherapyError(ServiceError):
    """A change to therapy that cannot be made now (common.errors.ServiceError)."""


def _referral_status_set(**kwargs) -> Referral:
    from intake.services import ReferralStatusError, referral_status_set

    try:
        return referral_status_set(**kwargs)
    except ReferralStatusError as error:
        raise TherapyError(str(error)) from None


def _same_service(user, referral: Referral) -> None:
    # Views reach a referral only through scoped selectors; this guards other callers.
    if user.service_id != referral.service_id:
        raise TherapyError("This referral belongs to another service.")


# --- Therapy --------------------------------------------------------------------------------


@transaction.atomic
def therapy_start(*, referral: Referral, therapist, started_on: date, user) -> Therapy:
    """Link the client to the therapist who will see them. Handing over to a new therapist
    ends the current link on the same day. Allocation may call this when a proposal is
    accepted; coordinators can also do it by hand."""
    _same_service(user, referral)
    if therapist.service_id != referral.service_id or not therapist.has_role(roles.THERAPIST):
        raise TherapyError("Select a therapist from this service.", field="therapist")
    if referral.status not in READY_FOR_THERAPY:
        raise TherapyError(
            f"This referral is '{referral.get_status_display()}': therapy can start only "
            "after an assessment recommends it."
        )
    current = Therapy.objects.select_for_update().filter(referral=referral, ended_on=None).first()
    if current is not None:
        if current.therapist_id == therapist.pk:
            raise TherapyError("This therapist already sees this client.", field="therapist")
        if started_on < current.started_on:
            raise TherapyError(
                f"The new therapist's first session must be on or after "
                f"{current.started_on:%-d %B %Y}, when the current therapy started.",
                field="started_on",
            )
        current.ended_on = started_on
        current.end_reason = Therapy.EndReason.HANDED_OVER
        current.save(update_fields=["ended_on", "end_reason", "updated_at"])
    therapy = Therapy.objects.create(
        service_id=referral.service_id,
        referral=referral,
        therapist=therapist,
        started_on=started_on,
        started_by=user,
    )
    _referral_status_set(
        referral=referral, status=Referral.Status.IN_THERAPY, from_statuses=READY_FOR_THERAPY
    )
    return therapy


@transaction.atomic
def therapy_plan(*, referral: Referral, therapist, first_appointment_at: datetime, user) -> Therapy:
    """Link an allocated client to their therapist before therapy starts: allocation calls
    this when a coordinator allocates (therapy never reads allocation). The referral stays
    allocated; the first attended session the therapist records puts it in therapy."""
    _same_service(user, referral)
    if (
        therapist.service_id != referral.service_id
        or not therapist.is_active
        or not therapist.has_role(roles.THERAPIST)
    ):
        raise TherapyError(
            f"{therapist.get_full_name() or therapist.username}'s sign-in is not an active "
            "therapist of this service.",
            field="therapist",
        )
    if referral.status not in READY_FOR_THERAPY:
        raise TherapyError(
            f"This referral is '{referral.get_status_display()}': therapy can start only "
            "after an assessment recommends it."
        )
    if Therapy.objects.select_for_update().filter(referral=referral, ended_on=None).exists():
        raise TherapyError("This client already has a therapist.", field="therapist")
    return Therapy.objects.create(
        service_id=referral.service_id,
        referral=referral,
        therapist=therapist,
        started_on=timezone.localtime(first_appointment_at).date(),
        first_appointment_at=first_appointment_at,
        started_by=user,
    )


def _current_therapy(referral: Referral, *, lock: bool = False) -> Therapy:
    therapies = Therapy.objects.filter(referral=referral, ended_on=None)
    if lock:
        therapies = therapies.select_for_update()
    therapy = therapies.first()
    if therapy is None:
        raise TherapyError("This client is not in therapy now.")
    return therapy


# --- Session plan ---------------------------------------------------------------------------

PLAN_FIELDS = (
    "length",
    "session_count",
    "sessions_per_week",
    "regular_times",
    "mode",
    "site",
    "room",
    "starts_on",
    "ends_on",
    "review_dates",
    "breaks",
    "ending_plan",
    "couch_discussed",
    "measures_every_sessions",
    "repeat_measures",
)


def _plan_values(plan: SessionPlan) -> dict:
    return {name: getattr(plan, name) for name in PLAN_FIELDS}


def _normalise(values: dict) -> dict:
    out = dict(values)
    out["review_dates"] = sorted(
        {d.isoformat() if isinstance(d, date) else str(d) for d in values.get("review_dates", [])}
    )
    out["repeat_measures"] = sorted(values.get("repeat_measures") or [])
    out["session_count"] = values.get("session_count") or None
    out["sessions_per_week"] = int(values["sessions_per_week"])
    out["measures_every_sessions"] = int(values.get("measures_every_sessions") or 4)
    out["breaks"] = sorted(values.get("breaks") or [], key=lambda b: b["starts_on"])
    return out


def _next_session_on(plan: SessionPlan, after: date) -> date | None:
    days = {t["weekday"] for t in plan.regular_times}
    for offset in range(1, 15):
        candidate = after + timedelta(days=offset)
        if candidate.weekday() in days:
            return candidate
    return None


def _break_notices(referral: Referral, plan: SessionPlan, previous: SessionPlan | None) -> None:
    from therapy.forms import NOTIFIED_BREAKS

    known = {b["id"] for b in (previous.breaks if previous else [])}
    for item in plan.breaks:
        if item["id"] in known or item["kind"] not in NOTIFIED_BREAKS:
            continue
        ends_on = date.fromisoformat(item["ends_on"])
        notification_queue(
            kind="therapist_break",
            referral=referral,
            occurrence=f"break-{item['id']}",
            context={
                "change": "break",
                "break_starts_on": item["starts_on"],
                "break_ends_on": item["ends_on"],
                "resumes_on": _next_session_on(plan, ends_on),
            },
        )


def _plan_version_create(*, referral: Referral, user, values: dict, reason: str) -> SessionPlan:
    Referral.objects.select_for_update().filter(pk=referral.pk).first()  # one writer at a time
    previous = SessionPlan.objects.filter(referral=referral).order_by("-version").first()
    values = _normalise(values)
    site = values.get("site")
    if site is not None and site.service_id != referral.service_id:
        raise TherapyError("Select one of this service's sites.", field="site")
    if previous is not None and _normalise(_plan_values(previous)) == values:
        raise TherapyError(
            "Nothing in the plan has changed, so no new version was made.", field="reason"
        )
    reason = (reason or "").strip() or ("First plan agreed" if previous is None else "")
    if not reason:
        raise TherapyError("Say why the plan is changing", field="reason")
    plan = SessionPlan.objects.create(
        service_id=referral.service_id,
        referral=referral,
        version=(previous.version + 1) if previous else 1,
        change_reason=reason[:500],
        created_by=user,
        **values,
    )
    _break_notices(referral, plan, previous)
    return plan


@transaction.atomic
def session_plan_save(*, referral: Referral, user, values: dict, reason: str) -> SessionPlan:
    """A new version of the plan (the first, or a change). Planned breaks carry over."""
    _same_service(user, referral)
    if referral.status not in READY_FOR_THERAPY:
        raise TherapyError(
            f"This referral is '{referral.get_status_display()}': a session plan is made once "
            "an assessment recommends therapy."
        )
    current = SessionPlan.objects.filter(referral=referral).order_by("-version").first()
    values = {
        name: values[name] if values.get(name) is not None else PLAN_DEFAULTS.get(name)
        for name in PLAN_FIELDS
        if name != "breaks"
    }
    _plan_check(values)
    values["breaks"] = list(current.breaks) if current else []
    return _plan_version_create(referral=referral, user=user, values=values, reason=reason)


PLAN_DEFAULTS = {
    "session_count": None,
    "site": None,
    "room": "",
    "ends_on": None,
    "review_dates": [],
    "ending_plan": "",
    "couch_discussed": "",
    "measures_every_sessions": 4,
    "repeat_measures": [measures.PHQ9, measures.GAD7],
}


def _plan_check(values: dict) -> None:
    """The plan's own rules, for callers that do not come through the form (allocation)."""
    if values.get("length") not in SessionPlan.Length.values:
        raise TherapyError("Select a fixed number of sessions or open-ended", field="length")
    if values["length"] == SessionPlan.Length.FIXED and not values.get("session_count"):
        raise TherapyError("Enter the number of sessions", field="session_count")
    per_week = values.get("sessions_per_week")
    if not isinstance(per_week, int) or not 1 <= per_week <= 5:
        raise TherapyError("Sessions a week must be from 1 to 5", field="sessions_per_week")
    times = values.get("regular_times") or []
    if len(times) != per_week or len({t["weekday"] for t in times}) != per_week:
        raise TherapyError(
            "Give a different day and a time for each session of the week", field="day_1"
        )
    if values.get("mode") not in Mode.values:
        raise TherapyError("Select in person, video call or telephone", field="mode")
    if not values.get("starts_on"):
        raise TherapyError("Enter the start date", field="starts_on")
    if values.get("ends_on") and values["ends_on"] <= values["starts_on"]:
        raise TherapyError("The planned ending date must be after the start date", field="ends_on")
    unknown = set(values.get("repeat_measures") or []) - set(measures.MEASURES)
    if unknown or not values.get("repeat_measures"):
        raise TherapyError("Select at least one questionnaire to repeat", field="repeat_measures")


def _plan_current_or_error(referral: Referral) -> SessionPlan:
    plan = SessionPlan.objects.filter(referral=referral).order_by("-version").first()
    if plan is None:
        raise TherapyError("Agree a session plan before adding breaks.")
    return plan


@transaction.atomic
def session_plan_break_add(
    *, referral: Referral, user, starts_on: date, ends_on: date, kind: str, note: str = ""
) -> SessionPlan:
    """A planned break is a new plan version; the client is sent notice of a break the
    service decides (leave, closures), not of their own holiday."""
    from therapy.forms import BREAK_KIND_NAMES

    _same_service(user, referral)
    plan = _plan_current_or_error(referral)
    if kind not in BREAK_KIND_NAMES:
        raise TherapyError("Select what the break is for", field="kind")
    if ends_on < starts_on:
        raise TherapyError(
            "The last day of the break must be on or after the first", field="ends_on"
        )
    if starts_on < plan.starts_on:
        raise TherapyError(
            f"The break must start on or after the plan's start date, {plan.starts_on:%-d %B %Y}",
            field="starts_on",
        )
    if plan.ends_on and starts_on > plan.ends_on:
        raise TherapyError(
            f"The break starts after the planned ending on {plan.ends_on:%-d %B %Y}",
            field="starts_on",
        )
    for other in plan.breaks:
        if starts_on <= date.fromisoformat(other["ends_on"]) and ends_on >= date.fromisoformat(
            other["starts_on"]
        ):
            raise TherapyError(
                f"This overlaps the break from {date.fromisoformat(other['starts_on']):%-d %B} "
                f"to {date.fromisoformat(other['ends_on']):%-d %B %Y}",
                field="starts_on",
            )
    item = {
        "id": uuid.uuid4().hex[:12],
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(),
        "kind": kind,
        "note": (note or "").strip()[:200],
    }
    values = _plan_values(plan)
    values["breaks"] = [*plan.breaks, item]
    reason = (
        f"Planned break added ({BREAK_KIND_NAMES[kind].lower()}): "
        f"{starts_on:%-d %B} to {ends_on:%-d %B %Y}"
    )
    return _plan_version_create(referral=referral, user=user, values=values, reason=reason)


@transaction.atomic
def session_plan_break_remove(
    *, referral: Referral, user, break_id: str, reason: str
) -> SessionPlan:
    _same_service(user, referral)
    plan = _plan_current_or_error(referral)
    reason = (reason or "").strip()
    if not reason:
        raise TherapyError("Say why the break is being removed", field="reason")
    remaining = [b for b in plan.breaks if b["id"] != break_id]
    if len(remaining) == len(plan.breaks):
        raise TherapyError("That break is not in the current plan.")
    values = _plan_values(plan)
    values["breaks"] = remaining
    return _plan_version_create(
        referral=referral, user=user, values=values, reason=f"Break removed: {reason}"
    )


# --- Sessions, repeated questionnaires and progress ---------------------------------------


@dataclass(frozen=True)
class SessionRecorded:
    session: TherapySession
    measures_due: bool
    missed_in_a_row: int


@transaction.atomic
def therapy_session_record(
    *, referral: Referral, user, occurred_on: date, attendance: str, note: str = ""
) -> SessionRecorded:
    _same_service(user, referral)
    therapy = _current_therapy(referral, lock=True)
    if therapy.therapist_id != user.pk:
        raise TherapyError("Only the client's therapist records their sessions.")
    if attendance not in TherapySession.Attendance.values:
        raise TherapyError("Select whether the client attended", field="attendance")
    attended = attendance == TherapySession.Attendance.ATTENDED
    if attended and occurred_on > timezone.localdate():
        raise TherapyError(
            "A session in the future cannot be recorded as attended", field="occurred_on"
        )
    # Allocated, not started: the first appointment was a plan, and may have moved.
    starting = referral.status == Referral.Status.ALLOCATED
    if not starting and occurred_on < therapy.started_on:
        raise TherapyError(
            f"Therapy with you started on {therapy.started_on:%-d %B %Y}: the session date "
            "cannot be earlier",
            field="occurred_on",
        )
    if TherapySession.objects.filter(referral=referral, occurred_on=occurred_on).exists():
        raise TherapyError(
            f"A session on {occurred_on:%-d %B %Y} is already recorded", field="occurred_on"
        )
    session = TherapySession.objects.create(
        service_id=referral.service_id,
        referral=referral,
        therapy=therapy,
        occurred_on=occurred_on,
        attendance=attendance,
        note=(note or "").strip()[:500],
        recorded_by=user,
    )
    if starting and attended:
        # In therapy from the first attended session, not from a date planned or typed in.
        therapy.started_on = occurred_on
        therapy.save(update_fields=["started_on", "updated_at"])
        _referral_status_set(
            referral=referral,
            status=Referral.Status.IN_THERAPY,
            from_statuses=(Referral.Status.ALLOCATED,),
        )
    plan = SessionPlan.objects.filter(referral=referral).order_by("-version").first()
    every = plan.measures_every_sessions if plan else 4
    since = attended_since_measures(referral)
    due = attendance == TherapySession.Attendance.ATTENDED and since >= every
    if attendance == TherapySession.Attendance.ATTENDED and plan and since == every - 1:
        # The next attended session is the one for questionnaires: a gentle reminder.
        next_on = _next_session_on(plan, occurred_on)
        notification_queue(
            kind="questionnaire_reminder",
            referral=referral,
            occurrence=f"after-session-{session.public_id}",
            context={"due_on": next_on, "questionnaire_link": _questionnaire_link(referral)},
            send_after=kinds.daytime(timezone.now()),
        )
    missed, _ = missed_in_a_row(list(TherapySession.objects.filter(referral=referral)))
    return SessionRecorded(session=session, measures_due=due, missed_in_a_row=missed)


def _questionnaire_link(referral: Referral) -> str:
    """Where the client can fill in their questionnaires online (the client portal's page,
    by its URL name: therapy imports nothing of the portal), when they agree to a way the
    portal can send them a sign-in link; otherwise none, and the reminder says to do them
    at the next session."""
    if portal_reachable(client_id=referral.client_id):
        return settings.SITE_URL + reverse("portal-questionnaires")
    return ""


def _progress_flags_raise(referral: Referral) -> list[ProgressFlag]:
    evaluations = [e for e in progress_evaluations(referral) if e.change is not None]
    if not evaluations:
        return []
    latest = evaluations[-1]
    change = latest.change
    numbers = (
        f"PHQ-9 {change.phq9_change:+d}, GAD-7 {change.gad7_change:+d} on "
        f"{latest.point.on:%-d %B %Y} since the start ({latest.baseline.on:%-d %B %Y})"
    )
    raised = []
    now = timezone.now()
    if tracking.Concern.RELIABLE_DETERIORATION in latest.concerns and not (
        ProgressFlag.objects.filter(
            referral=referral,
            reason=ProgressFlag.Reason.RELIABLE_DETERIORATION,
            reviewed_at__isnull=True,
        ).exists()
    ):
        raised.append(
            ProgressFlag.objects.create(
                service_id=referral.service_id,
                referral=referral,
                reason=ProgressFlag.Reason.RELIABLE_DETERIORATION,
                detail=f"Reliable deterioration: {numbers}",
                raised_at=now,
            )
        )
    if tracking.Concern.NO_IMPROVEMENT_AT_REVIEW in latest.concerns:
        flag, created = ProgressFlag.objects.get_or_create(
            referral=referral,
            reason=ProgressFlag.Reason.NO_IMPROVEMENT_AT_REVIEW,
            review_date=latest.review_date,
            defaults={
                "service_id": referral.service_id,
                "detail": f"No reliable improvement at the review on "
                f"{latest.review_date:%-d %B %Y}: {numbers}",
                "raised_at": now,
            },
        )
        if created:
            raised.append(flag)
    return raised


@dataclass(frozen=True)
class MeasuresRecorded:
    responses: list[MeasureResponse]
    risk_flags: list[RiskFlag]
    progress_flags: list[ProgressFlag]


@transaction.atomic
def review_measures_record(
    *, referral: Referral, user, session: TherapySession, results: dict[str, list | str]
) -> MeasuresRecorded:
    """Store the questionnaires repeated at a session, raise risk flags for risk items and
    a not-on-track flag when the change since the start calls for one.

    `results` maps a measure code to its answers, or to "declined" when the client chose
    not to complete it (kept as every item 'prefer not to say', which is what it is).
    """
    _same_service(user, referral)
    therapy = _current_therapy(referral)
    if therapy.therapist_id != user.pk:
        raise TherapyError("Only the client's therapist records their questionnaires.")
    if session.referral_id != referral.pk:
        raise TherapyError("That session belongs to another client.")
    if session.attendance != TherapySession.Attendance.ATTENDED:
        raise TherapyError("Questionnaires can be recorded only for a session that happened.")
    if session.measure_responses.exists():
        raise TherapyError("The questionnaires for this session are already recorded.")
    if not results:
        raise TherapyError("Record at least one questionnaire, or go back without saving.")
    completed_at = timezone.make_aware(datetime.combine(session.occurred_on, time(12, 0)))
    responses, risk = [], []
    for code, answers in results.items():
        measure = measures.get_measure(code)
        if answers == "declined":
            answers = [measures.PREFER_NOT_TO_SAY] * measure.item_count
        try:
            response, flags = measure_response_record(
                referral=referral,
                measure=code,
                answers=answers,
                context=MeasureResponse.Context.REVIEW,
                completed_at=completed_at,
                recorded_by=user,
            )
        except measures.MeasureError as error:
            raise TherapyError(f"{measure.name}: {error}") from None
        responses.append(response)
        risk.extend(flags)
    session.measure_responses.add(*responses)
    risk_alert_queue(referral, risk, occurrence=f"session-{session.public_id}")
    progress = _progress_flags_raise(referral)
    return MeasuresRecorded(responses=responses, risk_flags=risk, progress_flags=progress)


@transaction.atomic
def progress_flag_review(*, flag: ProgressFlag, user, note: str) -> ProgressFlag:
    _same_service(user, flag.referral)
    note = (note or "").strip()
    if not note:
        raise TherapyError("Enter what you and the client made of it", field="note")
    locked = ProgressFlag.objects.select_for_update().get(pk=flag.pk)
    if not locked.is_open:
        raise TherapyError("This flag was already reviewed.")
    locked.reviewed_at = timezone.now()
    locked.reviewed_by = user
    locked.review_note = note
    locked.save(update_fields=["reviewed_at", "reviewed_by", "review_note", "updated_at"])
    return locked


# --- Non-attendance and endings -----------------------------------------------------------


@transaction.atomic
def non_attendance_letter_send(*, referral: Referral, user, note: str = "") -> NonAttendanceStep:
    """The first step of the policy: write to the client asking them to get in touch."""
    _same_service(user, referral)
    therapy = _current_therapy(referral, lock=True)
    state = non_attendance_state(referral)
    if not state.policy_applies:
        raise TherapyError(
            f"The non-attendance policy starts after {MISSED_BEFORE_POLICY} missed sessions "
            "in a row."
        )
    if state.letter_step is not None:
        raise TherapyError("The letter for these missed sessions was already sent.")
    queued = False
    if kinds.is_registered(NON_ATTENDANCE_LETTER_KIND):
        notification_queue(
            kind=NON_ATTENDANCE_LETTER_KIND,
            referral=referral,
            occurrence=f"missed-from-{state.run_started_on.isoformat()}",
            context={"missed_count": state.missed_in_a_row},
        )
        queued = True
    return NonAttendanceStep.objects.create(
        service_id=referral.service_id,
        referral=referral,
        therapy=therapy,
        step=NonAttendanceStep.Step.LETTER,
        missed_in_a_row=state.missed_in_a_row,
        letter_queued=queued,
        note=(note or "").strip(),
        recorded_by=user,
    )


@transaction.atomic
def therapy_discharge_non_attendance(
    *, referral: Referral, user, note: str = "", today: date | None = None
) -> NonAttendanceStep:
    """The second step: discharge, with a letter to the client and, if they agreed, the GP."""
    _same_service(user, referral)
    therapy = _current_therapy(referral, lock=True)
    state = non_attendance_state(referral)
    if not state.discharge_possible:
        raise TherapyError(
            "Send the non-attendance letter first: discharge follows only when the client "
            "has not been in touch after it."
        )
    today = today or timezone.localdate()
    last_missed = (
        TherapySession.objects.filter(
            referral=referral, attendance=TherapySession.Attendance.DID_NOT_ATTEND
        )
        .order_by("-occurred_on")
        .values_list("occurred_on", flat=True)
        .first()
    )
    therapy.ended_on = max(today, therapy.started_on)
    therapy.end_reason = Therapy.EndReason.NON_ATTENDANCE
    therapy.save(update_fields=["ended_on", "end_reason", "updated_at"])
    _referral_status_set(
        referral=referral, status=Referral.Status.ENDED, from_statuses=(Referral.Status.IN_THERAPY,)
    )
    notification_queue(
        kind="discharge_non_attendance",
        referral=referral,
        occurrence="discharge",
        context={"missed_count": state.missed_in_a_row, "last_offered_on": last_missed},
    )
    if gp_share_ok(referral=referral):
        notification_queue(
            kind="gp_letter",
            referral=referral,
            recipient="gp",
            occurrence="discharge",
            context={
                "stage": "discharge_non_attendance",
                "summary": f"Discharged after {state.missed_in_a_row} missed sessions in a "
                "row, with a letter offering to see them again if they get in touch.",
            },
        )
    return NonAttendanceStep.objects.create(
        service_id=referral.service_id,
        referral=referral,
        therapy=therapy,
        step=NonAttendanceStep.Step.DISCHARGE,
        missed_in_a_row=state.missed_in_a_row,
        letter_queued=True,
        note=(note or "").strip(),
        recorded_by=user,
    )


@transaction.atomic
def therapy_end(
    *,
    referral: Referral,
    user,
    last_session_on: date,
    summary: str,
    plan: str,
    gp_summary: str = "",
) -> Therapy:
    """A planned ending: the client gets a letter with the summary and their plan for if
    things become difficult again; the GP is told if the client agreed."""
    _same_service(user, referral)
    therapy = _current_therapy(referral, lock=True)
    if therapy.therapist_id != user.pk:
        raise TherapyError("Only the client's therapist records the ending.")
    if last_session_on < therapy.started_on:
        raise TherapyError(
            f"Therapy started on {therapy.started_on:%-d %B %Y}: the last session cannot be "
            "earlier",
            field="last_session_on",
        )
    if not (plan or "").strip():
        raise TherapyError("Enter the plan for if things become difficult again", field="plan")
    attended = TherapySession.objects.filter(
        referral=referral, attendance=TherapySession.Attendance.ATTENDED
    ).count()
    therapy.ended_on = last_session_on
    therapy.end_reason = Therapy.EndReason.COMPLETED
    therapy.save(update_fields=["ended_on", "end_reason", "updated_at"])
    _referral_status_set(
        referral=referral, status=Referral.Status.ENDED, from_statuses=(Referral.Status.IN_THERAPY,)
    )
    notification_queue(
        kind="ending",
        referral=referral,
        occurrence="ending",
        context={
            "last_session_on": last_session_on,
            "sessions_attended": attended,
            "summary": (summary or "").strip(),
            "plan": plan.strip(),
        },
    )
    if gp_share_ok(referral=referral):
        notification_queue(
            kind="gp_letter",
            referral=referral,
            recipient="gp",
            occurrence="ending",
            context={"stage": "ending", "summary": (gp_summary or "").strip()},
        )
    return therapy


# --- Questionnaires the client completes online (the client portal) -----------------------


@transaction.atomic
def questionnaire_request(*, referral: Referral, user, measure: str) -> QuestionnaireRequest:
    """Ask the client to complete a questionnaire in the client portal. Whoever may see the
    progress page may ask (the view has decided that); once per questionnaire at a time."""
    _same_service(user, referral)
    if measure not in measures.MEASURES:
        raise TherapyError("Select a questionnaire to ask for", field="measure")
    name = measures.MEASURES[measure].name
    if referral.status != Referral.Status.IN_THERAPY:
        raise TherapyError(
            "The client can be asked to complete questionnaires online only while they are "
            "in therapy.",
            field="measure",
        )
    Referral.objects.select_for_update().filter(pk=referral.pk).first()  # one writer at a time
    if QuestionnaireRequest.objects.filter(
        referral=referral, measure=measure, completed_at__isnull=True
    ).exists():
        raise TherapyError(
            f"The client has already been asked to complete the {name} and has not done it yet.",
            field="measure",
        )
    return QuestionnaireRequest.objects.create(
        service_id=referral.service_id,
        referral=referral,
        measure=measure,
        asked_by=user,
        asked_at=timezone.now(),
    )


@transaction.atomic
def questionnaire_request_cancel(
    *, referral: Referral, user, public_id
) -> QuestionnaireRequest | None:
    """Take back a request the client has not completed yet: it leaves the client's list in
    the portal at once (a form already open there is refused when sent: not due). Whoever
    may ask may cancel (the view has decided that). The row is deleted: it held only the
    asking, and the staff request that cancelled it is on the audit trail. None if there is
    no open request of that id on this referral (done, cancelled already, or another's)."""
    _same_service(user, referral)
    Referral.objects.select_for_update().filter(pk=referral.pk).first()  # one writer at a time
    asked = QuestionnaireRequest.objects.filter(
        referral=referral, public_id=public_id, completed_at__isnull=True
    ).first()
    if asked is not None:
        asked.delete()
    return asked


@dataclass(frozen=True)
class CompletedOnline:
    response: MeasureResponse
    risk_flags: list[RiskFlag]
    progress_flags: list[ProgressFlag]


@transaction.atomic
def questionnaire_complete_online(
    *, referral: Referral, measure: str, answers: list
) -> CompletedOnline:
    """The client completed a questionnaire in the portal: it is the referral's record at
    once (the progress page reads it), a risk item endorsed raises a flag and an urgent
    alert to the duty inbox, a request for it is closed, and change since the start is
    judged again, as for questionnaires repeated at a session."""
    Referral.objects.select_for_update().filter(pk=referral.pk).first()  # one at a time
    if measure not in {due.code for due in questionnaires_due(referral=referral)}:
        raise TherapyError("You do not have this questionnaire to fill in at the moment.")
    try:
        response, flags = measure_response_record(
            referral=referral,
            measure=measure,
            answers=answers,
            context=MeasureResponse.Context.PORTAL,
        )
    except measures.MeasureError as error:
        raise TherapyError(str(error)) from None
    QuestionnaireRequest.objects.filter(
        referral=referral, measure=measure, completed_at__isnull=True
    ).update(response=response, completed_at=response.completed_at, updated_at=timezone.now())
    risk_alert_queue(referral, flags, occurrence=f"portal-{response.public_id}")
    return CompletedOnline(
        response=response, risk_flags=flags, progress_flags=_progress_flags_raise(referral)
    )
