"""Writes for assessment and therapy: questionnaires and risk flags, booking and finishing the
assessment, the therapist link, goals, the versioned session plan, sessions, repeated
measures, progress flags, the non-attendance policy and planned endings.

Top-level services are atomic and keyword-only. Letters and alerts are queued through the
notifications outbox inside the same transaction, so they leave only if it commits.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from assessment import measures, tracking
from assessment.models import (
    Assessment,
    AssessmentAddendum,
    AssessmentAppointment,
    AssessmentMeasure,
    Goal,
    GoalRating,
    MeasureResponse,
    Mode,
    NonAttendanceStep,
    ProgressFlag,
    RiskAnswer,
    RiskFlag,
    RiskFlagRepeat,
    SectionStatus,
    SessionPlan,
    Therapy,
    TherapySession,
)
from common import roles
from intake.models import ConsentRecord, Referral

RISK_SOURCES = {
    (measures.PHQ9, 9): (RiskFlag.Source.PHQ9_ITEM9, "PHQ-9 item 9"),
    (measures.CORE10, 6): (RiskFlag.Source.CORE10_ITEM6, "CORE-10 item 6"),
}
OCCASIONS = {
    MeasureResponse.Context.SELF_REFERRAL: "in the referral",  # online or from a partner
    MeasureResponse.Context.ASSESSMENT: "at assessment",
    MeasureResponse.Context.REVIEW: "at a review during therapy",
}
# Signals of risk to self. The assessor's overall level, when it names no other area of
# risk, is the same risk as these, not a new one.
RISK_TO_SELF_SOURCES = (
    RiskFlag.Source.SAFETY_QUESTION,
    RiskFlag.Source.PHQ9_ITEM9,
    RiskFlag.Source.CORE10_ITEM6,
    RiskFlag.Source.ASSESSMENT,
)
RISK_AREAS = {
    "risk_to_self": "risk to self",
    "risk_to_others": "risk to others",
    "risk_from_others": "risk from others",
    "risk_safeguarding": "a safeguarding concern",
}
LEVEL_SEVERITY = {
    Referral.Risk.NONE_KNOWN: 0,
    Referral.Risk.LOW: 1,
    Referral.Risk.MEDIUM: 2,
    Referral.Risk.HIGH: 3,
}
FIRST_TIME = "First time this risk was recorded for this referral"
WAITING_FOR_ASSESSMENT = (Referral.Status.SUBMITTED, Referral.Status.ASSESSMENT_BOOKED)
READY_FOR_THERAPY = (
    Referral.Status.AWAITING_ALLOCATION,
    Referral.Status.ALLOCATED,
    Referral.Status.IN_THERAPY,
)
MAX_ACTIVE_GOALS = 3
# Message kinds this app would use but the notifications app does not define yet; they are
# queued as soon as it does (see docs/assessment.md).
ASSESSMENT_OUTCOME_KIND = "assessment_outcome"
NON_ATTENDANCE_LETTER_KIND = "non_attendance_letter"


class AssessmentError(ValueError):
    """Something a member of staff asked for that cannot be done now; the message says why
    and what to do, and `field` names the form field it belongs to, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class AssessmentLocked(AssessmentError):
    def __init__(self):
        super().__init__(
            "This assessment is finished and locked. To correct or add to it, add an addendum."
        )


@dataclass(frozen=True)
class Problem:
    """A reason an assessment cannot be finished yet, and the step where it is put right."""

    step: str
    message: str


class AssessmentIncomplete(AssessmentError):
    def __init__(self, problems: list[Problem]):
        super().__init__("The assessment cannot be finished yet.")
        self.problems = problems


def _queue(**kwargs):
    from notifications.outbox import notification_queue

    return notification_queue(**kwargs)


def _kind_available(kind: str) -> bool:
    from notifications import kinds

    return kind in kinds.KINDS


def _daytime(moment: datetime) -> datetime:
    from notifications import kinds

    return kinds.daytime(moment)


def _gp_share_ok(referral: Referral) -> bool:
    from intake.selectors import consent_current

    decisions = consent_current(client_id=referral.client_id)
    return decisions.get(ConsentRecord.Topic.TELL_GP) == ConsentRecord.Decision.GRANTED


def _referral_status_set(**kwargs) -> Referral:
    from intake.services import ReferralStatusError, referral_status_set

    try:
        return referral_status_set(**kwargs)
    except ReferralStatusError as error:
        raise AssessmentError(str(error)) from None


def _same_service(user, referral: Referral) -> None:
    # Views reach a referral only through scoped selectors; this guards other callers.
    if user.service_id != referral.service_id:
        raise AssessmentError("This referral belongs to another service.")


# --- Questionnaires and risk flags ----------------------------------------------------------


# A response and the flags it raises are stored together; inside a caller's transaction this
# adds no savepoint, and in autocommit it opens the transaction the referral lock needs.
@transaction.atomic(savepoint=False)
def measure_response_record(
    *,
    referral,
    measure: str,
    answers: Sequence,
    context: str,
    completed_at: datetime | None = None,
    session: TherapySession | None = None,
    recorded_by=None,
) -> tuple[MeasureResponse, list[RiskFlag]]:
    """Score and store one questionnaire; raise a flag for every risk item endorsed.

    Raises measures.MeasureError for answers that do not fit the measure.
    """
    result = measures.score(measure, list(answers))
    response = _measure_response(
        referral, result, list(answers), context, completed_at or timezone.now()
    )
    response.session, response.recorded_by = session, recorded_by
    response.save(force_insert=True)
    return response, _risk_flags_raise(referral, [result], context)


