"""Explanations in people's words: why a proposal fits, why a referral waits.

``_assignment_reasons`` lists every constraint and preference a proposal meets.
``_explain_unplaced`` says, for each referral left unplaced, either who took the places it
could have had, or how the service's therapists narrow down to none (the funnel over
``FAMILIES``), with the single changes that would open the most therapists.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from allocation.engine.group import _Group, _Plan
from allocation.engine.problem import (
    DAY_NAMES,
    PARTS,
    REMOTE,
    Problem,
    Referral,
    Slot,
    Therapist,
    Unplaced,
)
from allocation.engine.scoring import priority_of

# Hard-constraint families, in the order the explanation funnel narrows the therapists.
FAMILIES = ("modality", "language", "gender", "frequency", "leave", "capacity", "slots")
_CAPACITY = FAMILIES.index("capacity")


def _language_name(code: str) -> str:
    return "BSL" if code == "bsl" else code.capitalize()


def _modality_name(code: str) -> str:
    return {
        "psychodynamic": "psychodynamic therapy",
        "dit": "dynamic interpersonal therapy (DIT)",
        "cat": "cognitive analytic therapy (CAT)",
    }.get(code, code)


def _interpreter(referral: Referral) -> str:
    name = _language_name(referral.language)
    article = "an" if name[0] in "AEIOU" else "a"
    return f"{article} {name} interpreter"


@functools.lru_cache(maxsize=4096)
def _times(pairs: frozenset[tuple[int, int]] | tuple[tuple[int, int], ...]) -> str:
    # Cached: many clients share the same few patterns of availability.
    return ", ".join(f"{DAY_NAMES[d][:3]} {PARTS[p]}" for d, p in sorted(pairs))


def _place_phrase(referral: Referral) -> str:
    places = list(referral.sites) if referral.mode != "remote" else []
    if referral.accepts_remote:
        places.append("remote")
    return " or ".join(places) if places else "nowhere"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _priority_phrase(referral: Referral, priority: int) -> str:
    weeks = referral.weeks_waiting
    standard = ""
    if weeks >= 18:
        standard = ", past the 6- and 18-week standards"
    elif weeks >= 6:
        standard = ", past the 6-week standard"
    risk = referral.risk_words or f"{referral.risk} risk"
    return f"priority {priority}: waiting {_plural(weeks, 'week')}{standard}, {risk}"


def _assignment_reasons(
    referral: Referral, therapist: Therapist, slots: Sequence[Slot], priority: int
) -> list[str]:
    """Every hard constraint and preference the proposal meets, in the data's own words."""
    reasons = [_priority_phrase(referral, priority)]
    reasons.append(f"offers {_modality_name(referral.modality)}")
    lang = _language_name(referral.language)
    speaks = referral.language in therapist.languages
    if referral.needs_interpreter and speaks:
        reasons.append(f"speaks {lang}, so no interpreter is needed")
    elif referral.needs_interpreter:
        reasons.append(f"works with {_interpreter(referral)}")
    else:
        reasons.append(f"speaks {lang}")
    if referral.gender_strength == "required":
        reasons.append(f"gender requirement ({referral.gender}) met")
    elif referral.gender_strength == "preferred":
        met = therapist.gender == referral.gender
        reasons.append(f"gender preference ({referral.gender}) {'met' if met else 'not met'}")
    k = referral.sessions_per_week
    if k == 1:
        reasons.append("offers weekly sessions")
    else:
        reasons.append(f"offers {k} sessions a week, on different days")
    for slot in slots:
        where = "remote" if slot.remote else f"in person at {slot.site}"
        if not slot.remote and slot.site == referral.preferred_site:
            where += ", the preferred site"
        reasons.append(
            f"{slot.label} {PARTS[slot.part]} slot ({slot.length} min, {where}) "
            "matches availability"
        )
    if referral.preferred_site is not None and not all(
        s.site == referral.preferred_site for s in slots
    ):
        reasons.append(f"preferred site ({referral.preferred_site}) not met")
    if referral.preferred_parts:
        wanted = " or ".join(PARTS[p] for p in sorted(referral.preferred_parts))
        met = all(s.part in referral.preferred_parts for s in slots)
        reasons.append(f"preferred time ({wanted}) {'met' if met else 'not met'}")
    reasons.append(f"has a free place ({therapist.capacity} before this allocation)")
    if referral.planned_start is not None:
        reasons.append(f"not on leave on the planned start ({referral.planned_start})")
    if referral.assessor == therapist.id:
        reasons.append("continuity: also assessed the client")
    return reasons


