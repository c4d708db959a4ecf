"""The coordinator's exclusions for one referral: therapists the client must never be
allocated to (a conflict of interest, a previous complaint, a relative), and therapist
genders excluded ("not a man"). Each change makes the service's proposals stale; the
engine reads them through ``engine_input``, and allocating against one is refused."""

from __future__ import annotations

from django.db import transaction

from allocation.models import AllocationNeeds, Therapist, TherapistExclusion
from allocation.services import AllocationError, _same_service, proposals_mark_stale
from intake.models import Referral

GENDERS = {value for value, _ in Therapist.Gender.choices} - {Therapist.Gender.NOT_STATED}


def exclusions_of(*, referral: Referral) -> list[TherapistExclusion]:
    """The referral's named exclusions, oldest first (a handful at most)."""
    return list(
        TherapistExclusion.objects.filter(referral=referral)
        .select_related("therapist")
        .order_by("created_at", "id")
    )


def genders_excluded(*, referral: Referral) -> list[str]:
    needs = AllocationNeeds.objects.filter(referral=referral).first()
    return list(needs.gender_excluded) if needs else []


@transaction.atomic
def therapist_exclude(
    *, referral: Referral, therapist: Therapist, reason: str, note: str, user
) -> TherapistExclusion:
    _same_service(user, referral.service_id)
    if therapist.service_id != referral.service_id:
        raise AllocationError("Select a therapist of this service", field="therapist")
    if reason not in TherapistExclusion.Reason.values:
        raise AllocationError("Select why this therapist is excluded", field="reason")
    note = (note or "").strip()
    if reason == TherapistExclusion.Reason.OTHER and not note:
        raise AllocationError("Enter the reason, as it is not one of those listed", field="note")
    # Locked, so two coordinators recording the same exclusion get a message, not a 500.
    Referral.objects.select_for_update().filter(pk=referral.pk).first()
    if TherapistExclusion.objects.filter(referral=referral, therapist=therapist).exists():
        raise AllocationError(
            f"{therapist.display_name} is already excluded for this client", field="therapist"
        )
    exclusion = TherapistExclusion.objects.create(
        service_id=referral.service_id,
        referral=referral,
        therapist=therapist,
        reason=reason,
        note=note[:300],
        recorded_by=user,
    )
    proposals_mark_stale(
        service_id=referral.service_id, reason="a therapist was excluded for a client"
    )
    return exclusion


@transaction.atomic
def exclusion_remove(*, exclusion: TherapistExclusion, user) -> None:
    _same_service(user, exclusion.service_id)
    TherapistExclusion.objects.filter(pk=exclusion.pk).delete()
    proposals_mark_stale(
        service_id=exclusion.service_id, reason="an exclusion of a therapist was removed"
    )


@transaction.atomic
def gender_exclusion_set(*, referral: Referral, genders, user) -> AllocationNeeds:
    """Set the therapist genders excluded for this referral (none: no requirement)."""
    _same_service(user, referral.service_id)
    chosen = sorted(set(genders))
    if any(g not in GENDERS for g in chosen):
        raise AllocationError("Select only the genders listed", field="genders")
    preferences = getattr(referral, "preferences", None)
    if (
        preferences is not None
        and preferences.therapist_gender_strength == "requirement"
        and preferences.therapist_gender in chosen
    ):
        label = dict(Therapist.Gender.choices)[preferences.therapist_gender].lower()
        raise AllocationError(
            f"The client requires a {label} therapist, so that gender cannot be excluded. "
            "Change the client's requirement on the referral first",
            field="genders",
        )
    needs, _ = AllocationNeeds.objects.select_for_update().get_or_create(
        referral=referral,
        defaults={"service_id": referral.service_id, "updated_by": user},
    )
    if needs.gender_excluded != chosen:
        needs.gender_excluded = chosen
        needs.updated_by = user
        needs.save(update_fields=["gender_excluded", "updated_by", "updated_at"])
        proposals_mark_stale(
            service_id=referral.service_id, reason="a client's gender requirement changed"
        )
    return needs