def _measure_response(referral, result, answers: list, context: str, completed_at):
    return MeasureResponse(
        referral=referral,
        measure=result.code,
        context=context,
        answers=answers,
        total=None if result.total is None else Decimal(str(result.total)),
        band=result.band or "",
        caseness=result.caseness,
        withheld_reason=result.withheld_reason or "",
        completed_at=completed_at,
    )


def _risk_flags_raise(referral, results, context: str) -> list[RiskFlag]:
    """The new flags for the risk items endorsed; repeats are linked to their flag."""
    flags = []
    for result in results:
        for item in result.risk_items_endorsed:
            source, label = RISK_SOURCES[(result.code, item)]
            answer = result.item_scores[item - 1]
            flag = risk_signal_record(
                referral=referral,
                source=source,
                detail=f"{label} answered {answer} {OCCASIONS.get(context, '')}".strip(),
                severity=answer,
            )
            if flag is not None:
                flags.append(flag)
    return flags


@transaction.atomic(savepoint=False)
def measure_responses_record(
    *, referral, answers: dict[str, Sequence], context: str, completed_at: datetime
) -> tuple[list[MeasureResponse], list[RiskFlag]]:
    """Several questionnaires completed together (a self-referral's PHQ-9 and GAD-7):
    scored and stored in one insert, with a flag for every risk item endorsed.

    Raises measures.MeasureError for answers that do not fit their measure.
    """
    scored = [(measures.score(code, list(given)), list(given)) for code, given in answers.items()]
    responses = MeasureResponse.objects.bulk_create(
        _measure_response(referral, result, given, context, completed_at)
        for result, given in scored
    )
    return responses, _risk_flags_raise(referral, [result for result, _ in scored], context)


def risk_flag_raise(
    *, referral, source: str, detail: str, severity: int | None = None, reason: str = FIRST_TIME
) -> RiskFlag:
    return RiskFlag.objects.create(
        service_id=referral.service_id,
        referral=referral,
        source=source,
        detail=detail[:300],
        severity=severity,
        reason=reason[:300],
        raised_at=timezone.now(),
    )


@transaction.atomic(savepoint=False)
def risk_signal_record(
    *,
    referral,
    source: str,
    detail: str,
    severity: int | None = None,
    same_risk: Sequence[str] = (),
    reason: str = "",
) -> RiskFlag | None:
    """A risk seen (again): one risk is one flag.

    The signal is linked to the newest flag for the same risk (`same_risk` sources, by
    default its own source) that is open or was acknowledged within RISK_FLAG_REPEAT_DAYS,
    unless it is worse than that flag (a higher `severity` from the same source). Otherwise,
    or when the caller already knows why it is new (`reason`), a new flag is raised saying
    why. Returns the new flag, which needs a risk alert, or None when it was linked.
    """
    # One judgement per referral at a time; the partial unique index is the backstop.
    Referral.objects.select_for_update().filter(pk=referral.pk).first()
    if not reason:
        flag, reason = _same_risk(referral, source, severity, tuple(same_risk) or (source,))
        if flag is not None:
            RiskFlagRepeat.objects.create(
                flag=flag, detail=detail[:300], severity=severity, seen_at=timezone.now()
            )
            return None
    return risk_flag_raise(
        referral=referral, source=source, detail=detail, severity=severity, reason=reason
    )


def _same_risk(referral, source, severity, sources) -> tuple[RiskFlag | None, str]:
    """The flag a signal repeats, or why there is none."""
    days = settings.RISK_FLAG_REPEAT_DAYS
    flags = RiskFlag.objects.filter(referral=referral, source__in=sources)
    recent = list(
        flags.filter(
            Q(acknowledged_at__isnull=True)
            | Q(acknowledged_at__gte=timezone.now() - timedelta(days=days))
        ).order_by("-raised_at", "-id")
    )
    for flag in recent:
        if (
            severity is None
            or flag.source != source
            or flag.severity is None
            or flag.severity >= severity
        ):
            return flag, ""
    if recent:
        worst = max(recent, key=lambda flag: flag.severity)
        raised = timezone.localtime(worst.raised_at)
        return None, (
            f"Worse than before: answered {severity}, was {worst.severity} on the flag "
            f"raised {raised.day} {raised:%b %Y}"
        )
    if flags.exists():
        return None, f"Seen again more than {days} days after the last flag for it was acknowledged"
    return None, FIRST_TIME


class RiskFlagError(ValueError):
    pass


@transaction.atomic
def risk_flag_acknowledge(*, flag: RiskFlag, user, action_taken: str) -> RiskFlag:
    action_taken = action_taken.strip()
    if not action_taken:
        raise RiskFlagError("Say what was done about the risk before acknowledging it.")
    locked = RiskFlag.objects.select_for_update().get(pk=flag.pk)
    if locked.acknowledged_at is not None:
        raise RiskFlagError(
            f"Already acknowledged by {locked.acknowledged_by} at {locked.acknowledged_at:%H:%M}."
        )
    locked.acknowledged_at = timezone.now()
    locked.acknowledged_by = user
    locked.action_taken = action_taken
    locked.save(update_fields=["acknowledged_at", "acknowledged_by", "action_taken", "updated_at"])
    return locked


def _risk_alert(referral: Referral, flags: list[RiskFlag], occurrence: str) -> None:
    if flags:
        _queue(
            kind="risk_alert",
            referral=referral,
            recipient="duty_inbox",
            occurrence=occurrence,
            context={
                "reasons": [f"{flag.detail}: {flag.reason}" for flag in flags],
                "raised_at": timezone.now(),
            },
        )


# --- Booking --------------------------------------------------------------------------------


def _location(site, room: str) -> str:
    parts = [site.name if site else "", room]
    where = ", ".join(part for part in parts if part)
    if site and site.address:
        where += ", " + ", ".join(line.strip() for line in site.address.splitlines() if line)
    return where