def _failure_phrase(referral: Referral, therapist: Therapist, family: str) -> str:
    if family == "modality":
        return f"does not offer {_modality_name(referral.modality)}"
    if family == "language":
        return f"does not speak {_language_name(referral.language)}"
    if family == "gender":
        return f"is not {referral.gender} (required)"
    if family == "frequency":
        return f"does not offer {referral.sessions_per_week} sessions a week"
    if family == "leave":
        start, end = therapist.on_leave(referral.planned_start)
        return f"on leave {start} to {end}"
    if family == "capacity":
        return "has no free place"
    if not therapist.slots:
        return "has no free slots"
    timely = [s for s in therapist.slots if (s.day, s.part) in referral.availability]
    if not timely:
        offered = ", ".join(s.label for s in therapist.slots[:4])
        return f"no slot in the client's available times (has {offered})"
    if not any(referral.accepts_slot_site(s.site) for s in therapist.slots):
        return f"no slot at {_place_phrase(referral)}"
    if not any(referral.accepts_slot_site(s.site) for s in timely):
        return f"no slot both in the client's times and at {_place_phrase(referral)}"
    return f"fitting slots on fewer than {referral.sessions_per_week} different days"


def _meets_phrase(referral: Referral, therapist: Therapist, family: str) -> str | None:
    if family == "modality":
        return f"offers {_modality_name(referral.modality)}"
    if family == "language" and referral.language in therapist.languages:
        return f"speaks {_language_name(referral.language)}"
    if family == "gender" and referral.gender_strength == "required":
        return f"is {referral.gender}"
    if family == "frequency" and referral.sessions_per_week > 1:
        return f"offers {referral.sessions_per_week} sessions a week"
    if family == "capacity":
        return f"has {_plural(therapist.capacity, 'free place')}"
    if family == "slots":
        return "has slots that fit"
    return None


def _funnel_sentence(referral: Referral, survivors: Sequence[int], service_size: int) -> str:
    """How the service's therapists narrow down, one requirement at a time, to none."""
    k = referral.sessions_per_week

    def words(family: str) -> str:
        if family == "modality":
            return f"offer {_modality_name(referral.modality)}"
        if family == "language":
            if referral.needs_interpreter:
                return "can work with an interpreter"
            return f"speak {_language_name(referral.language)}"
        if family == "gender":
            return f"are {referral.gender}"
        if family == "frequency":
            return "offer weekly sessions" if k == 1 else f"offer {k} sessions a week"
        if family == "leave":
            return f"are not on leave on {referral.planned_start}"
        if family == "capacity":
            return "have a free place"
        return (
            f"have a free slot in the client's times ({_times(referral.availability) or 'none'})"
            f" at {_place_phrase(referral)}" + ("" if k == 1 else f" on {k} different days")
        )

    steps = [f"{_plural(service_size, 'therapist')} in service {referral.service!r}"]
    previous = service_size
    # Every requirement this client has is shown; the others only when they cut.
    shown = {"modality", "slots"}
    if referral.language != "english" and not referral.needs_interpreter:
        shown.add("language")
    if referral.gender_strength == "required":
        shown.add("gender")
    if k > 1:
        shown.add("frequency")
    for family, count in zip(FAMILIES, survivors, strict=True):
        if count < previous or family in shown:
            steps.append(f"{words(family)}: {count}")
        previous = count
    return "no therapist meets every requirement: " + " -> ".join(steps)


