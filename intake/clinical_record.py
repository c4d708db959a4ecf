"""Writes to the referral's clinical record: questionnaires answered and the risk flags they
raise, with their acknowledgement.

Every app that records a questionnaire or a risk signal comes here: the self-referral and the
partner API at submission (intake.services), the assessment (assessment.services) and the
reviews during therapy. One rule for all of them: one risk is one flag (risk_signal_record).
Alerts about new flags are queued by the caller, which knows the occasion.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import measures
from intake.models import MeasureResponse, Referral, RiskFlag, RiskFlagRepeat

RISK_SOURCES = {
    (measures.PHQ9, 9): (RiskFlag.Source.PHQ9_ITEM9, "PHQ-9 item 9"),
    (measures.CORE10, 6): (RiskFlag.Source.CORE10_ITEM6, "CORE-10 item 6"),
}
OCCASIONS = {
    MeasureResponse.Context.SELF_REFERRAL: "in the referral",  # online or from a partner
    MeasureResponse.Context.ASSESSMENT: "at assessment",
    MeasureResponse.Context.REVIEW: "at a review during therapy",
    MeasureResponse.Context.PORTAL: "online in the client portal, during therapy",
}
# Signals of risk to self. The assessor's overall level, when it names no other area of
# risk, is the same risk as these, not a new one.
RISK_TO_SELF_SOURCES = (
    RiskFlag.Source.SAFETY_QUESTION,
    RiskFlag.Source.PHQ9_ITEM9,
    RiskFlag.Source.CORE10_ITEM6,
    RiskFlag.Source.ASSESSMENT,
)
FIRST_TIME = "First time this risk was recorded for this referral"


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
    recorded_by=None,
) -> tuple[MeasureResponse, list[RiskFlag]]:
    """Score and store one questionnaire; raise a flag for every risk item endorsed.

    Raises measures.MeasureError for answers that do not fit the measure.
    """
    result = measures.score(measure, list(answers))
    response = _measure_response(
        referral, result, list(answers), context, completed_at or timezone.now()
    )
    response.recorded_by = recorded_by
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


def risk_alert_queue(referral: Referral, flags: list[RiskFlag], occurrence: str) -> None:
    """Tell the duty inbox about new flags raised at an assessment or a review, once per
    occasion (repeats linked to an open flag send nothing)."""
    if flags:
        from notifications.outbox import notification_queue

        notification_queue(
            kind="risk_alert",
            referral=referral,
            recipient="duty_inbox",
            occurrence=occurrence,
            context={
                "reasons": [f"{flag.detail}: {flag.reason}" for flag in flags],
                "raised_at": timezone.now(),
            },
        )
