"""Writes for allocation's proposal runs, and the error every allocation write raises.

A run is the matching engine over one service's waiting list. Whatever changes who is
waiting or who is free marks the service's proposals stale (`proposals_mark_stale`, inside
the caller's transaction; intake calls `proposals_refresh` when a referral becomes ready);
`proposal_run_request` queues one run per service at a time, published on commit, and
`proposal_run_execute` (a worker) builds the problem, solves it and writes the proposals.
`AllocationError` carries a message staff see and the form field it belongs to. The
coordinator's decisions on proposals are `allocation/decisions.py`; therapist profiles,
slots and leave `allocation/therapists.py`.
"""

from __future__ import annotations

import datetime as dt
import logging
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from allocation import engine, engine_input
from allocation.models import (
    Proposal,
    ProposalRun,
    WeeklySlot,
)
from common.errors import ServiceError
from intake.models import Referral

logger = logging.getLogger("threshold.allocation")

# How long a queued run may wait for a worker before asking for it again would re-publish
# its task (a message lost between commit and publish, or a broker restart).
REPUBLISH_AFTER = dt.timedelta(minutes=2)


class AllocationError(ServiceError):
    """A change to allocation that cannot be made now (common.errors.ServiceError)."""


def _same_service(user, service_id: int) -> None:
    # Views reach rows only through scoped selectors; this guards every other caller.
    if user is None or user.service_id is None or user.service_id != service_id:
        raise AllocationError("This belongs to another service.")


# --- Staleness and runs -----------------------------------------------------------------------


def proposals_mark_stale(*, service_id: int, reason: str) -> int:
    """The service's proposal sets (finished, or being worked out now) no longer reflect
    its referrals, capacity or leave. The page says so until the next run."""
    return ProposalRun.objects.filter(
        service_id=service_id,
        status__in=(ProposalRun.Status.RUNNING, ProposalRun.Status.DONE),
        stale_since__isnull=True,
    ).update(stale_since=timezone.now(), stale_reason=reason[:200])


def proposals_refresh(*, service_id: int, reason: str, run: bool = False) -> None:
    """Inputs of the allocation changed (a new referral, one ready for allocation): mark the
    proposals stale and, with ``run``, queue a fresh run once the caller commits."""
    proposals_mark_stale(service_id=service_id, reason=reason)
    if run:
        proposal_run_request(service_id=service_id, trigger=ProposalRun.Trigger.REFERRAL_READY)


@transaction.atomic
def proposal_run_request(*, service_id: int, trigger: str, user=None) -> ProposalRun:
    """Queue a run of the engine over the service's waiting list, published on commit.

    A run already queued (not started) reads the waiting list when it starts, so it serves
    this request too: at most one run per service waits at a time (a partial unique index).
    """
    if user is not None:
        _same_service(user, service_id)
    queued = ProposalRun.objects.filter(service_id=service_id, status=ProposalRun.Status.QUEUED)
    existing = queued.first()
    if existing is None:
        try:
            with transaction.atomic():
                existing = ProposalRun.objects.create(
                    service_id=service_id,
                    trigger=trigger,
                    requested_by=user,
                    phase="Waiting for a worker to start",
                )
        except IntegrityError:  # a concurrent request queued one first
            return queued.get()
        run_id = existing.public_id
        transaction.on_commit(lambda: _publish(run_id))
    elif existing.created_at < timezone.now() - REPUBLISH_AFTER:
        run_id = existing.public_id
        transaction.on_commit(lambda: _publish(run_id))
    return existing


def _publish(run_id: UUID) -> None:
    """Hand the run to a worker. Never raises: the run row stays queued, and the next
    request or the nightly run publishes it again."""
    from allocation.tasks import allocation_propose

    try:
        allocation_propose.apply_async(
            args=[str(run_id)], retry_policy={"max_retries": 1, "interval_start": 0}
        )
    except Exception:
        logger.warning("allocation run %s: could not be published", run_id, exc_info=True)


def proposal_runs_nightly() -> list[ProposalRun]:
    """A run for every service with someone waiting for a therapist (the beat schedule)."""
    from common.models import Service

    services = Service.objects.filter(
        referrals__status=Referral.Status.AWAITING_ALLOCATION
    ).distinct()
    return [
        proposal_run_request(service_id=service.pk, trigger=ProposalRun.Trigger.NIGHTLY)
        for service in services
    ]


def _progress(run: ProposalRun, **values) -> None:
    # Outside any transaction, so the coordinator's page sees each step as it happens.
    ProposalRun.objects.filter(pk=run.pk).update(**values)


