"""Writes for allocation: therapist profiles, weekly slots and leave; proposal runs (the
matching engine over a service's waiting list); and the coordinator's decisions on them:
accept, choose another therapist, hold.

Top-level services are atomic and keyword-only. Allocating locks the therapist's row first
and the referral's second (always in that order, so two coordinators never deadlock), counts
the caseload and checks the slots under that lock, and a partial unique index on booked
slots backs it up: a caseload is never overfilled and a slot never booked twice. The
allocation letter goes through the notifications outbox, so it leaves only on commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from allocation import engine, selectors
from allocation.models import (
    Allocation,
    AllocationSlot,
    Hold,
    LeavePeriod,
    Proposal,
    ProposalRun,
    Therapist,
    WeeklySlot,
)
from common import roles
from intake.models import Referral

logger = logging.getLogger("threshold.allocation")

MAX_CAPACITY = 200
FREQUENCY_WORDS = {1: "once a week", 2: "twice a week"}
# How long a queued run may wait for a worker before asking for it again would re-publish
# its task (a message lost between commit and publish, or a broker restart).
REPUBLISH_AFTER = dt.timedelta(minutes=2)


class AllocationError(ValueError):
    """Something a member of staff asked for that cannot be done now. The message says why
    and what to do; `field` names the form field it belongs to, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _same_service(user, service_id: int) -> None:
    # Views reach rows only through scoped selectors; this guards every other caller.
    if user is None or user.service_id is None or user.service_id != service_id:
        raise AllocationError("This belongs to another service.")


def can_edit_therapist(*, user, therapist: Therapist) -> bool:
    """Service admins keep every profile of their service; a therapist keeps their own."""
    if user.service_id != therapist.service_id:
        return False
    if user.has_role(roles.SERVICE_ADMIN):
        return True
    return user.has_role(roles.THERAPIST) and therapist.user_id == user.pk


def _require_editor(user, therapist: Therapist) -> None:
    if not can_edit_therapist(user=user, therapist=therapist):
        raise AllocationError("Only a service administrator or the therapist can change this.")


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
        built = selectors.allocation_problem(service=run.service)
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
def _proposals_write(run: ProposalRun, built: selectors.ProblemInput, result) -> None:
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
                slots=[_slot_json(built.slots[s.id]) for s in a.slots],
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


def _slot_json(slot: WeeklySlot) -> dict:
    return {
        "slot": str(slot.public_id),
        "weekday": slot.weekday,
        "start": f"{slot.start:%H:%M}",
        "length": slot.length_minutes,
        "site": slot.site.name if slot.site_id else "",
    }


# --- Allocating -------------------------------------------------------------------------------


def first_appointment_for(
    *, therapist: Therapist, slots: Sequence[WeeklySlot], today: dt.date | None = None
) -> dt.datetime:
    """The first session: the earliest of the slots' days at least NOTICE_DAYS ahead (so
    the letter arrives first) that is not during the therapist's leave."""
    today = today or timezone.localdate()
    earliest = today + dt.timedelta(days=selectors.NOTICE_DAYS)
    leave = list(therapist.leave.filter(ends_on__gte=earliest))
    best = None
    for slot in slots:
        day = earliest + dt.timedelta(days=(slot.weekday - earliest.weekday()) % 7)
        for _ in range(60):  # a year of weeks: leave never lasts that long in practice
            if not any(p.starts_on <= day <= p.ends_on for p in leave):
                break
            day += dt.timedelta(days=7)
        moment = (day, slot.start)
        if best is None or moment < best:
            best = moment
    return timezone.make_aware(dt.datetime.combine(*best))


def _first_appointment_on(
    therapist: Therapist, slots: Sequence[WeeklySlot], day: dt.date
) -> dt.datetime:
    if day <= timezone.localdate():
        raise AllocationError(
            "The first appointment must be in the future", field="first_appointment"
        )
    matching = [s for s in slots if s.weekday == day.weekday()]
    if not matching:
        days = " or ".join(sorted({engine.DAY_NAMES[s.weekday] for s in slots}))
        raise AllocationError(
            f"The first appointment must be on a {days}, the day of the regular time",
            field="first_appointment",
        )
    away = therapist.leave.filter(starts_on__lte=day, ends_on__gte=day).first()
    if away is not None:
        raise AllocationError(
            f"{therapist.display_name} is on leave from {away.starts_on:%-d %B} to "
            f"{away.ends_on:%-d %B %Y}. Choose a date after that",
            field="first_appointment",
        )
    return timezone.make_aware(dt.datetime.combine(day, matching[0].start))


