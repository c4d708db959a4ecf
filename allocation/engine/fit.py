"""What fits one client, therapist by therapist: the coordinator's choice of therapist.

``therapist_fits(referral, therapists)`` says, for each therapist, which of the client's
requirements and wishes it meets and which it lacks, in the words the proposals'
reasons and the waiting explanations use (``explain``), with every free slot marked as
one the client can take or not. The requirements met are read from ``_Group``'s
matrices, the same the solver places on, so this page and the proposals never disagree.

Each therapist lands in one tier, best first:

- ``fits``: every requirement and every wish (gender preference, preferred site or time);
- ``partly``: a free place and a free slot the client can take, but something lacking;
- ``other``: a free place and free slots, none of them one the client can take;
- ``unavailable``: too few free weekly sessions (a client seen twice a week needs two), no
  room under a cap on high-risk or complex clients the client counts against, no free
  slot, or excluded for this client (a conflict of interest, a complaint, a relative), so
  nothing to choose.

``client_asks(referral)`` is what the client asked for, as a short list for the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from allocation.engine.explain import (
    FAMILIES,
    _course_phrase,
    _exclusion_words,
    _failure_phrase,
    _gender_met,
    _language_name,
    _language_words,
    _meets_phrase,
    _modality_name,
    _plural,
    _times,
)
from allocation.engine.group import _Group
from allocation.engine.problem import CAP_KINDS, Problem, Referral, Slot, Therapist

TIERS = ("fits", "partly", "other", "unavailable")


@dataclass(frozen=True, slots=True)
class SlotFit:
    slot: Slot
    in_times: bool  # inside the client's available days and parts of the day
    at_place: bool  # at a site the client accepts, or remote when they accept remote
    at_preferred_site: bool

    @property
    def usable(self) -> bool:
        return self.in_times and self.at_place

    @property
    def label(self) -> str:
        return self.slot.label

    @property
    def note(self) -> str:
        if self.usable:
            return "In the client's times" + (
                ", at the preferred site" if self.at_preferred_site else ""
            )
        if not self.in_times and not self.at_place:
            return "Not in the client's times, and not at a place the client can attend"
        if not self.in_times:
            return "Not in the client's times"
        return "In the client's times, but not at a place the client can attend"


@dataclass(frozen=True, slots=True)
class TherapistFit:
    therapist: Therapist
    tier: str
    fits: tuple[str, ...]  # what it meets, in words
    lacks: tuple[str, ...]  # requirements it misses, then wishes it does not meet
    missing: tuple[str, ...]  # the requirement families (``FAMILIES``) it misses
    slots: tuple[SlotFit, ...]  # every free slot, those the client can take first

    @property
    def eligible(self) -> bool:
        """Meets every requirement: a proposal could place the client with it."""
        return not self.missing


def _slot_fit(referral: Referral, slot: Slot) -> SlotFit:
    return SlotFit(
        slot=slot,
        in_times=referral.fits_time(slot),
        at_place=referral.accepts_slot_site(slot.site),
        at_preferred_site=(
            referral.preferred_site is not None
            and referral.mode != "remote"
            and slot.site == referral.preferred_site
        ),
    )


def _days(slots: Sequence[SlotFit]) -> int:
    return len({s.slot.day for s in slots})


def _where(slot: Slot) -> str:
    return "remote" if slot.remote else slot.site


def _requirement_words(
    referral: Referral, therapist: Therapist, family: str, usable: Sequence[SlotFit]
) -> str:
    """What a therapist who meets a requirement offers, in the proposals' words."""
    if family == "language":
        return "; ".join(_language_words(referral, therapist))
    if family == "gender":
        return _gender_met(referral, therapist)
    if family == "excluded":
        return "not excluded for this client"
    if family == "continuity":
        return "continuity requirement met: also assessed the client"
    if family == "competence":
        rule, words = referral.competence_rule, therapist.competence_words
        return f"competence requirement ({rule}) met: is {words}"
    if family == "frequency":
        k = referral.sessions_per_week
        return "offers weekly sessions" if k == 1 else f"offers {k} sessions a week"
    if family == "leave":
        return _course_phrase(referral)
    if family == "slots":
        listed = ", ".join(f"{s.label} ({_where(s.slot)})" for s in usable)
        which = "a free slot" if len(usable) == 1 else "free slots"
        days = "" if referral.sessions_per_week == 1 else f" on {_days(usable)} different days"
        return f"has {which} in the client's times, at a place they can attend{days}: {listed}"
    return _meets_phrase(referral, therapist, family) or family


def _covers(slots: Sequence[SlotFit], k: int) -> bool:
    return _days(slots) >= k