def proposal_run_execute(*, run_id: UUID) -> ProposalRun | None:
    """Run the engine for a queued run and write its proposal set. Idempotent.

    The run is claimed with a conditional UPDATE (queued -> running, or a running claim old
    enough that its worker must have died), so a repeated or redelivered task does nothing.
    Malformed or inconsistent data fails the run with a message naming the record; an
    empty waiting list or a service without therapists is a normal, empty result.
    """
    from celery.exceptions import SoftTimeLimitExceeded

    now = timezone.now()
    abandoned = now - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 30)
    claimed = (
        ProposalRun.objects.filter(public_id=run_id)
        .filter(
            Q(status=ProposalRun.Status.QUEUED)
            | Q(status=ProposalRun.Status.RUNNING, started_at__lt=abandoned)
        )
        .update(
            status=ProposalRun.Status.RUNNING,
            started_at=now,
            attempts=F("attempts") + 1,
            phase="Reading the waiting list and the therapists' profiles",
            error="",
        )
    )
    if not claimed:
        return None
    run = ProposalRun.objects.select_related("service").get(public_id=run_id)
    labels: dict[str, str] = {}
    try:
        built = engine_input.allocation_problem(service=run.service)
        labels = built.labels
        _progress(
            run,
            considered=len(built.data["referrals"]) + len(built.left_out),
            therapists=len(built.data["therapists"]),
            phase="Checking the data",
        )
        problem = engine.parse_problem(built.data)
        _progress(run, phase="Finding the best allocation for everyone waiting")
        result = engine.solve(problem)
        _progress(run, placed=len(result.assignments), phase="Saving the proposals")
        _proposals_write(run, built, result)
    except engine.ProblemError as error:
        message = _words(_slot_words(str(error), labels), run.service)
        _fail(run, f"The data could not be used: {message}")
    except SoftTimeLimitExceeded:
        _fail(run, "The run took longer than its time limit and was stopped. Try again later.")
    except Exception:
        logger.exception("allocation run %s failed", run_id)
        _fail(run, "Something went wrong while working out the proposals. Try again later.")
    return ProposalRun.objects.get(pk=run.pk)


def _fail(run: ProposalRun, message: str) -> None:
    ProposalRun.objects.filter(pk=run.pk).update(
        status=ProposalRun.Status.FAILED,
        finished_at=timezone.now(),
        error=message,
        phase="Stopped",
    )


def _slot_words(text: str, labels: dict[str, str]) -> str:
    """An engine error for people: slot ids (UUIDs) as their day and time."""
    for key, label in labels.items():
        if key in text:
            text = text.replace(f"'{key}'", label)
    return text


def _words(text: str, service) -> str:
    """Engine text for people: the service as 'this service'."""
    return text.replace(f"in service '{service.slug}'", "in this service").replace(
        f"service '{service.slug}'", "this service"
    )


@transaction.atomic
def _proposals_write(run: ProposalRun, built: engine_input.ProblemInput, result) -> None:
    locked = ProposalRun.objects.select_for_update().get(pk=run.pk)
    if locked.status != ProposalRun.Status.RUNNING:
        return
    Proposal.objects.filter(run=locked).delete()  # a previous attempt's partial work
    service = run.service
    rows = []
    for a in result.assignments:
        rows.append(
            Proposal(
                service_id=service.pk,
                run=locked,
                referral_id=built.referrals[a.referral],
                therapist_id=built.therapists[a.therapist],
                slots=[slot_json(built.slots[s.id]) for s in a.slots],
                priority=a.priority,
                fit=a.fit,
                reasons=[_words(r, service) for r in a.reasons],
            )
        )
    for u in result.unplaced:
        rows.append(
            Proposal(
                service_id=service.pk,
                run=locked,
                referral_id=built.referrals[u.referral],
                priority=u.priority,
                reasons=[_words(r, service) for r in u.reasons],
                suggestions=[_words(s, service) for s in u.suggestions],
            )
        )
    for referral_id, why in built.left_out.items():
        rows.append(
            Proposal(
                service_id=service.pk,
                run=locked,
                referral_id=referral_id,
                reasons=[f"Not matched: the client {why}."],
                suggestions=["Record a site for the service, or agree remote sessions."],
            )
        )
    Proposal.objects.bulk_create(rows, batch_size=1000)
    objective = dict(result.objective)
    locked.status = ProposalRun.Status.DONE
    locked.finished_at = timezone.now()
    locked.placed = len(result.assignments)
    locked.objective = objective
    locked.stats = dict(result.stats)
    locked.phase = "Finished"
    locked.save()


def slot_json(slot: WeeklySlot) -> dict:
    return {
        "slot": str(slot.public_id),
        "weekday": slot.weekday,
        "start": f"{slot.start:%H:%M}",
        "length": slot.length_minutes,
        "site": slot.site.name if slot.site_id else "",
    }