@transaction.atomic
def assessment_book(
    *,
    referral: Referral,
    user,
    starts_at: datetime,
    duration_minutes: int,
    mode: str,
    site=None,
    room: str = "",
    video_link: str = "",
) -> AssessmentAppointment:
    """Book (or rebook) the assessment, move the referral on and queue the invitation.

    A second booking replaces the first; the client is sent the new time.
    """
    _same_service(user, referral)
    if mode not in Mode.values:
        raise AssessmentError("Select in person, video call or telephone.", field="mode")
    if mode == Mode.IN_PERSON and site is None:
        raise AssessmentError("Select the site for an in-person assessment.", field="site")
    if site is not None and site.service_id != referral.service_id:
        raise AssessmentError("Select one of this service's sites.", field="site")
    if starts_at <= timezone.now():
        raise AssessmentError("The assessment must be in the future: check the date.", field="day")
    if Assessment.objects.filter(referral=referral, status=Assessment.Status.FINISHED).exists():
        raise AssessmentError("This referral has already been assessed.")
    _referral_status_set(
        referral=referral,
        status=Referral.Status.ASSESSMENT_BOOKED,
        from_statuses=WAITING_FOR_ASSESSMENT,
    )
    AssessmentAppointment.objects.filter(
        referral=referral, status=AssessmentAppointment.Status.BOOKED
    ).update(status=AssessmentAppointment.Status.REPLACED, updated_at=timezone.now())
    appointment = AssessmentAppointment.objects.create(
        service_id=referral.service_id,
        referral=referral,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        mode=mode,
        site=site if mode == Mode.IN_PERSON else None,
        room=room if mode == Mode.IN_PERSON else "",
        video_link=video_link if mode == Mode.VIDEO else "",
        booked_by=user,
    )
    _queue(
        kind="assessment_invitation",
        referral=referral,
        occurrence=f"appointment-{appointment.public_id}",
        context={
            "appointment_at": starts_at,
            "duration_minutes": duration_minutes,
            "location": _location(site, room) if mode == Mode.IN_PERSON else "",
            "video_link": appointment.video_link,
            "by_phone": mode == Mode.PHONE,
        },
    )
    return appointment


# --- The assessment -------------------------------------------------------------------------

# Every section answer: the wizard's `<step>_<field>`, the model's column, and its default.
ANSWER_FIELDS: dict[str, object] = {
    "presenting_status": "",
    "presenting_own_words": "",
    "presenting_impact": "",
    "relationships_status": "",
    "relationships_patterns": [],
    "relationships_detail": "",
    "history_status": "",
    "history_background": "",
    "history_previous_help": "",
    "circumstances_status": "",
    "circumstances_living": "",
    "circumstances_support": "",
    "risk_to_self": "",
    "risk_to_self_detail": "",
    "risk_to_others": "",
    "risk_to_others_detail": "",
    "risk_from_others": "",
    "risk_from_others_detail": "",
    "risk_safeguarding": "",
    "risk_safeguarding_detail": "",
    "risk_level": "",
    "risk_plan": "",
    "formulation_status": "",
    "formulation_text": "",
    "formulation_approach_explained": "",
    "formulation_client_view": "",
    "formulation_client_view_words": "",
    "recommendation_choice": "",
    "recommendation_modality": "",
    "recommendation_offered_here": "",
    "recommendation_sessions_per_week": None,
    "recommendation_signpost_to": "",
    "recommendation_reason": "",
    "letters_gp_summary": "",
}


@dataclass(frozen=True)
class MeasurePlan:
    """How one questionnaire was dealt with: source, and the answers when entered now."""

    source: str
    answers: list | None = None


@transaction.atomic
def assessment_start(*, referral: Referral, user) -> Assessment:
    """The referral's assessment: the existing one (to resume or read), or a new draft."""
    _same_service(user, referral)
    existing = Assessment.objects.filter(referral=referral).first()
    if existing is not None:
        return existing
    if referral.status not in WAITING_FOR_ASSESSMENT:
        raise AssessmentError(
            f"This referral is '{referral.get_status_display()}', not waiting for assessment."
        )
    try:
        with transaction.atomic():
            return Assessment.objects.create(
                service_id=referral.service_id, referral=referral, assessor=user
            )
    except IntegrityError:  # a colleague started it at the same moment
        return Assessment.objects.get(referral=referral)


def assessment_draft_store(
    *, assessment: Assessment, data: dict, loaded: dict | None = None
) -> bool:
    """Keep the wizard's state on the draft. Does nothing once the assessment is finished:
    a finished assessment is never rewritten by a late request.

    With `loaded` (the draft as this request read it), only what the request changed is
    written, onto the draft as it is now: two people (or two tabs) working on different
    sections at once both keep their work. The wizard refuses a save of a section someone
    else saved meanwhile, so a section is only replaced by someone who has seen it.
    """
    with transaction.atomic():
        current = (
            Assessment.objects.select_for_update()
            .filter(pk=assessment.pk, status=Assessment.Status.DRAFT)
            .values_list("draft_data", flat=True)
            .first()
        )
        if current is None:
            return False
        merged = data if loaded is None else draft_merge(current or {}, loaded, data)
        Assessment.objects.filter(pk=assessment.pk).update(
            draft_data=merged, draft_saved_at=timezone.now(), updated_at=timezone.now()
        )
    return True


# The parts of the wizard's stored state that are merged name by name.
DRAFT_SECTIONS = ("step_data", "step_files", "extra_data")


