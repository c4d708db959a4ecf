"""Second edition of the engine: no improving swap, a true bound, reasons that are true.

With clients seen more than once a week the engine cannot prove optimality on large
services; what it must still deliver is an allocation no simple exchange improves
(checked by an independent search, ``swap_oracle``), a bound that really bounds (checked
against CP-SAT's proven optimum), and explanations whose every claim holds.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from allocation.engine import _cp_sat, _Group, _groups, parse_problem, result_to_dict, solve
from allocation.engine.explain import _times
from allocation.problem_gen import generate_problem
from tests.allocation.engine_oracle import (
    cap_room,
    competence_allows,
    continuity_allows,
    counts_against,
    course_of,
    day_of,
    excluded_ids,
    free_places,
    gender_allows,
    language_allows,
    minutes,
    on_leave,
    slot_fits,
    times_of,
)
from tests.allocation.swap_oracle import State, check_cap_claims, improving_swap

# (referrals, therapists, share seen more than weekly, seed): each solved in well under a
# second; the first ones had improving swaps before the second edition.
SWAP_PROBLEMS = [(600, 30, 0.5, seed) for seed in range(6)] + [
    (1000, 40, 0.3, seed) for seed in range(3)
]


@pytest.mark.parametrize(("referrals", "therapists", "multi", "seed"), SWAP_PROBLEMS)
@pytest.mark.parametrize("exact_limit", [0, 1500])
def test_no_improving_swap_with_clients_seen_more_than_weekly(
    referrals, therapists, multi, seed, exact_limit
):
    data = generate_problem(
        referrals=referrals, therapists=therapists, seed=seed, multi_session_share=multi
    )
    result = result_to_dict(solve(parse_problem(data), exact_limit=exact_limit))
    assert improving_swap(data, result) is None


# ---------------------------------------------------------------------------------------
# The bound
# ---------------------------------------------------------------------------------------


def _optimum(problem):
    """(placed, priority) of CP-SAT's proven optimum of a one-service problem."""
    ((ref_ids, ther_ids),) = _groups(problem).values()
    group = _Group(problem, ref_ids, ther_ids)
    from allocation.engine.group import _Plan, _plan_value

    exact = _cp_sat(group, _Plan(), time_limit=60)
    assert exact is not None and exact.optimal
    placed, rest = divmod(_plan_value(group, exact), problem.place_scale)
    return placed, rest // problem.scale


@pytest.mark.parametrize("seed", range(6))
def test_the_bound_holds_against_the_proven_optimum(seed):
    data = generate_problem(referrals=160, therapists=14, seed=seed, multi_session_share=0.4)
    problem = parse_problem(data)
    best_placed, best_priority = _optimum(problem)
    for exact_limit in (0, 1500):
        objective = solve(problem, exact_limit=exact_limit).objective
        assert objective["placed"] <= objective["placed_bound"]
        assert best_placed <= objective["placed_bound"]
        if objective["placed_bound"] == objective["placed"]:
            # Placements proven optimal: the priority bound is a bound on that count.
            assert objective["placed"] == best_placed
            assert objective["priority"] <= best_priority <= objective["priority_bound"]
            gap = (objective["priority_bound"] - objective["priority"]) / objective[
                "priority_bound"
            ]
            assert objective["priority_gap"] == pytest.approx(gap, abs=1e-6)
        else:
            assert objective["priority_bound"] is None
            assert objective["priority_gap"] is None
            assert objective["optimal"] is False
        if objective["optimal"]:
            assert (objective["placed"], objective["priority"]) == (best_placed, best_priority)
        else:
            assert objective["proven"] != "optimal"


@pytest.mark.parametrize(
    ("referrals", "therapists", "services", "multi"),
    [(3000, 150, 3, 0.1), (2000, 60, 1, 0.3), (6000, 300, 1, 0.1)],
)
def test_the_placed_bound_never_exceeds_the_places_or_the_clients(
    referrals, therapists, services, multi
):
    data = generate_problem(
        referrals=referrals,
        therapists=therapists,
        services=services,
        seed=7,
        multi_session_share=multi,
    )
    problem = parse_problem(data)
    objective = solve(problem).objective
    places = sum(free_places(t) for t in data["therapists"])
    assert objective["placed"] <= objective["placed_bound"] <= min(places, referrals)
    if objective["priority_gap"] is not None:
        assert objective["priority_gap"] >= 0
    if objective["optimal"]:
        assert objective["proven"] == "optimal"
        assert objective["priority_gap"] == 0.0


# ---------------------------------------------------------------------------------------
# Every reason true
# ---------------------------------------------------------------------------------------

FAMILIES = (
    "modality",
    "competence",
    "language",
    "gender",
    "excluded",
    "frequency",
    "leave",
    "high_risk",
    "complex",
    "capacity",
    "slots",
)