def _suggestion(referral: Referral, thers: Sequence[Therapist], family: str, count: int) -> str:
    """What single change would make ``count`` therapists (``thers``: examples) eligible."""
    names = ", ".join(t.id for t in thers)

    def one(singular: str, plural: str) -> str:
        return singular if count == 1 else plural

    who = f"{_plural(count, 'therapist')} ({names}{', ...' if count > len(thers) else ''})"
    if family == "modality":
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('does', 'do')} not offer "
            f"{_modality_name(referral.modality)}"
        )
    if family == "language":
        return f"booking {_interpreter(referral)} would make {who} eligible"
    if family == "gender":
        return (
            f"a preference rather than a requirement for a {referral.gender} therapist "
            f"would make {who} eligible"
        )
    if family == "frequency":
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('does', 'do')} not offer "
            f"{referral.sessions_per_week} sessions a week"
        )
    if family == "leave":
        ends = [t.on_leave(referral.planned_start) for t in thers]
        back = min(end for _, end in ends if end) + dt.timedelta(days=1)
        return f"a start on or after {back} would make {who} eligible (back from leave)"
    if family == "capacity":
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} no free "
            "place; next in line when one frees up"
        )
    # Slots: say which change of times or places would open them.
    k = referral.sessions_per_week
    if not any(t.slots for t in thers):
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} no free slots"
        )
    if not referral.availability:
        return f"recording when the client is available would let {who} be considered"
    if len({d for d, _ in referral.availability}) < k:
        return (
            f"availability on at least {k} different days ({k} sessions a week) would let "
            f"{who} be considered"
        )
    missing_times: dict[tuple[int, int], int] = defaultdict(int)
    missing_places: dict[str, int] = defaultdict(int)
    for t in thers:
        for s in t.slots:
            in_time = (s.day, s.part) in referral.availability
            at_place = referral.accepts_slot_site(s.site)
            if at_place and not in_time:
                missing_times[(s.day, s.part)] += 1
            if in_time and not at_place:
                missing_places[s.site] += 1
    hints = []
    if missing_times:
        top = sorted(missing_times, key=lambda x: (-missing_times[x], x))[:3]
        hints.append(f"adding {_times(tuple(top))} to the client's availability")
    if missing_places:
        top_places = sorted(missing_places, key=lambda x: (-missing_places[x], x))[:2]
        hints.append(
            "accepting " + " or ".join("remote sessions" if p == REMOTE else p for p in top_places)
        )
    if hints:
        them = "it" if count == 1 else "some of them"
        change = " or ".join(hints)
        return f"{who} {one('lacks', 'lack')} only a fitting slot: {change} would open {them}"
    return (
        f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} no free slot in "
        "the client's times at "
        f"{_place_phrase(referral)}" + ("" if k == 1 else f" on {k} different days")
    )


def _explain_unplaced(
    problem: Problem, g: _Group, rows: np.ndarray, plan: _Plan
) -> dict[int, Unplaced]:
    """Why each unplaced referral (group positions ``rows``) waits, and what would place it."""
    out: dict[int, Unplaced] = {}
    if len(rows) == 0:
        return out
    T, U = len(g.thers), len(rows)
    # One byte per (therapist, unplaced referral): bit j set when the therapist fails
    # family j.
    code = np.zeros((T, U), dtype=np.uint8)
    bit = np.empty((T, U), dtype=np.uint8)
    for j, family in enumerate(FAMILIES):
        if family == "capacity":  # the same for every referral
            code[g.t_cap <= 0] |= np.uint8(1 << j)
            continue
        meets = np.take(g.meets[family], rows, axis=1)
        np.logical_not(meets, out=bit.view(bool))
        np.left_shift(bit, j, out=bit)
        np.bitwise_or(code, bit, out=code)
    del bit
    patterns = 1 << len(FAMILIES)
    popcount = np.array([bin(c).count("1") for c in range(patterns)], dtype=np.uint8)
    n_eligible = np.add.reduce(code == 0, axis=0, dtype=np.int32)
    # Therapists one relaxed requirement away (a full caseload does not count).
    one_away = np.array(
        [popcount[c] == 1 and c != 1 << _CAPACITY for c in range(patterns)], dtype=bool
    )
    wider_count = np.add.reduce(one_away[code], axis=0, dtype=np.int32).tolist()
    # The first five eligible therapists of each referral: the pairs in referral order,
    # each pair's rank among its referral's, and the first five ranks kept.
    pair_u, pair_t = np.nonzero(np.ascontiguousarray((code == 0).T))
    starts = np.r_[0, np.cumsum(n_eligible)[:-1]]
    rank = np.arange(len(pair_u)) - starts[pair_u]
    keep = rank < 5
    first = np.full((U, 5), -1, dtype=np.int64)
    first[pair_u[keep], rank[keep]] = pair_t[keep]
    first_rows = first.tolist()
    # The full failure histogram only for referrals that no therapist can take.
    blocked = np.flatnonzero(n_eligible == 0)
    by_referral = np.ascontiguousarray(code[:, blocked].T)  # (B, T)
    B = len(blocked)
    hist = np.bincount(
        (np.arange(B, dtype=np.int64)[:, None] * patterns + by_referral).ravel(),
        minlength=B * patterns,
    ).reshape(B, patterns)
    single_count = hist[:, [1 << j for j in range(len(FAMILIES))]]
    funnel = np.stack(
        [
            hist[:, [c for c in range(patterns) if c & ((2 << j) - 1) == 0]].sum(axis=1)
            for j in range(len(FAMILIES))
        ],
        axis=1,
    )
    position = {int(n): i for i, n in enumerate(blocked)}

    # After allocation: free places and the lowest priority placed, per therapist.
    places_left = g.t_cap.copy()
    lowest = np.full(T, -1, dtype=np.int64)
    for r, (t, _cols) in plan.placed.items():
        places_left[t] -= 1
        p = int(g.priority[r])
        lowest[t] = p if lowest[t] < 0 else min(lowest[t], p)

    single_rows = single_count.tolist()
    funnel_rows = funnel.tolist()
    eligible_counts = n_eligible.tolist()
    ids = [t.id for t in g.thers]
    places_left, lowest = places_left.tolist(), lowest.tolist()
    priorities = g.priority.tolist()
    for n, row in enumerate(rows.tolist()):
        referral = g.refs[row]
        priority = priorities[row]
        reasons: list[str] = []
        suggestions: list[str] = []
        outranked = eligible_counts[n] > 0
        if outranked:
            key = (tuple(first_rows[n]), eligible_counts[n], referral.sessions_per_week > 1)
            floor, higher_text, lower_text, states, next_in_line = _outranked_words(
                key, ids, places_left, lowest
            )
            reasons.append(higher_text if floor >= priority else lower_text)
            reasons.append(f"{states} (this referral {priority})")
            suggestions.append(next_in_line)
            # What places it is a place freeing up; wider requirements only add
            # therapists who may be just as full, so they are counted, not spelt out.
            if wider_count[n]:
                suggestions.append(
                    "relaxing one requirement would make "
                    f"{_plural(wider_count[n], 'more therapist')} eligible"
                )
        else:
            b = position[n]
            pattern = by_referral[b]
            reasons.append(_funnel_sentence(referral, funnel_rows[b], T))
            t = int(popcount[pattern].argmin())
            th = g.thers[t]
            bits = int(pattern[t])
            failed = [f for j, f in enumerate(FAMILIES) if bits >> j & 1]
            met = [
                phrase
                for f in FAMILIES
                if f not in failed and (phrase := _meets_phrase(referral, th, f)) is not None
            ]
            reasons.append(
                f"nearest: {th.id} ("
                + "; ".join(met + [_failure_phrase(referral, th, f) for f in failed])
                + ")"
            )
            # The two single changes that would open up the most therapists.
            counts = single_rows[b]
            ranked = sorted((-count, j) for j, count in enumerate(counts) if count)[:2]
            for minus_count, j in ranked:
                picked = np.flatnonzero(pattern == 1 << j)[:3].tolist()
                suggestions.append(
                    _suggestion(referral, [g.thers[t] for t in picked], FAMILIES[j], -minus_count)
                )
        if not suggestions:
            suggestions.append(
                "no single change makes a therapist eligible; review the requirements with "
                "the client or widen the service's offer"
            )
        out[int(g.ref_ids[row])] = Unplaced(
            referral=referral.id,
            priority=priority,
            reasons=tuple(reasons),
            suggestions=tuple(suggestions),
        )
    return out