def _release_finished(therapist: Therapist) -> None:
    """Allocations whose referral has ended (or was withdrawn) give back their place and
    slots; done under the therapist's lock, before counting."""
    finished = Allocation.objects.filter(
        therapist=therapist, status=Allocation.Status.ACTIVE
    ).exclude(referral__status__in=selectors.HOLDING_STATUSES)
    ids = list(finished.values_list("pk", flat=True))
    if ids:
        Allocation.objects.filter(pk__in=ids).update(
            status=Allocation.Status.ENDED, ended_at=timezone.now()
        )
        AllocationSlot.objects.filter(allocation_id__in=ids).update(active=False)


def _allocate(
    *,
    referral: Referral,
    therapist_id: int,
    slot_ids: Sequence[int],
    user,
    source: str,
    proposal: Proposal | None = None,
    override_reason: str = "",
    first_appointment: dt.date | None = None,
) -> Allocation:
    _same_service(user, referral.service_id)
    # Lock order: therapist, then referral. Everyone allocating to this therapist waits
    # here, so the caseload count and the slot check below cannot go stale before commit.
    therapist = (
        Therapist.objects.select_for_update().filter(pk=therapist_id).first()
        if therapist_id
        else None
    )
    if therapist is None or therapist.service_id != referral.service_id:
        raise AllocationError("Choose a therapist from this service.", field="slots")
    current = Referral.objects.select_for_update().get(pk=referral.pk)
    if current.status != Referral.Status.AWAITING_ALLOCATION:
        raise AllocationError(
            f"{current.reference} is now '{current.get_status_display()}', so it cannot be "
            "allocated again. Nothing was changed."
        )
    if Hold.objects.filter(referral=current, released_at__isnull=True).exists():
        raise AllocationError(f"{current.reference} is on hold. Release the hold first.")
    _release_finished(therapist)
    caseload = selectors.allocations_holding(service_id=therapist.service_id).filter(
        therapist=therapist
    )
    count = caseload.count()
    if count >= therapist.capacity:
        raise AllocationError(
            f"{therapist.display_name} has no free place now: {count} clients against a "
            f"capacity of {therapist.capacity}. Nothing was changed; run the allocation "
            "again for a new proposal.",
            field="slots",
        )
    slots = list(
        WeeklySlot.objects.filter(pk__in=set(slot_ids), therapist=therapist).select_related("site")
    )
    if not slot_ids or len(slots) != len(set(slot_ids)):
        raise AllocationError(
            f"A proposed slot of {therapist.display_name} no longer exists. Run the "
            "allocation again for a new proposal.",
            field="slots",
        )
    if len({s.weekday for s in slots}) != len(slots):
        raise AllocationError("Choose slots on different days: one session a day.", field="slots")
    booking = (
        AllocationSlot.objects.filter(slot__in=slots, active=True).select_related("slot").first()
    )
    if booking is not None:
        raise AllocationError(
            f"{therapist.display_name}'s {booking.slot} slot has just been booked for "
            "someone else. Nothing was changed; run the allocation again for a new proposal.",
            field="slots",
        )
    slots.sort(key=lambda s: (s.weekday, s.start))
    if first_appointment is None:
        first = first_appointment_for(therapist=therapist, slots=slots)
    else:
        first = _first_appointment_on(therapist, slots, first_appointment)
    allocation = Allocation.objects.create(
        service_id=referral.service_id,
        referral=current,
        therapist=therapist,
        source=source,
        proposal=proposal,
        override_reason=override_reason,
        regular_times=[_slot_json(s) for s in slots],
        first_appointment_at=first,
        allocated_by=user,
        allocated_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            AllocationSlot.objects.bulk_create(
                AllocationSlot(allocation=allocation, slot=s) for s in slots
            )
    except IntegrityError:  # the unique index: booked by a transaction we did not see
        raise AllocationError(
            "One of these slots has just been booked for someone else. Nothing was changed.",
            field="slots",
        ) from None
    allocation.session_plan_version = _session_plan_set(current, user, slots, first)
    allocation.save(update_fields=["session_plan_version", "updated_at"])
    from intake.services import referral_status_set

    referral_status_set(
        referral=current,
        status=Referral.Status.ALLOCATED,
        from_statuses=(Referral.Status.AWAITING_ALLOCATION,),
    )
    referral.status = current.status
    _letter(allocation, current, therapist, slots, first)
    return allocation


def _session_plan_set(referral, user, slots: Sequence[WeeklySlot], first: dt.datetime):
    """Put the regular time(s) in the session plan through assessment's service: a new
    version of the current plan, or a first, open-ended plan the therapist then completes
    with the client. Returns the plan's version (None if assessment offers no plan)."""
    try:
        from assessment import selectors as plan_reads
        from assessment import services as plans
        from assessment.models import Mode
    except ImportError:
        return None
    if not hasattr(plans, "session_plan_save"):
        return None
    times = [{"weekday": s.weekday, "time": f"{s.start:%H:%M}"} for s in slots]
    in_person = [s for s in slots if s.site_id]
    place = {
        "mode": Mode.IN_PERSON if in_person else Mode.VIDEO,
        "site": in_person[0].site if in_person else None,
    }
    current = plan_reads.session_plan_current(referral)
    if current is not None:
        values = {name: getattr(current, name) for name in plans.PLAN_FIELDS}
        if values["regular_times"] == times and values["sessions_per_week"] == len(slots):
            return current.version
        values.update(regular_times=times, sessions_per_week=len(slots), **place)
    else:
        values = {
            "length": "open_ended",
            "session_count": None,
            "sessions_per_week": len(slots),
            "regular_times": times,
            "room": "",
            "starts_on": timezone.localtime(first).date(),
            "ends_on": None,
            "review_dates": [],
            "ending_plan": "",
            "couch_discussed": "",
            "measures_every_sessions": 4,
            "repeat_measures": ["phq9", "gad7"],
            **place,
        }
    try:
        plan = plans.session_plan_save(
            referral=referral,
            user=user,
            values=values,
            reason="Regular time set when the therapist was allocated",
        )
    except plans.AssessmentError as error:
        raise AllocationError(f"The session plan could not be updated: {error}") from None
    return plan.version


def _letter(allocation, referral, therapist, slots, first: dt.datetime) -> None:
    from notifications.outbox import notification_queue

    local = timezone.localtime(first)
    opening = next(s for s in slots if s.weekday == local.weekday())
    site = opening.site
    if site is not None:
        location = ", ".join(p for p in (site.name, site.address.replace("\n", ", ")) if p)
    else:
        location = "By video call. We will send you the link before your first session."
    k = len(slots)
    notification_queue(
        kind="allocation",
        referral=referral,
        occurrence=f"allocation-{allocation.public_id}",
        context={
            "appointment_at": local,
            "regular_day": engine.DAY_NAMES[opening.weekday],
            "regular_time": f"{opening.start:%H:%M}",
            "regular_times": [
                {"day": engine.DAY_NAMES[s.weekday], "time": f"{s.start:%H:%M}"} for s in slots
            ],
            "frequency": FREQUENCY_WORDS.get(k, f"{k} times a week"),
            "duration_minutes": opening.length_minutes,
            "location": location,
            "video_link": "",
            "remote": site is None,
            "site": site.name if site is not None else "",
            "therapist_name": therapist.display_name,
        },
    )


@transaction.atomic
def proposal_accept(
    *, proposal: Proposal, user, first_appointment: dt.date | None = None
) -> Allocation:
    """Allocate as proposed: the proposed therapist and slot(s)."""
    _same_service(user, proposal.service_id)
    locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if locked.therapist_id is None:
        raise AllocationError("There is no therapist in this proposal to accept.")
    if locked.decision != Proposal.Decision.OPEN:
        raise AllocationError(
            f"This proposal was already decided: {locked.get_decision_display().lower()}."
        )
    slot_ids = list(
        WeeklySlot.objects.filter(
            public_id__in=[s["slot"] for s in locked.slots], therapist_id=locked.therapist_id
        ).values_list("pk", flat=True)
    )
    if len(slot_ids) != len(locked.slots):
        raise AllocationError(
            "A proposed slot no longer exists. Run the allocation again for a new proposal."
        )
    allocation = _allocate(
        referral=locked.referral,
        therapist_id=locked.therapist_id,
        slot_ids=slot_ids,
        user=user,
        source=Allocation.Source.PROPOSAL,
        proposal=locked,
        first_appointment=first_appointment,
    )
    _decide(locked, Proposal.Decision.ACCEPTED, user)
    return allocation


@transaction.atomic
def allocation_choose(
    *,
    referral: Referral,
    user,
    slot_ids: Sequence[int],
    reason: str,
    first_appointment: dt.date | None = None,
) -> Allocation:
    """Allocate with a therapist and slot(s) the coordinator chose instead of (or without)
    a proposal. The reason is required and kept with the allocation."""
    reason = (reason or "").strip()
    if not reason:
        raise AllocationError("Enter why you chose this therapist", field="reason")
    slots = list(WeeklySlot.objects.filter(pk__in=set(slot_ids)).select_related("therapist"))
    therapist_ids = {s.therapist_id for s in slots}
    if not slots:
        raise AllocationError("Select the slot or slots to book", field="slots")
    if len(therapist_ids) > 1:
        raise AllocationError("Select slots of one therapist only", field="slots")
    needed = selectors.sessions_per_week_for(referral=referral)
    if len(slots) != needed:
        raise AllocationError(
            f"Select {needed} slot{'s' if needed > 1 else ''}, on different days: the "
            f"assessment recommends {needed} session{'s' if needed > 1 else ''} a week",
            field="slots",
        )
    _same_service(user, referral.service_id)
    run = selectors.run_current(service_id=referral.service_id)
    proposal = (
        Proposal.objects.select_for_update().filter(run=run, referral=referral).first()
        if run is not None
        else None
    )
    allocation = _allocate(
        referral=referral,
        therapist_id=therapist_ids.pop(),
        slot_ids=[s.pk for s in slots],
        user=user,
        source=Allocation.Source.OVERRIDE,
        proposal=proposal,
        override_reason=reason[:2000],
        first_appointment=first_appointment,
    )
    if proposal is not None and proposal.decision == Proposal.Decision.OPEN:
        _decide(proposal, Proposal.Decision.OVERRIDDEN, user)
    proposals_mark_stale(
        service_id=referral.service_id, reason="a coordinator chose another therapist"
    )
    return allocation


def _decide(proposal: Proposal, decision: str, user) -> None:
    proposal.decision = decision
    proposal.decided_by = user
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["decision", "decided_by", "decided_at", "updated_at"])