def draft_merge(current: dict, loaded: dict, ours: dict) -> dict:
    """What a request changed (`ours` against the `loaded` it started from), applied to the
    draft as stored now (`current`), section by section. Pure."""
    if not isinstance(current.get("step_data"), dict):
        return ours
    merged = copy.deepcopy(current)
    for key in set(loaded) | set(ours):
        before, after = loaded.get(key), ours.get(key)
        if before == after:
            continue
        if key in DRAFT_SECTIONS and isinstance(before or {}, dict) and isinstance(after, dict):
            before = before or {}
            part = dict(merged.get(key) or {})
            for name in set(before) | set(after):
                if before.get(name) == after.get(name):
                    continue
                if name in after:
                    part[name] = after[name]
                else:
                    part.pop(name, None)
            merged[key] = part
        elif key in ours:
            merged[key] = after
        else:
            merged.pop(key, None)
    return merged


def self_referral_responses(referral: Referral) -> dict[str, MeasureResponse]:
    """The latest questionnaire of each kind the client completed online."""
    latest: dict[str, MeasureResponse] = {}
    for response in MeasureResponse.objects.filter(
        referral=referral, context=MeasureResponse.Context.SELF_REFERRAL
    ).order_by("completed_at", "id"):
        latest[response.measure] = response
    return latest


def assessment_problems(
    *, referral: Referral, answers: dict, measure_plans: dict[str, MeasurePlan]
) -> list[Problem]:
    """Everything that stops an assessment being finished, each with where to fix it."""
    problems = []
    if answers.get("risk_to_self") in ("", None, RiskAnswer.NOT_ASKED):
        problems.append(
            Problem(
                "risk",
                "Ask about risk to self before finishing: every assessment records it, even "
                "when the client chooses not to say",
            )
        )
    if not answers.get("risk_level"):
        problems.append(Problem("risk", "Record the overall level of risk before finishing"))
    choice = answers.get("recommendation_choice")
    if not choice:
        problems.append(Problem("recommendation", "Record a recommendation before finishing"))
    if choice == Assessment.Recommendation.PSYCHODYNAMIC and answers.get("formulation_status") in (
        "",
        None,
        SectionStatus.NOT_ASKED,
    ):
        problems.append(
            Problem(
                "formulation",
                "Record the formulation, or that the client chose not to discuss it, before "
                "recommending psychodynamic therapy",
            )
        )
    online = self_referral_responses(referral)
    for code, plan in measure_plans.items():
        name = measures.get_measure(code).name
        if plan.source == AssessmentMeasure.Source.ONLINE and code not in online:
            problems.append(
                Problem("measures", f"There are no online answers to the {name} to use")
            )
        if plan.source == AssessmentMeasure.Source.ENTERED:
            try:
                result = measures.score(code, plan.answers or [])
            except measures.MeasureError:
                problems.append(Problem(code, f"Enter every {name} answer"))
                continue
            if result.risk_items_endorsed and answers.get("risk_level") == Referral.Risk.NONE_KNOWN:
                items = ", ".join(str(i) for i in result.risk_items_endorsed)
                problems.append(
                    Problem(
                        "risk",
                        f"{name} question {items} was answered above 0, so the overall "
                        "level of risk cannot be 'None known'",
                    )
                )
    if RiskFlag.objects.filter(referral=referral, acknowledged_at__isnull=True).exists():
        problems.append(
            Problem(
                "referral",
                "Acknowledge the open risk flag on this referral, saying what was done, "
                "before finishing",
            )
        )
    return problems


def _assessed_risk_record(referral: Referral, answers: dict, level: str) -> RiskFlag | None:
    """The assessor's overall level of risk, as one signal. It is a new risk when it names
    an area beyond risk to self (no questionnaire asks about those) or is higher than the
    level known before; otherwise it is the risk to self already flagged, if any is open or
    recent. One assessment per referral, so it never repeats an earlier assessment's flag."""
    areas = [label for name, label in RISK_AREAS.items() if answers.get(name) == RiskAnswer.PRESENT]
    known = referral.risk_level or Referral.Risk.NONE_KNOWN
    detail = f"Risk assessed as {Referral.Risk(level).label.lower()} at assessment"
    if areas:
        detail += f" ({', '.join(areas)})"
    reason = ""
    beyond_self = [area for area in areas if area != RISK_AREAS["risk_to_self"]]
    if beyond_self:
        reason = f"A risk not flagged before: {', '.join(beyond_self)}"
    elif LEVEL_SEVERITY[level] > LEVEL_SEVERITY.get(known, 0):
        reason = (
            f"Level higher than before: assessed as {Referral.Risk(level).label.lower()}, "
            f"was {Referral.Risk(known).label.lower()}"
        )
    return risk_signal_record(
        referral=referral,
        source=RiskFlag.Source.ASSESSMENT,
        detail=detail,
        severity=LEVEL_SEVERITY[level],
        same_risk=RISK_TO_SELF_SOURCES,
        reason=reason,
    )


def _status_after(answers: dict) -> str:
    choice = answers["recommendation_choice"]
    if choice == Assessment.Recommendation.PSYCHODYNAMIC:
        return Referral.Status.AWAITING_ALLOCATION
    if choice == Assessment.Recommendation.OTHER_MODALITY:
        if answers.get("recommendation_offered_here") == "yes":
            return Referral.Status.AWAITING_ALLOCATION
        return Referral.Status.SIGNPOSTED
    if choice == Assessment.Recommendation.SIGNPOST:
        return Referral.Status.SIGNPOSTED
    return Referral.Status.ENDED