def _outranked_words(key: tuple, ids: list[str], places_left: list[int], lowest: list[int]):
    """The wording for referrals that meet every requirement with the same therapists (the
    first five eligible, and how many in all) but are not placed."""
    first, total, multi = key
    eligible = [t for t in first if t >= 0]
    names = ", ".join(ids[t] for t in eligible)
    more = f" and {total - 5} more" if total > 5 else ""
    opening = (
        f"meets every requirement with {_plural(total, 'therapist')} ({names}{more}), but "
        "their places and fitting slots "
    )
    higher = opening + "went to people ranked higher (waiting longer or at higher risk)"
    # Someone placed there ranks lower: the objective counts placements first.
    lower = opening + (
        "are taken, some by people ranked lower: the allocation places as many people as "
        "it can first, then ranks them by wait and risk"
    )
    # The lowest priority placed with any of them (-1 if one has nobody placed).
    floor = min(lowest[t] for t in eligible)
    states = []
    for t in eligible[:3]:
        if places_left[t] <= 0:
            state = "no free place left"
        elif multi:
            state = "too few fitting slots left on different days"
        else:
            state = "the fitting slots are taken"
        if lowest[t] >= 0:
            state += f", lowest priority placed there {lowest[t]}"
        states.append(f"{ids[t]}: {state}")
    next_in_line = (
        "next in line when "
        + " or ".join(ids[t] for t in eligible[:3])
        + " has a free place and a fitting slot"
    )
    return floor, higher, lower, "; ".join(states), next_in_line


def _explain_no_therapists(problem: Problem, ref_ids: Sequence[int]) -> dict[int, Unplaced]:
    out = {}
    for i in ref_ids:
        r = problem.referrals[i]
        out[i] = Unplaced(
            referral=r.id,
            priority=priority_of(r, problem.weights),
            reasons=(f"no therapists in service {r.service!r}",),
            suggestions=("add therapists with free places to this service",),
        )
    return out