@dataclass
class BulkOutcome:
    accepted: list[Allocation] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)


def proposals_accept_many(*, proposals: Sequence[Proposal], user) -> BulkOutcome:
    """Accept several proposals, each in its own transaction: one that can no longer be
    accepted (taken slot, full caseload) is reported and does not stop the others."""
    outcome = BulkOutcome()
    for proposal in sorted(proposals, key=lambda p: (p.therapist_id or 0, p.pk)):
        try:
            outcome.accepted.append(proposal_accept(proposal=proposal, user=user))
        except AllocationError as error:
            outcome.refused.append((proposal.referral.reference, error.message))
    return outcome


@transaction.atomic
def referral_hold(*, referral: Referral, user, reason: str) -> Hold:
    """Leave a referral out of allocation for now (the client is away, or wants to wait)."""
    _same_service(user, referral.service_id)
    reason = (reason or "").strip()
    if not reason:
        raise AllocationError("Enter why this referral is on hold", field="reason")
    # Lock order as when allocating: the proposal, then the referral.
    run = selectors.run_current(service_id=referral.service_id)
    proposal = (
        Proposal.objects.select_for_update().filter(run=run, referral=referral).first()
        if run is not None
        else None
    )
    current = Referral.objects.select_for_update().get(pk=referral.pk)
    if current.status != Referral.Status.AWAITING_ALLOCATION:
        raise AllocationError(
            f"{current.reference} is '{current.get_status_display()}': only someone waiting "
            "for a therapist can be put on hold."
        )
    if Hold.objects.filter(referral=current, released_at__isnull=True).exists():
        raise AllocationError(f"{current.reference} is already on hold.")
    hold = Hold.objects.create(
        service_id=current.service_id, referral=current, reason=reason[:500], held_by=user
    )
    if proposal is not None and proposal.decision == Proposal.Decision.OPEN:
        _decide(proposal, Proposal.Decision.HELD, user)
    proposals_mark_stale(service_id=current.service_id, reason="a referral was put on hold")
    return hold


