"""The coordinator's requirements for one referral: therapists the client must never be
allocated to (a conflict of interest, a previous complaint, a relative), therapist genders
excluded ("not a man"), the competence the therapist needs (qualified, not under
supervision, a specialism), and when the client can start and for how long. Each change
makes the service's proposals stale; the engine reads them through ``engine_input``, and
allocating against an exclusion is refused."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from allocation.engine.parse import windows_overlap
from allocation.engine.problem import MAX_COURSE_WEEKS, MAX_TRAVEL_MINUTES
from allocation.engine_input import referral_values, window_rows
from allocation.models import (
    SPECIALISMS,
    AllocationNeeds,
    SiteAccess,
    Therapist,
    TherapistExclusion,
)
from allocation.selectors import language_code
from allocation.services import AllocationError, _same_service, proposals_mark_stale
from common.models import Site
from intake.models import Referral
from intake.services import preferences_times_set

GENDERS = {value for value, _ in Therapist.Gender.choices} - {Therapist.Gender.NOT_STATED}


def exclusions_of(*, referral: Referral) -> list[TherapistExclusion]:
    """The referral's named exclusions, oldest first (a handful at most)."""
    return list(
        TherapistExclusion.objects.filter(referral=referral)
        .select_related("therapist")
        .order_by("created_at", "id")
    )


def needs_of(*, referral: Referral) -> AllocationNeeds:
    """The referral's recorded needs, or an unsaved row with the defaults."""
    return AllocationNeeds.objects.filter(referral=referral).first() or AllocationNeeds(
        referral=referral, service_id=referral.service_id
    )


def genders_excluded(*, referral: Referral) -> list[str]:
    return list(needs_of(referral=referral).gender_excluded)


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


@transaction.atomic
def competence_set(
    *, referral: Referral, competence: str, specialism: str, user
) -> AllocationNeeds:
    """Set the competence this referral's therapist needs, and a specialism (or none)."""
    _same_service(user, referral.service_id)
    if competence not in AllocationNeeds.Competence.values:
        raise AllocationError("Select what the therapist must be", field="competence")
    specialism = specialism or ""
    if specialism and specialism not in {code for code, _ in SPECIALISMS}:
        raise AllocationError("Select a specialism from the list", field="specialism")
    needs, _ = AllocationNeeds.objects.select_for_update().get_or_create(
        referral=referral,
        defaults={"service_id": referral.service_id, "updated_by": user},
    )
    if (needs.competence, needs.specialism) != (competence, specialism):
        needs.competence, needs.specialism, needs.updated_by = competence, specialism, user
        needs.save(update_fields=["competence", "specialism", "updated_by", "updated_at"])
        proposals_mark_stale(
            service_id=referral.service_id, reason="a client's competence requirement changed"
        )
    return needs


@transaction.atomic
def course_set(
    *, referral: Referral, earliest_start: dt.date | None, therapy_weeks: int | None, user
) -> AllocationNeeds:
    """Set the earliest date the client can start (or none) and the planned length of the
    course in weeks (None: open-ended). Proposals check therapists' leave and planned
    breaks across the whole course."""
    _same_service(user, referral.service_id)
    if earliest_start is not None and earliest_start < timezone.localdate():
        raise AllocationError(
            "The earliest start must be today or in the future", field="earliest_start"
        )
    if therapy_weeks is not None and not 1 <= therapy_weeks <= MAX_COURSE_WEEKS:
        raise AllocationError(
            f"The course must be between 1 and {MAX_COURSE_WEEKS} weeks", field="weeks"
        )
    needs, _ = AllocationNeeds.objects.select_for_update().get_or_create(
        referral=referral,
        defaults={"service_id": referral.service_id, "updated_by": user},
    )
    if (needs.earliest_start, needs.therapy_weeks) != (earliest_start, therapy_weeks):
        needs.earliest_start, needs.therapy_weeks = earliest_start, therapy_weeks
        needs.updated_by = user
        needs.save(update_fields=["earliest_start", "therapy_weeks", "updated_by", "updated_at"])
        proposals_mark_stale(
            service_id=referral.service_id,
            reason="a client's start or length of therapy changed",
        )
    return needs


@transaction.atomic
def languages_set(*, referral: Referral, bsl: bool, spoken_language: str, user) -> AllocationNeeds:
    """Record that the client needs BSL as well as a spoken language (or not), and the
    spoken language they also use (empty: English)."""
    _same_service(user, referral.service_id)
    spoken = " ".join((spoken_language or "").split())
    if spoken and language_code(spoken) == "bsl":
        raise AllocationError(
            "Enter the spoken language the client also uses, not BSL", field="spoken_language"
        )
    if spoken and not bsl:
        raise AllocationError(
            "Tick 'Needs BSL as well', or leave the spoken language empty",
            field="spoken_language",
        )
    needs, _ = AllocationNeeds.objects.select_for_update().get_or_create(
        referral=referral,
        defaults={"service_id": referral.service_id, "updated_by": user},
    )
    if (needs.bsl, needs.spoken_language) != (bsl, spoken):
        needs.bsl, needs.spoken_language, needs.updated_by = bsl, spoken, user
        needs.save(update_fields=["bsl", "spoken_language", "updated_by", "updated_at"])
        proposals_mark_stale(
            service_id=referral.service_id, reason="a client's language needs changed"
        )
    return needs