@transaction.atomic
def assessment_finish(
    *,
    assessment: Assessment,
    user,
    answers: dict,
    measure_plans: dict[str, MeasurePlan],
) -> Assessment:
    """Finish and lock the assessment, and act on it, all at once.

    Stores every section, the questionnaires (scored now, or the client's online answers
    reused), raises risk flags, moves the referral on from the recommendation (with the
    modality and sessions a week that allocation reads), and queues the GP letter when the
    client agreed to it. Raises AssessmentLocked when it was already finished and
    AssessmentIncomplete listing what is missing.
    """
    locked = Assessment.objects.select_for_update().select_related("referral").get(pk=assessment.pk)
    if locked.is_locked:
        raise AssessmentLocked()
    referral = locked.referral
    _same_service(user, referral)
    if referral.status not in WAITING_FOR_ASSESSMENT:
        raise AssessmentError(
            f"This referral is now '{referral.get_status_display()}', so the assessment "
            "cannot be finished. Speak to the coordinator."
        )
    problems = assessment_problems(referral=referral, answers=answers, measure_plans=measure_plans)
    if problems:
        raise AssessmentIncomplete(problems)
    for name, default in ANSWER_FIELDS.items():
        value = answers.get(name, default)
        if name == "recommendation_sessions_per_week":
            value = int(value) if value not in (None, "") else None
        elif value is None:
            value = default
        setattr(locked, name, value)
    now = timezone.now()
    flags: list[RiskFlag] = []
    online = self_referral_responses(referral)
    for code in measures.MEASURES:
        plan = measure_plans.get(code, MeasurePlan(AssessmentMeasure.Source.NOT_DONE))
        response = None
        if plan.source == AssessmentMeasure.Source.ENTERED:
            response, raised = measure_response_record(
                referral=referral,
                measure=code,
                answers=plan.answers,
                context=MeasureResponse.Context.ASSESSMENT,
                completed_at=now,
                recorded_by=user,
            )
            flags.extend(raised)
        elif plan.source == AssessmentMeasure.Source.ONLINE:
            response = online[code]
        AssessmentMeasure.objects.create(
            assessment=locked, measure=code, source=plan.source, response=response
        )
    level = answers["risk_level"]
    if level in (Referral.Risk.MEDIUM, Referral.Risk.HIGH):
        flag = _assessed_risk_record(referral, answers, level)
        if flag is not None:
            flags.append(flag)
    _risk_alert(referral, flags, occurrence=f"assessment-{locked.public_id}")
    _referral_status_set(
        referral=referral,
        status=_status_after(answers),
        from_statuses=WAITING_FOR_ASSESSMENT,
        risk_level=level,
    )
    if _gp_share_ok(referral):
        _queue(
            kind="gp_letter",
            referral=referral,
            recipient="gp",
            occurrence="assessment",
            context={"stage": "assessment", "summary": answers.get("letters_gp_summary", "")},
        )
    if _kind_available(ASSESSMENT_OUTCOME_KIND):
        _queue(
            kind=ASSESSMENT_OUTCOME_KIND,
            referral=referral,
            occurrence="assessment",
            context=_outcome_context(answers),
        )
    locked.status = Assessment.Status.FINISHED
    locked.finished_at = now
    locked.finished_by = user
    locked.draft_data = {}
    locked.save()
    return locked


def _outcome_context(answers: dict) -> dict:
    from assessment.forms import MODALITY_NAMES

    return {
        "recommendation": answers["recommendation_choice"],
        "modality": MODALITY_NAMES.get(answers.get("recommendation_modality") or "", ""),
        "sessions_per_week": answers.get("recommendation_sessions_per_week") or None,
        "signpost_to": answers.get("recommendation_signpost_to", ""),
        "waiting_for_therapist": _status_after(answers) == Referral.Status.AWAITING_ALLOCATION,
    }


ADDENDUM_SECTIONS = [
    ("presenting", "Presenting difficulties"),
    ("relationships", "Relationships and patterns"),
    ("history", "History and previous help"),
    ("circumstances", "Current circumstances and support"),
    ("risk", "Risk"),
    ("measures", "Questionnaires"),
    ("formulation", "Formulation"),
    ("recommendation", "Recommendation"),
    ("general", "The assessment as a whole"),
]


@transaction.atomic
def assessment_addendum_add(
    *, assessment: Assessment, user, section: str, text: str
) -> AssessmentAddendum:
    if assessment.status != Assessment.Status.FINISHED:
        raise AssessmentError("This assessment is still in progress: change the draft instead.")
    _same_service(user, assessment.referral)
    if section not in dict(ADDENDUM_SECTIONS):
        raise AssessmentError("Select which part of the assessment this is about", field="section")
    text = (text or "").strip()
    if not text:
        raise AssessmentError("Enter the addendum", field="text")
    return AssessmentAddendum.objects.create(
        assessment=assessment, section=section, text=text, author=user
    )


# --- Therapy --------------------------------------------------------------------------------