@transaction.atomic
def hold_release(*, hold: Hold, user) -> Hold:
    _same_service(user, hold.service_id)
    locked = Hold.objects.select_for_update().get(pk=hold.pk)
    if locked.released_at is not None:
        raise AllocationError("This hold was already released.")
    locked.released_at = timezone.now()
    locked.released_by = user
    locked.save(update_fields=["released_at", "released_by", "updated_at"])
    proposals_mark_stale(service_id=locked.service_id, reason="a hold was released")
    return locked


# --- Therapist profiles, slots and leave ------------------------------------------------------


@dataclass
class ProfileInput:
    display_name: str
    gender: str
    modalities: list[str]
    languages: list[str]
    frequencies: list[int]
    sites: list
    offers_remote: bool
    capacity: int


def _profile_check(service_id: int, data: ProfileInput, therapist: Therapist | None) -> None:
    if not data.display_name.strip():
        raise AllocationError("Enter the therapist's name", field="display_name")
    if not data.modalities:
        raise AllocationError("Select at least one kind of therapy offered", field="modalities")
    if not data.languages:
        raise AllocationError("Enter at least one language", field="languages")
    if not data.frequencies or any(not 1 <= f <= 5 for f in data.frequencies):
        raise AllocationError("Select how many sessions a week are offered", field="frequencies")
    if not 0 <= data.capacity <= MAX_CAPACITY:
        raise AllocationError(
            f"Capacity must be a whole number from 0 to {MAX_CAPACITY}", field="capacity"
        )
    for site in data.sites:
        if site.service_id != service_id:
            raise AllocationError("Select one of this service's sites", field="sites")
    if therapist is None:
        return
    kept = {site.pk for site in data.sites}
    for slot in therapist.slots.select_related("site"):
        if slot.site_id and slot.site_id not in kept:
            raise AllocationError(
                f"The {slot} slot is at {slot.site.name}. Move or remove it before taking "
                f"{slot.site.name} off this profile",
                field="sites",
            )
        if not slot.site_id and not data.offers_remote:
            raise AllocationError(
                f"The {slot} slot is remote. Remove it before turning off remote sessions",
                field="offers_remote",
            )