@transaction.atomic
def continuity_set(*, referral: Referral, continuity: str, user) -> AllocationNeeds:
    """Set continuity with the assessor: a wish (the default), a requirement, or none."""
    _same_service(user, referral.service_id)
    if continuity not in AllocationNeeds.Continuity.values:
        raise AllocationError("Select how much continuity matters", field="continuity")
    if continuity == AllocationNeeds.Continuity.REQUIRED and referral_assessor(referral) is None:
        raise AllocationError(
            "This referral has no assessor recorded, so continuity cannot be required",
            field="continuity",
        )
    needs, _ = AllocationNeeds.objects.select_for_update().get_or_create(
        referral=referral,
        defaults={"service_id": referral.service_id, "updated_by": user},
    )
    if needs.continuity != continuity:
        needs.continuity, needs.updated_by = continuity, user
        needs.save(update_fields=["continuity", "updated_by", "updated_at"])
        proposals_mark_stale(
            service_id=referral.service_id, reason="a client's continuity wish changed"
        )
    return needs


@transaction.atomic
def complexity_set(*, referral: Referral, complex_case: bool, user) -> AllocationNeeds:
    """Mark the referral as a complex case or not; it then counts against a therapist's cap
    on complex clients (docs/allocation.md, "Caseload mix")."""
    _same_service(user, referral.service_id)
    needs, _ = AllocationNeeds.objects.select_for_update().get_or_create(
        referral=referral,
        defaults={"service_id": referral.service_id, "updated_by": user},
    )
    if needs.complex_case != complex_case:
        needs.complex_case, needs.updated_by = complex_case, user
        needs.save(update_fields=["complex_case", "updated_by", "updated_at"])
        proposals_mark_stale(
            service_id=referral.service_id, reason="a client's complex case marker changed"
        )
    return needs


def referral_assessor(referral: Referral):
    """The user who assessed the referral, or None (as ``engine_input`` reads it)."""
    values = referral_values(Referral.objects.filter(pk=referral.pk)).values("assessor").first()
    return values["assessor"] if values else None


@transaction.atomic
def access_set(
    *,
    referral: Referral,
    step_free: bool,
    max_travel_minutes: int | None,
    travel_minutes: dict[str, int],
    user,
) -> AllocationNeeds:
    """Record step-free access and the client's travel: minutes to each site (by name) and
    the most they can travel (None: no limit)."""
    _same_service(user, referral.service_id)
    names = set(Site.objects.filter(service_id=referral.service_id).values_list("name", flat=True))
    travel = {site: int(m) for site, m in travel_minutes.items() if m is not None}
    if any(site not in names for site in travel):
        raise AllocationError("Travel times can only be given for the service's sites")
    if any(not 0 <= m <= MAX_TRAVEL_MINUTES for m in travel.values()):
        raise AllocationError(f"Travel times must be 0 to {MAX_TRAVEL_MINUTES} minutes")
    if max_travel_minutes is not None and not 1 <= max_travel_minutes <= MAX_TRAVEL_MINUTES:
        raise AllocationError(
            f"The most the client can travel must be 1 to {MAX_TRAVEL_MINUTES} minutes",
            field="max_travel_minutes",
        )
    if travel and max_travel_minutes is None:
        raise AllocationError(
            "Enter the most the client can travel, or leave the travel times empty",
            field="max_travel_minutes",
        )
    needs, _ = AllocationNeeds.objects.select_for_update().get_or_create(
        referral=referral,
        defaults={"service_id": referral.service_id, "updated_by": user},
    )
    new = (step_free, max_travel_minutes, travel)
    if (needs.step_free, needs.max_travel_minutes, needs.travel_minutes) != new:
        needs.step_free, needs.max_travel_minutes, needs.travel_minutes = new
        needs.updated_by = user
        needs.save(
            update_fields=[
                "step_free",
                "max_travel_minutes",
                "travel_minutes",
                "updated_by",
                "updated_at",
            ]
        )
        proposals_mark_stale(
            service_id=referral.service_id, reason="a client's access or travel changed"
        )
    return needs


@transaction.atomic
def site_access_set(*, service_id: int, step_free_ids: set, user) -> int:
    """Set which of the service's sites are step-free (by public id); return how many."""
    _same_service(user, service_id)
    changed = False
    for site in Site.objects.filter(service_id=service_id):
        flag = str(site.public_id) in step_free_ids
        row, created = SiteAccess.objects.select_for_update().get_or_create(
            site=site, defaults={"step_free": flag, "updated_by": user}
        )
        if not created and row.step_free != flag:
            row.step_free, row.updated_by = flag, user
            row.save(update_fields=["step_free", "updated_by", "updated_at"])
            changed = True
        changed |= created and flag
    if changed:
        proposals_mark_stale(service_id=service_id, reason="a site's step-free access changed")
    return SiteAccess.objects.filter(site__service_id=service_id, step_free=True).count()


MAX_WINDOWS = 28  # four a day: more is a sign of a mistake, not of a client's week


@transaction.atomic
def times_set(*, referral: Referral, windows: list, preferred: list, user) -> None:
    """Record the exact windows the client can come ((day, start, end), minutes after
    midnight), in place of the parts of the day they gave, and the windows they would
    rather have (a fit bonus). Empty ``windows``: the parts of the day apply again.
    Proposals place a client only in a slot lying wholly inside one of their windows."""
    _same_service(user, referral.service_id)
    for given, field in ((windows, "windows"), (preferred, "preferred")):
        if len(given) > MAX_WINDOWS:
            raise AllocationError(f"Enter at most {MAX_WINDOWS} times", field=field)
        overlap = windows_overlap(given)
        if overlap:
            raise AllocationError(f"Times overlap: {overlap.removeprefix('windows ')}", field=field)
    changed = preferences_times_set(
        referral=referral,
        time_windows=window_rows(sorted(windows)),
        preferred_windows=window_rows(sorted(preferred)),
    )
    if changed:
        proposals_mark_stale(service_id=referral.service_id, reason="a client's times changed")
