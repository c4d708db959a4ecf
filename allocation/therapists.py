"""Therapist profiles, weekly slots and leave: who can be offered, and when.

A service administrator adds and edits every profile of their service and links each to
its therapist's staff sign-in (clients can be allocated only to a linked profile); a
therapist edits their own (`can_edit_therapist`). Each change is checked (sites of this service, no
overlapping slots, a booked slot never removed) and marks the service's proposals stale in
the same transaction, since it changes who is free.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from allocation import selectors
from allocation.models import (
    SPECIALISMS,
    Allocation,
    AllocationSlot,
    LeavePeriod,
    Therapist,
    WeeklySlot,
)
from allocation.services import AllocationError, proposals_mark_stale
from common import roles

MAX_CAPACITY = 200


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


def finished_allocations_release(therapist: Therapist) -> None:
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


@dataclass
class ProfileInput:
    display_name: str
    gender: str
    modalities: list[str]
    languages: list[str]
    frequencies: list[int]
    sites: list
    offers_remote: bool
    capacity: int  # weekly sessions
    grade: str = "qualified"
    supervised: bool = False
    specialisms: list[str] = field(default_factory=list)
    # The staff sign-in to link (None: not linked); only looked at when `link` is set, as
    # only a service administrator's form offers it.
    link: bool = False
    sign_in: object = None
    # The caseload mix: caps on high-risk and complex clients (None: no cap).
    max_high_risk: int | None = None
    max_complex: int | None = None


def _profile_check(service_id: int, data: ProfileInput, therapist: Therapist | None) -> None:
    if not data.display_name.strip():
        raise AllocationError("Enter the therapist's name", field="display_name")
    if not data.modalities:
        raise AllocationError("Select at least one kind of therapy offered", field="modalities")
    if data.grade not in Therapist.Grade.values:
        raise AllocationError(
            "Select whether the therapist is qualified or a trainee", field="grade"
        )
    if data.grade == Therapist.Grade.TRAINEE and not data.supervised:
        raise AllocationError(
            "A trainee works under clinical supervision: select Yes, or the grade Qualified",
            field="supervised",
        )
    known = {code for code, _ in SPECIALISMS}
    if any(s not in known for s in data.specialisms):
        raise AllocationError("Select only the specialisms listed", field="specialisms")
    if not data.languages:
        raise AllocationError("Enter at least one language", field="languages")
    if not data.frequencies or any(not 1 <= f <= 5 for f in data.frequencies):
        raise AllocationError("Select how many sessions a week are offered", field="frequencies")
    if not 0 <= data.capacity <= MAX_CAPACITY:
        raise AllocationError(
            f"Weekly sessions must be a whole number from 0 to {MAX_CAPACITY}", field="capacity"
        )
    for field_name, noun in (("max_high_risk", "high-risk"), ("max_complex", "complex")):
        cap = getattr(data, field_name)
        if cap is not None and not 0 <= cap <= MAX_CAPACITY:
            raise AllocationError(
                f"The cap on {noun} clients must be a whole number from 0 to {MAX_CAPACITY}, "
                "or empty for no cap",
                field=field_name,
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


def _sign_in_check(user, therapist: Therapist | None, data: ProfileInput) -> None:
    if not data.link:
        return
    if not user.has_role(roles.SERVICE_ADMIN):
        raise AllocationError(
            "Only a service administrator can link a profile to a sign-in.", field="sign_in"
        )
    chosen = data.sign_in
    current = therapist.user_id if therapist is not None else None
    if chosen is not None and chosen.pk != current:
        if (
            chosen.service_id != user.service_id
            or not chosen.is_active
            or not chosen.has_role(roles.THERAPIST)
        ):
            raise AllocationError("Select an active therapist of this service.", field="sign_in")
        if Therapist.objects.filter(user=chosen).exists():
            raise AllocationError(
                "That sign-in is already linked to another profile.", field="sign_in"
            )
    new = chosen.pk if chosen is not None else None
    if (
        therapist is not None
        and new != current
        and selectors.allocations_holding(service_id=therapist.service_id)
        .filter(therapist=therapist)
        .exists()
    ):
        raise AllocationError(
            f"{therapist.display_name} has clients allocated with their current sign-in. "
            "Hand them over before changing it.",
            field="sign_in",
        )


def _profile_apply(therapist: Therapist, data: ProfileInput) -> None:
    therapist.display_name = " ".join(data.display_name.split())[:200]
    therapist.gender = data.gender
    therapist.modalities = sorted(set(data.modalities))
    therapist.languages = list(dict.fromkeys(" ".join(x.split()) for x in data.languages if x))
    therapist.frequencies = sorted(set(data.frequencies))
    therapist.offers_remote = data.offers_remote
    therapist.capacity = data.capacity
    therapist.max_high_risk = data.max_high_risk
    therapist.max_complex = data.max_complex
    therapist.grade = data.grade
    # A trainee always works under supervision (the form says so; the database holds it).
    therapist.supervised = data.supervised or data.grade == Therapist.Grade.TRAINEE
    therapist.specialisms = sorted(set(data.specialisms))
    if data.link:
        therapist.user = data.sign_in


@transaction.atomic
def therapist_create(*, user, data: ProfileInput) -> Therapist:
    if not user.has_role(roles.SERVICE_ADMIN) or not user.service_id:
        raise AllocationError("Only a service administrator can add a therapist.")
    _profile_check(user.service_id, data, None)
    _sign_in_check(user, None, data)
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
    _sign_in_check(user, locked, data)
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
    finished_allocations_release(therapist)
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
    *,
    therapist: Therapist,
    user,
    starts_on: dt.date,
    ends_on: dt.date,
    note: str = "",
    kind: str = LeavePeriod.Kind.LEAVE,
) -> LeavePeriod:
    _require_editor(user, therapist)
    if ends_on < starts_on:
        raise AllocationError(
            "The last day of leave must be on or after the first", field="ends_on"
        )
    if kind not in LeavePeriod.Kind.values:
        raise AllocationError("Select leave or a planned break", field="kind")
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
        therapist=therapist,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        note=note.strip()[:200],
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