def _profile_apply(therapist: Therapist, data: ProfileInput) -> None:
    therapist.display_name = " ".join(data.display_name.split())[:200]
    therapist.gender = data.gender
    therapist.modalities = sorted(set(data.modalities))
    therapist.languages = list(dict.fromkeys(" ".join(x.split()) for x in data.languages if x))
    therapist.frequencies = sorted(set(data.frequencies))
    therapist.offers_remote = data.offers_remote
    therapist.capacity = data.capacity


@transaction.atomic
def therapist_create(*, user, data: ProfileInput) -> Therapist:
    if not user.has_role(roles.SERVICE_ADMIN) or not user.service_id:
        raise AllocationError("Only a service administrator can add a therapist.")
    _profile_check(user.service_id, data, None)
    therapist = Therapist(service_id=user.service_id)
    _profile_apply(therapist, data)
    therapist.save()
    therapist.sites.set(data.sites)
    proposals_mark_stale(service_id=user.service_id, reason="a therapist was added")
    return therapist


@transaction.atomic
def therapist_update(*, therapist: Therapist, user, data: ProfileInput) -> Therapist:
    _require_editor(user, therapist)
    locked = Therapist.objects.select_for_update().get(pk=therapist.pk)
    _profile_check(locked.service_id, data, locked)
    _profile_apply(locked, data)
    locked.save()
    locked.sites.set(data.sites)
    proposals_mark_stale(
        service_id=locked.service_id, reason=f"{locked.display_name}'s profile or capacity changed"
    )
    return locked


