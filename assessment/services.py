"""Writes for assessment: questionnaires and risk flags, booking and finishing the
assessment, and addenda. Therapy's writes are in therapy/services.py.

Top-level services are atomic and keyword-only. Letters and alerts are queued through the
notifications outbox inside the same transaction, so they leave only if it commits.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

import measures
from assessment.models import (
    Assessment,
    AssessmentAddendum,
    AssessmentAppointment,
    AssessmentMeasure,
    Mode,
    RiskAnswer,
    SectionStatus,
)
from common.errors import ServiceError
from intake.clinical_record import (
    RISK_TO_SELF_SOURCES,
    measure_response_record,
    risk_alert_queue,
    risk_signal_record,
)
from intake.models import MeasureResponse, Referral, RiskFlag
from intake.selectors import gp_share_ok
from notifications import kinds
from notifications.outbox import notification_queue

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
WAITING_FOR_ASSESSMENT = (Referral.Status.SUBMITTED, Referral.Status.ASSESSMENT_BOOKED)
# Message kinds this app would use but the notifications app does not define yet; they are
# queued as soon as it does (see docs/assessment.md).
ASSESSMENT_OUTCOME_KIND = "assessment_outcome"


class AssessmentError(ServiceError):
    """A change to an assessment that cannot be made now (common.errors.ServiceError)."""


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
    notification_queue(
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
    risk_alert_queue(referral, flags, occurrence=f"assessment-{locked.public_id}")
    _referral_status_set(
        referral=referral,
        status=_status_after(answers),
        from_statuses=WAITING_FOR_ASSESSMENT,
        risk_level=level,
    )
    if gp_share_ok(referral=referral):
        notification_queue(
            kind="gp_letter",
            referral=referral,
            recipient="gp",
            occurrence="assessment",
            context={"stage": "assessment", "summary": answers.get("letters_gp_summary", "")},
        )
    if kinds.is_registered(ASSESSMENT_OUTCOME_KIND):
        notification_queue(
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