@transaction.atomic
def therapy_start(*, referral: Referral, therapist, started_on: date, user) -> Therapy:
    """Link the client to the therapist who will see them. Handing over to a new therapist
    ends the current link on the same day. Allocation may call this when a proposal is
    accepted; coordinators can also do it by hand."""
    _same_service(user, referral)
    if therapist.service_id != referral.service_id or not therapist.has_role(roles.THERAPIST):
        raise AssessmentError("Select a therapist from this service.", field="therapist")
    if referral.status not in READY_FOR_THERAPY:
        raise AssessmentError(
            f"This referral is '{referral.get_status_display()}': therapy can start only "
            "after an assessment recommends it."
        )
    current = Therapy.objects.select_for_update().filter(referral=referral, ended_on=None).first()
    if current is not None:
        if current.therapist_id == therapist.pk:
            raise AssessmentError("This therapist already sees this client.", field="therapist")
        if started_on < current.started_on:
            raise AssessmentError(
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


def _current_therapy(referral: Referral, *, lock: bool = False) -> Therapy:
    therapies = Therapy.objects.filter(referral=referral, ended_on=None)
    if lock:
        therapies = therapies.select_for_update()
    therapy = therapies.first()
    if therapy is None:
        raise AssessmentError("This client is not in therapy now.")
    return therapy


# --- Goals ----------------------------------------------------------------------------------


@transaction.atomic
def goal_add(*, referral: Referral, user, description: str, score: int, rated_on: date) -> Goal:
    _same_service(user, referral)
    description = (description or "").strip()
    if not description:
        raise AssessmentError("Enter the goal in the client's words", field="description")
    if not 0 <= score <= 10:
        raise AssessmentError("The rating must be a whole number from 0 to 10", field="score")
    Referral.objects.select_for_update().filter(pk=referral.pk).first()
    active = Goal.objects.filter(referral=referral, status=Goal.Status.ACTIVE).count()
    if active >= MAX_ACTIVE_GOALS:
        raise AssessmentError(
            f"There are already {MAX_ACTIVE_GOALS} goals being worked on. Close one before "
            "adding another: three at once keeps them meaningful.",
            field="description",
        )
    goal = Goal.objects.create(
        service_id=referral.service_id,
        referral=referral,
        description=description,
        agreed_on=rated_on,
        created_by=user,
    )
    GoalRating.objects.create(goal=goal, score=score, rated_on=rated_on, recorded_by=user)
    return goal


@transaction.atomic
def goal_ratings_record(
    *, referral: Referral, user, ratings: dict[Goal, int], rated_on: date
) -> list[GoalRating]:
    _same_service(user, referral)
    if not ratings:
        raise AssessmentError("Enter a rating for at least one goal")
    created = []
    for goal, score in ratings.items():
        field = f"goal_{goal.public_id}"
        if goal.referral_id != referral.pk or goal.status != Goal.Status.ACTIVE:
            raise AssessmentError("One of these goals is no longer being worked on.", field=field)
        if not 0 <= score <= 10:
            raise AssessmentError("Ratings must be whole numbers from 0 to 10", field=field)
        if rated_on < goal.agreed_on:
            raise AssessmentError(
                f"'{goal.description[:40]}' was agreed on {goal.agreed_on:%-d %B %Y}: the "
                "ratings cannot be earlier than that",
                field="rated_on",
            )
        if goal.ratings.filter(rated_on=rated_on).exists():
            raise AssessmentError(
                f"'{goal.description[:40]}' already has a rating on {rated_on:%-d %B %Y}",
                field=field,
            )
        created.append(
            GoalRating.objects.create(goal=goal, score=score, rated_on=rated_on, recorded_by=user)
        )
    return created


@transaction.atomic
def goal_close(*, goal: Goal, user, reason: str, today: date | None = None) -> Goal:
    _same_service(user, goal.referral)
    reason = (reason or "").strip()
    if not reason:
        raise AssessmentError("Enter why this goal is no longer being worked on", field="reason")
    locked = Goal.objects.select_for_update().get(pk=goal.pk)
    if locked.status != Goal.Status.ACTIVE:
        raise AssessmentError("This goal was already closed.")
    locked.status = Goal.Status.CLOSED
    locked.closed_on = today or timezone.localdate()
    locked.close_reason = reason[:300]
    locked.save(update_fields=["status", "closed_on", "close_reason", "updated_at"])
    return locked


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
    from assessment.forms import NOTIFIED_BREAKS

    known = {b["id"] for b in (previous.breaks if previous else [])}
    for item in plan.breaks:
        if item["id"] in known or item["kind"] not in NOTIFIED_BREAKS:
            continue
        ends_on = date.fromisoformat(item["ends_on"])
        _queue(
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
        raise AssessmentError("Select one of this service's sites.", field="site")
    if previous is not None and _normalise(_plan_values(previous)) == values:
        raise AssessmentError(
            "Nothing in the plan has changed, so no new version was made.", field="reason"
        )
    reason = (reason or "").strip() or ("First plan agreed" if previous is None else "")
    if not reason:
        raise AssessmentError("Say why the plan is changing", field="reason")
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
        raise AssessmentError(
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
        raise AssessmentError("Select a fixed number of sessions or open-ended", field="length")
    if values["length"] == SessionPlan.Length.FIXED and not values.get("session_count"):
        raise AssessmentError("Enter the number of sessions", field="session_count")
    per_week = values.get("sessions_per_week")
    if not isinstance(per_week, int) or not 1 <= per_week <= 5:
        raise AssessmentError("Sessions a week must be from 1 to 5", field="sessions_per_week")
    times = values.get("regular_times") or []
    if len(times) != per_week or len({t["weekday"] for t in times}) != per_week:
        raise AssessmentError(
            "Give a different day and a time for each session of the week", field="day_1"
        )
    if values.get("mode") not in Mode.values:
        raise AssessmentError("Select in person, video call or telephone", field="mode")
    if not values.get("starts_on"):
        raise AssessmentError("Enter the start date", field="starts_on")
    if values.get("ends_on") and values["ends_on"] <= values["starts_on"]:
        raise AssessmentError(
            "The planned ending date must be after the start date", field="ends_on"
        )
    unknown = set(values.get("repeat_measures") or []) - set(measures.MEASURES)
    if unknown or not values.get("repeat_measures"):
        raise AssessmentError(
            "Select at least one questionnaire to repeat", field="repeat_measures"
        )


def _plan_current_or_error(referral: Referral) -> SessionPlan:
    plan = SessionPlan.objects.filter(referral=referral).order_by("-version").first()
    if plan is None:
        raise AssessmentError("Agree a session plan before adding breaks.")
    return plan


@transaction.atomic
def session_plan_break_add(
    *, referral: Referral, user, starts_on: date, ends_on: date, kind: str, note: str = ""
) -> SessionPlan:
    """A planned break is a new plan version; the client is sent notice of a break the
    service decides (leave, closures), not of their own holiday."""
    from assessment.forms import BREAK_KIND_NAMES

    _same_service(user, referral)
    plan = _plan_current_or_error(referral)
    if kind not in BREAK_KIND_NAMES:
        raise AssessmentError("Select what the break is for", field="kind")
    if ends_on < starts_on:
        raise AssessmentError(
            "The last day of the break must be on or after the first", field="ends_on"
        )
    if starts_on < plan.starts_on:
        raise AssessmentError(
            f"The break must start on or after the plan's start date, {plan.starts_on:%-d %B %Y}",
            field="starts_on",
        )
    if plan.ends_on and starts_on > plan.ends_on:
        raise AssessmentError(
            f"The break starts after the planned ending on {plan.ends_on:%-d %B %Y}",
            field="starts_on",
        )
    for other in plan.breaks:
        if starts_on <= date.fromisoformat(other["ends_on"]) and ends_on >= date.fromisoformat(
            other["starts_on"]
        ):
            raise AssessmentError(
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
        raise AssessmentError("Say why the break is being removed", field="reason")
    remaining = [b for b in plan.breaks if b["id"] != break_id]
    if len(remaining) == len(plan.breaks):
        raise AssessmentError("That break is not in the current plan.")
    values = _plan_values(plan)
    values["breaks"] = remaining
    return _plan_version_create(
        referral=referral, user=user, values=values, reason=f"Break removed: {reason}"
    )


# --- Sessions, repeated questionnaires and progress ---------------------------------------


def missed_in_a_row(sessions: Sequence[TherapySession]) -> tuple[int, date | None]:
    """How many of the latest sessions the client did not attend, in a row, and the date
    of the first of them. A session the service cancelled neither counts nor breaks the
    run; one the client attended or cancelled themselves (they were in touch) ends it."""
    count, first = 0, None
    for session in sorted(sessions, key=lambda s: s.occurred_on, reverse=True):
        if session.attendance == TherapySession.Attendance.CANCELLED_BY_SERVICE:
            continue
        if session.attendance != TherapySession.Attendance.DID_NOT_ATTEND:
            break
        count += 1
        first = session.occurred_on
    return count, first


def attended_since_measures(referral: Referral) -> int:
    """Attended sessions since the last one with repeated questionnaires."""
    last = (
        TherapySession.objects.filter(referral=referral, measure_responses__isnull=False)
        .order_by("-occurred_on")
        .values_list("occurred_on", flat=True)
        .first()
    )
    attended = TherapySession.objects.filter(
        referral=referral, attendance=TherapySession.Attendance.ATTENDED
    )
    if last is not None:
        attended = attended.filter(occurred_on__gt=last)
    return attended.count()


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
    therapy = _current_therapy(referral)
    if therapy.therapist_id != user.pk:
        raise AssessmentError("Only the client's therapist records their sessions.")
    if attendance not in TherapySession.Attendance.values:
        raise AssessmentError("Select whether the client attended", field="attendance")
    if occurred_on < therapy.started_on:
        raise AssessmentError(
            f"Therapy with you started on {therapy.started_on:%-d %B %Y}: the session date "
            "cannot be earlier",
            field="occurred_on",
        )
    if TherapySession.objects.filter(referral=referral, occurred_on=occurred_on).exists():
        raise AssessmentError(
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
    plan = SessionPlan.objects.filter(referral=referral).order_by("-version").first()
    every = plan.measures_every_sessions if plan else 4
    since = attended_since_measures(referral)
    due = attendance == TherapySession.Attendance.ATTENDED and since >= every
    if attendance == TherapySession.Attendance.ATTENDED and plan and since == every - 1:
        # The next attended session is the one for questionnaires: a gentle reminder.
        next_on = _next_session_on(plan, occurred_on)
        _queue(
            kind="questionnaire_reminder",
            referral=referral,
            occurrence=f"after-session-{session.public_id}",
            context={"due_on": next_on, "questionnaire_link": ""},
            send_after=_daytime(timezone.now()),
        )
    missed, _ = missed_in_a_row(list(TherapySession.objects.filter(referral=referral)))
    return SessionRecorded(session=session, measures_due=due, missed_in_a_row=missed)


def _time_points(referral: Referral) -> list[tracking.TimePoint]:
    by_day: dict[date, dict[str, int]] = {}
    for response in MeasureResponse.objects.filter(
        referral=referral, measure__in=[measures.PHQ9, measures.GAD7], total__isnull=False
    ).order_by("completed_at", "id"):
        day = timezone.localtime(response.completed_at).date()
        by_day.setdefault(day, {})[response.measure] = int(response.total)
    return [
        tracking.TimePoint(on=day, phq9=values.get(measures.PHQ9), gad7=values.get(measures.GAD7))
        for day, values in sorted(by_day.items())
    ]


def assessment_baseline(referral: Referral) -> tracking.TimePoint | None:
    """The assessment's PHQ-9 and GAD-7 (entered or reused), when both were scored."""
    rows = {
        row.measure: row.response
        for row in AssessmentMeasure.objects.filter(
            assessment__referral=referral,
            measure__in=[measures.PHQ9, measures.GAD7],
            response__isnull=False,
            response__total__isnull=False,
        ).select_related("response")
    }
    if len(rows) < 2:
        return None
    day = max(timezone.localtime(r.completed_at).date() for r in rows.values())
    return tracking.TimePoint(
        on=day, phq9=int(rows[measures.PHQ9].total), gad7=int(rows[measures.GAD7].total)
    )


def progress_evaluations(referral: Referral) -> list[tracking.Evaluation]:
    plan = SessionPlan.objects.filter(referral=referral).order_by("-version").first()
    reviews = [date.fromisoformat(d) for d in (plan.review_dates if plan else [])]
    return tracking.evaluate_series(
        _time_points(referral), review_dates=reviews, baseline=assessment_baseline(referral)
    )


def _progress_flags_raise(referral: Referral) -> list[ProgressFlag]:
    evaluations = [e for e in progress_evaluations(referral) if e.change is not None]
    if not evaluations:
        return []
    latest = evaluations[-1]
    change = latest.change
    numbers = (
        f"PHQ-9 {change.phq9_change:+d}, GAD-7 {change.gad7_change:+d} since the start "
        f"({latest.point.on:%-d %B %Y})"
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
        raise AssessmentError("Only the client's therapist records their questionnaires.")
    if session.referral_id != referral.pk:
        raise AssessmentError("That session belongs to another client.")
    if session.attendance != TherapySession.Attendance.ATTENDED:
        raise AssessmentError("Questionnaires can be recorded only for a session that happened.")
    if session.measure_responses.exists():
        raise AssessmentError("The questionnaires for this session are already recorded.")
    if not results:
        raise AssessmentError("Record at least one questionnaire, or go back without saving.")
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
                session=session,
                recorded_by=user,
            )
        except measures.MeasureError as error:
            raise AssessmentError(f"{measure.name}: {error}") from None
        responses.append(response)
        risk.extend(flags)
    _risk_alert(referral, risk, occurrence=f"session-{session.public_id}")
    progress = _progress_flags_raise(referral)
    return MeasuresRecorded(responses=responses, risk_flags=risk, progress_flags=progress)


@transaction.atomic
def progress_flag_review(*, flag: ProgressFlag, user, note: str) -> ProgressFlag:
    _same_service(user, flag.referral)
    note = (note or "").strip()
    if not note:
        raise AssessmentError("Enter what you and the client made of it", field="note")
    locked = ProgressFlag.objects.select_for_update().get(pk=flag.pk)
    if not locked.is_open:
        raise AssessmentError("This flag was already reviewed.")
    locked.reviewed_at = timezone.now()
    locked.reviewed_by = user
    locked.review_note = note
    locked.save(update_fields=["reviewed_at", "reviewed_by", "review_note", "updated_at"])
    return locked


# --- Non-attendance and endings -----------------------------------------------------------

MISSED_BEFORE_POLICY = 2


@dataclass(frozen=True)
class NonAttendance:
    missed_in_a_row: int
    run_started_on: date | None
    letter_step: NonAttendanceStep | None

    @property
    def policy_applies(self) -> bool:
        return self.missed_in_a_row >= MISSED_BEFORE_POLICY

    @property
    def letter_due(self) -> bool:
        return self.policy_applies and self.letter_step is None

    @property
    def discharge_possible(self) -> bool:
        return self.policy_applies and self.letter_step is not None


def non_attendance_state(referral: Referral) -> NonAttendance:
    missed, started = missed_in_a_row(list(TherapySession.objects.filter(referral=referral)))
    letter = None
    if started is not None:
        letter = (
            NonAttendanceStep.objects.filter(
                referral=referral,
                step=NonAttendanceStep.Step.LETTER,
                created_at__date__gte=started,
            )
            .order_by("-created_at")
            .first()
        )
    return NonAttendance(missed, started, letter)


@transaction.atomic
def non_attendance_letter_send(*, referral: Referral, user, note: str = "") -> NonAttendanceStep:
    """The first step of the policy: write to the client asking them to get in touch."""
    _same_service(user, referral)
    therapy = _current_therapy(referral, lock=True)
    state = non_attendance_state(referral)
    if not state.policy_applies:
        raise AssessmentError(
            f"The non-attendance policy starts after {MISSED_BEFORE_POLICY} missed sessions "
            "in a row."
        )
    if state.letter_step is not None:
        raise AssessmentError("The letter for these missed sessions was already sent.")
    queued = False
    if _kind_available(NON_ATTENDANCE_LETTER_KIND):
        _queue(
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
        raise AssessmentError(
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
    _queue(
        kind="discharge_non_attendance",
        referral=referral,
        occurrence="discharge",
        context={"missed_count": state.missed_in_a_row, "last_offered_on": last_missed},
    )
    if _gp_share_ok(referral):
        _queue(
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
        raise AssessmentError("Only the client's therapist records the ending.")
    if last_session_on < therapy.started_on:
        raise AssessmentError(
            f"Therapy started on {therapy.started_on:%-d %B %Y}: the last session cannot be "
            "earlier",
            field="last_session_on",
        )
    if not (plan or "").strip():
        raise AssessmentError("Enter the plan for if things become difficult again", field="plan")
    attended = TherapySession.objects.filter(
        referral=referral, attendance=TherapySession.Attendance.ATTENDED
    ).count()
    therapy.ended_on = last_session_on
    therapy.end_reason = Therapy.EndReason.COMPLETED
    therapy.save(update_fields=["ended_on", "end_reason", "updated_at"])
    _referral_status_set(
        referral=referral, status=Referral.Status.ENDED, from_statuses=(Referral.Status.IN_THERAPY,)
    )
    _queue(
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
    if _gp_share_ok(referral):
        _queue(
            kind="gp_letter",
            referral=referral,
            recipient="gp",
            occurrence="ending",
            context={"stage": "ending", "summary": (gp_summary or "").strip()},
        )
    return therapy