@transaction.atomic
def weekly_slot_add(
    *, therapist: Therapist, user, weekday: int, start: dt.time, length: int, site
) -> WeeklySlot:
    _require_editor(user, therapist)
    locked = Therapist.objects.select_for_update().get(pk=therapist.pk)
    if not 0 <= weekday <= 6:
        raise AllocationError("Select a day", field="weekday")
    if not 15 <= length <= 180:
        raise AllocationError("Length must be from 15 to 180 minutes", field="length")
    begins = start.hour * 60 + start.minute
    ends = begins + length
    if ends > 24 * 60:
        raise AllocationError("The slot must end by midnight", field="start")
    if site is None and not locked.offers_remote:
        raise AllocationError(
            f"{locked.display_name} does not offer remote sessions: choose a site, or turn "
            "on remote sessions in the profile first",
            field="site",
        )
    if site is not None and not locked.sites.filter(pk=site.pk).exists():
        raise AllocationError(
            f"{locked.display_name} does not work at {site.name}: add it to the profile first",
            field="site",
        )
    for other in locked.slots.filter(weekday=weekday):
        other_begins = other.start.hour * 60 + other.start.minute
        if begins < other_begins + other.length_minutes and other_begins < ends:
            raise AllocationError(
                f"This overlaps the {other} slot ({other.length_minutes} minutes)",
                field="start",
            )
    slot = WeeklySlot.objects.create(
        therapist=locked, weekday=weekday, start=start, length_minutes=length, site=site
    )
    proposals_mark_stale(
        service_id=locked.service_id, reason=f"{locked.display_name}'s slots changed"
    )
    return slot


@transaction.atomic
def weekly_slot_remove(*, slot: WeeklySlot, user) -> None:
    therapist = slot.therapist
    _require_editor(user, therapist)
    Therapist.objects.select_for_update().get(pk=therapist.pk)
    _release_finished(therapist)
    booking = (
        AllocationSlot.objects.filter(slot=slot, active=True)
        .select_related("allocation__referral")
        .first()
    )
    if booking is not None:
        raise AllocationError(
            f"The {slot} slot is the regular time of {booking.allocation.referral.reference}. "
            "It cannot be removed while that allocation holds it."
        )
    AllocationSlot.objects.filter(slot=slot, active=False).delete()  # history is kept on
    slot.delete()  # the allocation itself (its regular times)
    proposals_mark_stale(
        service_id=therapist.service_id, reason=f"{therapist.display_name}'s slots changed"
    )


@transaction.atomic
def leave_add(
    *, therapist: Therapist, user, starts_on: dt.date, ends_on: dt.date, note: str = ""
) -> LeavePeriod:
    _require_editor(user, therapist)
    if ends_on < starts_on:
        raise AllocationError(
            "The last day of leave must be on or after the first", field="ends_on"
        )
    if ends_on < timezone.localdate():
        raise AllocationError("This leave has already ended", field="ends_on")
    overlapping = therapist.leave.filter(starts_on__lte=ends_on, ends_on__gte=starts_on).first()
    if overlapping is not None:
        raise AllocationError(
            f"This overlaps leave already recorded ({overlapping.starts_on:%-d %B} to "
            f"{overlapping.ends_on:%-d %B %Y})",
            field="starts_on",
        )
    period = LeavePeriod.objects.create(
        therapist=therapist, starts_on=starts_on, ends_on=ends_on, note=note.strip()[:200]
    )
    proposals_mark_stale(
        service_id=therapist.service_id, reason=f"{therapist.display_name}'s leave changed"
    )
    return period


@transaction.atomic
def leave_remove(*, period: LeavePeriod, user) -> None:
    therapist = period.therapist
    _require_editor(user, therapist)
    period.delete()
    proposals_mark_stale(
        service_id=therapist.service_id, reason=f"{therapist.display_name}'s leave changed"
    )
