"""The coordinator's decisions: allocate a referral (accept a proposal, or choose another
therapist's slots), accept many at once, and hold a referral off the list or release it.

Allocating locks the therapist's row first and the referral's second (always in that order,
so two coordinators never deadlock), counts the caseload and checks the slots under that
lock, and a partial unique index on booked slots backs it up: a caseload is never overfilled
and a slot never booked twice. It sets the session plan's regular times, plans the therapy
with the profile's linked sign-in and the first appointment (through therapy's services:
the referral is in therapy from the first attended session the therapist records), and
queues the allocation letter through the notifications outbox, so the letter leaves only on
commit. A profile with no linked sign-in cannot be allocated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from allocation import engine, selectors
from allocation.models import (
    Allocation,
    AllocationNeeds,
    AllocationSlot,
    Hold,
    Proposal,
    Therapist,
    TherapistExclusion,
    WeeklySlot,
)
from allocation.selectors import first_appointment_for
from allocation.services import AllocationError, _same_service, proposals_mark_stale, slot_json
from allocation.therapists import finished_allocations_release
from assessment.models import Mode
from intake.models import Referral
from therapy import selectors as plan_reads
from therapy import services as plans

FREQUENCY_WORDS = {1: "once a week", 2: "twice a week"}


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


def _caseload_mix_check(referral: Referral, therapist: Therapist, caseload) -> None:
    """Refuse an allocation past the therapist's cap on high-risk or complex clients (the
    clients allocated now count against it)."""
    complex_case = AllocationNeeds.objects.filter(referral=referral, complex_case=True).exists()
    checks = (
        (
            "high-risk",
            referral.risk_level == Referral.Risk.HIGH,
            therapist.max_high_risk,
            {"referral__risk_level": Referral.Risk.HIGH},
        ),
        (
            "complex",
            complex_case,
            therapist.max_complex,
            {"referral__allocation_needs__complex_case": True},
        ),
    )
    for noun, counts, cap, lookup in checks:
        if not counts or cap is None:
            continue
        held = caseload.filter(**lookup).count()
        if held >= cap:
            raise AllocationError(
                f"{therapist.display_name} already has {held} {noun} client"
                f"{'' if held == 1 else 's'}, and their cap is {cap}. Nothing was changed; "
                "raise the cap on their profile, or choose another therapist.",
                field="slots",
            )


def _exclusions_check(referral: Referral, therapist: Therapist) -> None:
    """The coordinators' exclusions hold for a chosen therapist as for a proposal."""
    excluded = TherapistExclusion.objects.filter(referral=referral, therapist=therapist).first()
    if excluded is not None:
        raise AllocationError(
            f"{therapist.display_name} is excluded for this client "
            f"({excluded.get_reason_display().lower()}). Nothing was changed; remove the "
            "exclusion on the referral's allocation page first if it no longer applies.",
            field="slots",
        )
    needs = AllocationNeeds.objects.filter(referral=referral).first()
    genders = needs.gender_excluded if needs else []
    if genders and (therapist.gender in genders or therapist.gender == Therapist.Gender.NOT_STATED):
        labels = " or ".join(dict(Therapist.Gender.choices)[g].lower() for g in genders)
        raise AllocationError(
            f"This client's therapist must not be {labels}, and {therapist.display_name}'s "
            f"gender is {therapist.get_gender_display().lower()}. Nothing was changed.",
            field="slots",
        )


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
    if therapist.user_id is None:
        raise AllocationError(
            f"{therapist.display_name} has no staff sign-in linked to their profile, so they "
            "could not see this client or record their sessions. A service administrator "
            "links it on the therapist's profile. Nothing was changed.",
            field="slots",
        )
    current = Referral.objects.select_for_update().get(pk=referral.pk)
    if current.status != Referral.Status.AWAITING_ALLOCATION:
        raise AllocationError(
            f"{current.reference} is now '{current.get_status_display()}', so it cannot be "
            "allocated again. Nothing was changed."
        )
    if current.restricted_at is not None:
        raise AllocationError(
            f"{current.reference}: the client has restricted the use of their record (a rights "
            "request), so they cannot be allocated until the restriction is lifted. Nothing "
            "was changed."
        )
    if Hold.objects.filter(referral=current, released_at__isnull=True).exists():
        raise AllocationError(f"{current.reference} is on hold. Release the hold first.")
    _exclusions_check(current, therapist)
    finished_allocations_release(therapist)
    caseload = selectors.allocations_holding(service_id=therapist.service_id).filter(
        therapist=therapist
    )
    used = AllocationSlot.objects.filter(allocation__in=caseload).count()
    if used >= therapist.capacity:
        raise AllocationError(
            f"{therapist.display_name} has no free place now: {used} weekly sessions in use "
            f"against {therapist.capacity}. Nothing was changed; run the allocation again for "
            "a new proposal.",
            field="slots",
        )
    _caseload_mix_check(current, therapist, caseload)
    slots = list(
        WeeklySlot.objects.filter(pk__in=set(slot_ids), therapist=therapist).select_related("site")
    )
    if used + len(slots) > therapist.capacity:
        raise AllocationError(
            f"{therapist.display_name} has {therapist.capacity - used} free weekly "
            f"session{'' if therapist.capacity - used == 1 else 's'} now, and this client "
            f"would use {len(slots)}. Nothing was changed; run the allocation again for a new "
            "proposal.",
            field="slots",
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
        regular_times=[slot_json(s) for s in slots],
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
    _therapy_plan(current, therapist, first, user)
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
    """Put the regular time(s) in the session plan through therapy's service: a new
    version of the current plan, or a first, open-ended plan the therapist then completes
    with the client. Returns the plan's version."""
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
    except plans.TherapyError as error:
        raise AllocationError(f"The session plan could not be updated: {error}") from None
    return plan.version


def _therapy_plan(referral, therapist: Therapist, first: dt.datetime, user) -> None:
    """Therapy's record of who sees the client, planned from the first appointment: the
    therapist then sees the client among theirs and records the first session."""
    try:
        plans.therapy_plan(
            referral=referral, therapist=therapist.user, first_appointment_at=first, user=user
        )
    except plans.TherapyError as error:
        raise AllocationError(f"{error} Nothing was changed.", field="slots") from None


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