def _fitting_days(referral, therapist, problem=None):
    return {day_of(s["day"]) for s in therapist["slots"] if slot_fits(referral, s, problem)}


def _fails(referral, therapist, problem):
    """The requirement families this therapist fails for this referral."""
    k = referral.get("sessions_per_week", 1)
    checks = {
        "modality": referral["modality"] in therapist["modalities"],
        "competence": competence_allows(referral, therapist),
        "language": language_allows(referral, therapist, problem),
        "gender": gender_allows(referral, therapist),
        "excluded": therapist["id"] not in excluded_ids(referral),
        "continuity": continuity_allows(referral, therapist),
        "frequency": k in therapist.get("frequencies", [1]),
        "leave": not on_leave(therapist, course_of(referral, problem)),
        "high_risk": caps_allow_kind(referral, therapist, "high_risk"),
        "complex": caps_allow_kind(referral, therapist, "complex"),
        "capacity": free_places(therapist) >= k,
        "slots": len(_fitting_days(referral, therapist, problem)) >= k,
    }
    return {family for family, ok in checks.items() if not ok}


def caps_allow_kind(referral, therapist, kind):
    room = cap_room(therapist, kind)
    return not counts_against(referral, kind) or room is None or room > 0


def _only(referral, service, problem, family):
    return [t for t in service if _fails(referral, t, problem) == {family}]


def _parse_times(words):
    days = {"Mon": 0, "Tue": 1, "Wed": 2, "Thu": 3, "Fri": 4, "Sat": 5, "Sun": 6}
    return [[days[w.split()[0]], w.split()[1]] for w in words.split(", ")]


def _clock(m):
    return f"{m // 60:02d}:{m % 60:02d}"


def _check_suggestion(text, r, service, problem):
    """Each suggestion names one requirement, the therapists it would open and how many."""
    assert "relaxing one requirement" not in text
    counted = re.match(r"(?:.*? would make )?(\d+) (?:more )?therapists? \((.*?)\)", text)
    if text.startswith(("no single change", "next in line")):
        return
    if text.startswith(("the cap on", "weekly sessions decide")):
        return  # checked against the proposals by swap_oracle.check_cap_claims
    assert counted, text
    count, names = int(counted.group(1)), counted.group(2).removesuffix(", ...").split(", ")
    if text.startswith("booking") and " interpreter" in text:
        family = "language"
    elif "a preference rather than a requirement" in text or "no longer excluding" in text:
        family = "gender"
    elif "excluded for this client" in text:
        family = "excluded"
    elif "making continuity a wish" in text:
        family = "continuity"
    elif "the competence asked for" in text:
        family = "competence"
    elif " away during the planned course " in text:
        family = "leave"
    elif "not offer" in text and "sessions a week" in text:
        family = "frequency"
    elif "not offer" in text:
        family = "modality"
    elif "reached the cap on high-risk clients" in text:
        family = "high_risk"
    elif "reached the cap on complex clients" in text:
        family = "complex"
    elif "no free place;" in text or "no free place (fewer than" in text:
        family = "capacity"
    else:
        assert "fitting slot" in text or "no free slot" in text, text
        family = "slots"
    only = _only(r, service, problem, family)
    assert count == len(only), (text, [t["id"] for t in only])
    assert set(names) <= {t["id"] for t in only}, text
    if family == "leave":
        back, would = re.search(
            r"a start on or after (\S+) would make (\d+) of them eligible", text
        ).groups()
        moved = dict(r, planned_start=back)
        opened = [t for t in only if not _fails(moved, t, problem)]
        assert len(opened) == int(would), text
        # The whole course must clear: a start a day earlier clears none of them.
        earlier = dt.date.fromisoformat(back) - dt.timedelta(days=1)
        if earlier >= course_of(r, problem)[0]:
            moved = dict(r, planned_start=earlier.isoformat())
            assert all(_fails(moved, t, problem) for t in only), text
        shorter = re.search(r"a course of (\d+) weeks? or fewer would make (\d+) of them", text)
        if shorter:
            moved = dict(r, therapy_weeks=int(shorter.group(1)))
            opened = [t for t in only if not _fails(moved, t, problem)]
            assert len(opened) == int(shorter.group(2)), text
    if family == "slots":
        for change, opened_count in re.findall(
            r"(adding .*? to the client's availability|accepting [^;]*?) would make (\d+) of them",
            text,
        ):
            if change.startswith("adding"):
                times = _parse_times(change.removeprefix("adding ").split(" to the client")[0])
                moved = dict(r, availability=list(r.get("availability", [])) + times)
            else:
                places = change.removeprefix("accepting ").split(" or ")
                sites = [p for p in places if p != "remote sessions"]
                mode = r.get("mode", "either")
                if "remote sessions" in places and mode == "in_person":
                    mode = "either"
                if sites and mode == "remote":
                    mode = "either"
                moved = dict(r, sites=list(r.get("sites", [])) + sites, mode=mode)
            opened = [t for t in only if "slots" not in _fails(moved, t, problem)]
            assert len(opened) == int(opened_count), (text, [t["id"] for t in opened])
        # Widening one of the client's exact windows: the same count, re-derived.
        for day, a, b, start, end, opened_count in re.findall(
            r"widening (\w+) (\d\d:\d\d)\u2013(\d\d:\d\d) to (\d\d:\d\d)\u2013(\d\d:\d\d) "
            r"would make (\d+) of them",
            text,
        ):
            d, lo, hi = day_of(day), minutes(a), minutes(b)
            kept = [w for w in times_of(r) if not (w[0] == d and lo <= w[1] and w[2] <= hi)]
            wider = [*kept, (d, minutes(start), minutes(end))]
            moved = dict(
                r,
                availability=[],
                windows=[{"day": w[0], "start": _clock(w[1]), "end": _clock(w[2])} for w in wider],
            )
            opened = [t for t in only if "slots" not in _fails(moved, t, problem)]
            assert len(opened) == int(opened_count), (text, [t["id"] for t in opened])