def therapist_fits(referral: Referral, therapists: Sequence[Therapist]) -> list[TherapistFit]:
    """Every therapist's fit for this referral, best first: by tier, then fewest
    requirements missed, then fewest things lacking, then by id."""
    if not therapists:
        return []
    problem = Problem(therapists=tuple(therapists), referrals=(referral,))
    group = _Group(problem, [0], list(range(len(therapists))))
    meets = {family: group.meets[family][:, 0].tolist() for family in FAMILIES}
    k = referral.sessions_per_week
    out = []
    for j, therapist in enumerate(group.thers):
        slot_fits = sorted(
            (_slot_fit(referral, s) for s in therapist.slots),
            key=lambda s: (not s.usable, not s.in_times, s.slot.day, s.slot.start),
        )
        usable = [s for s in slot_fits if s.usable]
        fits: list[str] = []
        lacks: list[str] = []
        missing: list[str] = []
        for family in FAMILIES:
            if family == "gender" and referral.gender_rule is None:
                continue
            if family == "excluded" and not referral.exclusions:
                continue
            if family == "competence" and referral.competence_rule is None:
                continue
            if family == "continuity" and referral.continuity != "required":
                continue
            if family == "leave" and referral.planned_start is None:
                continue
            if family in CAP_KINDS and (
                not referral.is_kind(family) or therapist.cap_room(family) is None
            ):
                continue  # no cap of this kind, or the client does not count against it
            if meets[family][j]:
                fits.append(_requirement_words(referral, therapist, family, usable))
            else:
                missing.append(family)
                lacks.append(_failure_phrase(referral, therapist, family))
        wishes_met = True
        if referral.gender_strength == "preferred":
            met = therapist.gender == referral.gender
            wishes_met &= met
            words = f"gender preference ({referral.gender}) {'met' if met else 'not met'}"
            (fits if met else lacks).append(words)
        if referral.preferred_site is not None and referral.mode != "remote":
            met = _covers([s for s in usable if s.at_preferred_site], k)
            wishes_met &= met
            words = f"preferred site ({referral.preferred_site}) {'met' if met else 'not met'}"
            (fits if met else lacks).append(words)
        if referral.preferred_windows:
            wanted = referral.preferred_words
            met = _covers([s for s in usable if referral.prefers_time(s.slot)], k)
            wishes_met &= met
            (fits if met else lacks).append(
                f"preferred time ({wanted}) {'met' if met else 'not met'}"
            )
        if referral.continuity == "preferred" and referral.assessor == therapist.id:
            fits.append("continuity: also assessed the client")
        full = any(f in missing for f in ("capacity", *CAP_KINDS))  # sessions or a cap
        if full or not therapist.slots or "excluded" in missing:
            tier = "unavailable"
        elif not missing and wishes_met:
            tier = "fits"
        elif usable:
            tier = "partly"
        else:
            tier = "other"
        out.append(
            TherapistFit(
                therapist=therapist,
                tier=tier,
                fits=tuple(fits),
                lacks=tuple(lacks),
                missing=tuple(missing),
                slots=tuple(slot_fits),
            )
        )
    out.sort(key=lambda f: (TIERS.index(f.tier), len(f.missing), len(f.lacks), f.therapist.id))
    return out


def client_asks(referral: Referral) -> list[tuple[str, str]]:
    """What the client asked for, one (topic, words) pair a line, for the coordinator."""
    k = referral.sessions_per_week
    lang = _language_name(referral.language)
    language = f"{lang}, with an interpreter" if referral.needs_interpreter else lang
    if referral.needs_interpreter and not referral.interpreter_bookable:
        language = f"{lang}; the service cannot book a {lang} interpreter"
    if referral.bsl:
        language = (
            "BSL, and "
            + language
            + ("" if referral.bsl_bookable else " (the service cannot book a BSL interpreter)")
        )
    wishes = []
    if referral.gender_rule is not None:
        wishes.append(f"{referral.gender_rule}, a requirement")
    if referral.gender_strength == "preferred" and referral.gender is not None:
        wishes.append(f"{referral.gender}, a preference")
    gender = "; ".join(wishes) or "No wish recorded"
    if referral.mode == "remote":
        place = "Remote only"
    else:
        sites = " or ".join(referral.sites) or "no site"
        place = f"In person at {sites}" + (" or remote" if referral.accepts_remote else "")
        if referral.preferred_site:
            place += f"; prefers {referral.preferred_site}"
        if referral.sites_ruled_out:
            place += f"; ruled out: {referral.access_words}"
    asks = [
        ("Available", _times(referral.windows) or "No times recorded"),
        ("Therapy", f"{_modality_name(referral.modality)}, " + _plural(k, "session") + " a week"),
        ("Language", language),
        ("Therapist's gender", gender),
        ("Where", place),
    ]
    if referral.preferred_windows:
        asks.append(("Preferred time", referral.preferred_words))
    if referral.competence_rule is not None:
        asks.append(("Therapist's competence", referral.competence_rule))
    if referral.assessor is not None and referral.continuity != "none":
        kind = "a requirement" if referral.continuity == "required" else "a wish"
        asks.append(("Continuity", f"with the assessor ({referral.assessor}), {kind}"))
    if referral.earliest_start is not None or referral.course_weeks is not None:
        asks.append(("Course", referral.course_words))
    if referral.exclusions:
        asks.append(
            (
                "Never with",
                "; ".join(
                    f"{tid} ({_exclusion_words(referral, tid)})" for tid, _ in referral.exclusions
                ),
            )
        )
    return asks