def check_every_claim(data, result):
    referrals = {r["id"]: r for r in data["referrals"]}
    placed_at = {}
    for a in result["assignments"]:
        placed_at.setdefault(a["therapist"], []).append((a["priority"], a["referral"]))
    state = State(data, result)
    check_cap_claims(data, result)
    for u in result["unplaced"]:
        r = referrals[u["referral"]]
        service = [t for t in data["therapists"] if t["service"] == r["service"]]
        fits = [t["id"] for t in service if not _fails(r, t, data)]
        first = u["reasons"][0]
        for text in u["suggestions"]:
            _check_suggestion(text, r, service, data)
        if not fits:
            continue
        match = re.match(r"meets every requirement with (\d+) therapists? \((.*?)\),", first)
        assert match and int(match.group(1)) == len(fits), (first, fits)
        assert set(match.group(2).split(" and ")[0].split(", ")) <= set(fits)
        held = [(p, rid, tid) for tid in fits for p, rid in placed_at.get(tid, [])]
        if "went to people ranked higher" in first:
            assert held and all(p > u["priority"] for p, _, _ in held), first
        elif "went to people ranked at least as high" in first:
            assert held and all(p >= u["priority"] for p, _, _ in held), first
            assert any(p == u["priority"] for p, _, _ in held)
        else:
            assert "some by people ranked lower" in first, first
            lower = [(p, rid, tid) for p, rid, tid in held if p < u["priority"]]
            assert lower, first
            lowest = min(p for p, _, _ in lower)
            assert f"lowest priority placed there {lowest}" in first, first
            # None of them could simply make way for this referral.
            for _, rid, _ in lower:
                assert not state.fitting(u["referral"], (rid,)), (u["referral"], rid)
        states = u["reasons"][1]
        for tid, words in re.findall(r"(t-\d+): ([^;(]*)", states):
            mine = [keys for t, keys, _ in state.options[u["referral"]][1] if t == tid]
            free_keys = {k for keys in mine for k in keys if k not in state.used}
            days = {
                day_of(s["day"])
                for t in data["therapists"]
                if t["id"] == tid
                for s in t["slots"]
                if (tid, s["id"]) in free_keys
            }
            left = state.caps[tid] - state.load.get(tid, 0)
            if words.startswith("no free place left"):
                assert left <= 0, (tid, words)
            elif words.startswith("the fitting slots are taken"):
                assert left > 0 and not free_keys, (tid, words)
            elif words.startswith("too few fitting slots left"):
                assert left > 0 and len(days) < r.get("sessions_per_week", 1), (tid, words)


@pytest.mark.parametrize(
    ("referrals", "therapists", "multi", "seed"),
    [(600, 30, 0.5, 0), (600, 30, 0.5, 2), (1000, 40, 0.3, 1), (400, 30, 0.0, 31)],
)
def test_every_claim_in_the_reasons_is_true(referrals, therapists, multi, seed):
    data = generate_problem(
        referrals=referrals, therapists=therapists, seed=seed, multi_session_share=multi
    )
    result = result_to_dict(solve(parse_problem(data), exact_limit=0))
    check_every_claim(data, result)
    # Nothing vague is left: every suggestion names its requirement.
    assert not any(
        "relaxing one requirement" in s for u in result["unplaced"] for s in u["suggestions"]
    )


def test_times_are_written_as_the_suggestions_parse_them():
    assert _times(((0, 0), (2, 2))) == "Mon morning, Wed evening"
