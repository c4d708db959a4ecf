"""The caseload mix: free weekly sessions (a client seen n times a week uses n) and caps on
high-risk and complex clients per therapist, counting the current caseload.

Checked against the independent readings in ``engine_oracle`` and ``swap_oracle`` on
problems where the caps and the sessions really decide (each test asserts that they do).
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

from allocation.engine import (
    ProblemError,
    _cp_sat,
    _Group,
    _groups,
    parse_problem,
    result_to_dict,
    solve,
)
from allocation.engine.group import _Plan, _plan_value
from allocation.problem_gen import generate_problem
from tests.allocation.engine_oracle import (
    check_hard_constraints,
    exhaustive_best,
    problem_of,
    referral,
    therapist,
    tiny_problem,
    value_of,
)
from tests.allocation.swap_oracle import check_cap_claims, improving_swap
from tests.allocation.test_engine_swaps_bounds import check_every_claim

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
SLOTS = [
    {"id": "tue", "day": 1, "start": "18:00", "length": 50, "site": "North"},
    {"id": "wed", "day": 2, "start": "18:00", "length": 50, "site": "North"},
    {"id": "thu", "day": 3, "start": "18:00", "length": 50, "site": "North"},
]
EVENINGS = [[1, "evening"], [2, "evening"], [3, "evening"]]


def _without_caps(data):
    """The same problem with every cap lifted."""
    data = copy.deepcopy(data)
    for t in data["therapists"]:
        for key in ("max_high_risk", "high_risk_caseload", "max_complex", "complex_caseload"):
            t.pop(key, None)
    return data


def _tight(data, seed):
    """The same problem with the caseload mix made to decide: a cap of 0 to 2 on either
    kind for most therapists, a fifth of the clients high-risk and a quarter complex (from
    their own random stream, so the rest of the problem is unchanged)."""
    data = copy.deepcopy(data)
    rng = random.Random(seed * 7_368_787)
    for t in data["therapists"]:
        for kind in ("high_risk", "complex"):
            if rng.random() < 0.7:
                t[f"max_{kind}"] = rng.randint(0, 2)
                t[f"{kind}_caseload"] = rng.randint(0, t[f"max_{kind}"])
    for r in data["referrals"]:
        if rng.random() < 0.2:
            r["risk"] = "high"
        if rng.random() < 0.25:
            r["complex"] = True
    return data


def mixed(tid="t-1", **extra):
    """A hand-made therapist with free weekly ``sessions`` instead of ``capacity``."""
    row = therapist(tid, **extra)
    if "sessions" in extra:
        row.pop("capacity")
    return row


def _solve(data, **kwargs):
    result = result_to_dict(solve(parse_problem(data), **kwargs))
    check_hard_constraints(data, result)
    return result


# --- Weekly sessions ---------------------------------------------------------------------


def test_a_twice_weekly_client_uses_two_of_the_weekly_sessions():
    data = problem_of(
        [mixed(sessions=3, frequencies=[1, 2], slots=SLOTS)],
        [
            referral("r-twice", weeks_waiting=30, sessions_per_week=2, availability=EVENINGS),
            referral("r-a", weeks_waiting=2, availability=EVENINGS),
            referral("r-b", weeks_waiting=1, availability=EVENINGS),
        ],
    )
    result = _solve(data)
    # Three sessions: the twice-weekly client (two) and one weekly client, not all three.
    assert {a["referral"] for a in result["assignments"]} == {"r-twice", "r-a"}
    assert result["objective"]["optimal"]
    (twice,) = [a for a in result["assignments"] if a["referral"] == "r-twice"]
    assert (
        "has free weekly sessions (3 before this allocation; this client uses 2)"
        in (twice["reasons"])
    )
    (waiting,) = result["unplaced"]
    assert "t-1: no free place left" in waiting["reasons"][1]


def test_capacity_is_read_as_free_weekly_sessions():
    data = problem_of(
        [therapist(capacity=18, caseload=16, frequencies=[1, 2], slots=SLOTS)],
        [
            referral("r-twice", weeks_waiting=10, sessions_per_week=2, availability=EVENINGS),
            referral("r-once"),
        ],
    )
    result = _solve(data)
    # 18 weekly sessions, 16 booked: the twice-weekly client takes both free ones.
    assert [a["referral"] for a in result["assignments"]] == ["r-twice"]
    assert parse_problem(data).therapists[0].capacity == 2


def test_too_few_free_sessions_is_named_with_what_would_change_it():
    data = problem_of(
        [mixed(sessions=1, frequencies=[1, 2], slots=SLOTS)],
        [referral("r-twice", sessions_per_week=2, availability=EVENINGS)],
    )
    (waiting,) = _solve(data)["unplaced"]
    assert "have 2 free weekly sessions: 0" in waiting["reasons"][0]
    assert "has 1 free weekly session (the client is seen 2 times a week)" in waiting["reasons"][1]
    assert any(
        "no free place (fewer than 2 free weekly sessions" in s
        and "2 free weekly sessions would make it eligible" in s
        for s in waiting["suggestions"]
    ), waiting["suggestions"]


def test_when_the_sessions_left_decide_the_reasons_say_so():
    # Two sessions: the long waiter weekly takes one, the twice-weekly client cannot fit
    # in the one left although a fitting slot is free.
    data = problem_of(
        [mixed(sessions=2, frequencies=[1, 2], slots=SLOTS)],
        [
            referral("r-once", weeks_waiting=40, risk="high", availability=[[1, "evening"]]),
            referral("r-twice", weeks_waiting=0, sessions_per_week=2, availability=EVENINGS),
        ],
    )
    result = _solve(data)
    assert [a["referral"] for a in result["assignments"]] == ["r-once"]
    (waiting,) = result["unplaced"]
    assert "too few free weekly sessions left (1; this client needs 2)" in waiting["reasons"][1]
    assert any(
        s.startswith("weekly sessions decide: 1 therapist (t-1: 1 left)")
        for s in waiting["suggestions"]
    ), waiting["suggestions"]


# --- Caps ---------------------------------------------------------------------------------


def test_a_cap_on_high_risk_clients_counts_the_caseload_and_says_what_raising_it_would_do():
    data = problem_of(
        [
            mixed("t-1", sessions=3, slots=SLOTS, max_high_risk=2, high_risk_caseload=1),
        ],
        [
            referral("r-high-1", weeks_waiting=20, risk="high", availability=EVENINGS),
            referral("r-high-2", weeks_waiting=10, risk="high", availability=EVENINGS),
            referral("r-low", weeks_waiting=0, availability=EVENINGS),
        ],
    )
    result = _solve(data)
    # One place left under the cap (2, one in the caseload): the longer waiter, then r-low.
    assert {a["referral"] for a in result["assignments"]} == {"r-high-1", "r-low"}
    assert result["objective"]["optimal"]
    (high,) = [a for a in result["assignments"] if a["referral"] == "r-high-1"]
    assert (
        "within the cap on high-risk clients (at most 2 high-risk clients, 1 in the caseload "
        "before this allocation)"
    ) in high["reasons"]
    (waiting,) = result["unplaced"]
    assert waiting["referral"] == "r-high-2"
    assert "its cap on high-risk clients is reached (at most 2)" in waiting["reasons"][1]
    assert (
        "the cap on high-risk clients decides: 1 therapist (t-1: at most 2) has a free place "
        "and fitting slots left but no room under it; raising that cap by one would let this "
        "client be placed there"
    ) in waiting["suggestions"]
    # And it is true: one more place under the cap places r-high-2 as well.
    raised = copy.deepcopy(data)
    raised["therapists"][0]["max_high_risk"] = 3
    assert _solve(raised)["objective"]["placed"] == 3


def test_a_full_cap_on_complex_clients_leaves_the_therapist_out_and_names_it():
    data = problem_of(
        [
            therapist("t-1", slots=SLOTS, max_complex=1, complex_caseload=1),
            therapist("t-2", slots=SLOTS, languages=["polish"]),
        ],
        [referral("r-complex", complex=True, availability=EVENINGS)],
    )
    (waiting,) = _solve(data)["unplaced"]
    assert "have room under their cap on complex clients: 0" in waiting["reasons"][0]
    assert (
        "1 therapist (t-1) meets everything else but has reached the cap on complex clients "
        "(t-1: at most 1 complex client, 1 in the caseload); raising that cap by one would "
        "make it eligible"
    ) in waiting["suggestions"]


def test_a_client_both_high_risk_and_complex_counts_against_both_caps():
    data = problem_of(
        [mixed("t-1", sessions=3, slots=SLOTS, max_high_risk=1, max_complex=1)],
        [
            referral("r-both", weeks_waiting=30, risk="high", complex=True, availability=EVENINGS),
            referral("r-high", weeks_waiting=20, risk="high", availability=EVENINGS),
            referral("r-complex", weeks_waiting=10, complex=True, availability=EVENINGS),
        ],
    )
    result = _solve(data)
    # r-both alone uses both caps; r-high and r-complex together place two people.
    assert {a["referral"] for a in result["assignments"]} == {"r-high", "r-complex"}
    assert result["objective"]["optimal"]


# --- The independent checkers, on problems where the caps and sessions decide -------------


def test_small_problems_with_caps_reach_the_exhaustive_optimum():
    decided = 0
    for seed in range(250):
        data = tiny_problem(seed, max_referrals=6, max_therapists=3)
        best = exhaustive_best(data)
        decided += best < exhaustive_best(_without_caps(data))
        result = _solve(data)
        objective = result["objective"]
        assert value_of(objective, best) == objective["value"], seed
    assert decided >= 5  # the caps really decide on some of them


def test_the_bound_holds_against_the_proven_optimum_with_caps():
    binding = 0
    for seed in range(4):
        data = _tight(
            generate_problem(referrals=160, therapists=14, seed=seed, multi_session_share=0.4),
            seed,
        )
        problem = parse_problem(data)
        ((ref_ids, ther_ids),) = _groups(problem).values()
        group = _Group(problem, ref_ids, ther_ids)
        exact = _cp_sat(group, _Plan(), time_limit=60)
        assert exact is not None and exact.optimal
        best = _plan_value(group, exact)
        for exact_limit in (0, 1500):
            objective = _solve(data, exact_limit=exact_limit)["objective"]
            assert objective["value"] <= best <= objective["upper_bound"]
            placed = best // problem.place_scale
            assert objective["placed"] <= placed <= objective["placed_bound"]
            if objective["optimal"]:
                assert objective["value"] == best
        # Do the caps bind? Lifted, the optimum is higher.
        lifted = parse_problem(_without_caps(data))
        ((ref_ids, ther_ids),) = _groups(lifted).values()
        free = _Group(lifted, ref_ids, ther_ids)
        binding += _plan_value(free, _cp_sat(free, _Plan(), time_limit=60)) > best
    assert binding >= 2


@pytest.mark.parametrize(
    ("referrals", "therapists", "multi", "seed"),
    [(600, 30, 0.5, 0), (1000, 40, 0.3, 1), (800, 40, 0.2, 9)],
)
@pytest.mark.parametrize("exact_limit", [0, 1500])
def test_no_improving_swap_and_true_reasons_where_caps_bind(
    referrals, therapists, multi, seed, exact_limit
):
    data = _tight(
        generate_problem(
            referrals=referrals, therapists=therapists, seed=seed, multi_session_share=multi
        ),
        seed,
    )
    result = _solve(data, exact_limit=exact_limit)
    assert improving_swap(data, result) is None
    check_every_claim(data, result)
    # Caps and sessions decide here: some therapist's cap is full with clients proposed
    # now, and some reason says that a cap or the sessions decided.
    caps = {t["id"]: t.get("max_high_risk") for t in data["therapists"]}
    held = {t["id"]: t.get("high_risk_caseload", 0) for t in data["therapists"]}
    risky = {r["id"] for r in data["referrals"] if r.get("risk") == "high"}
    for a in result["assignments"]:
        if a["referral"] in risky:
            held[a["therapist"]] += 1
    assert any(caps[t] is not None and held[t] >= caps[t] > 0 for t in caps)
    suggestions = [s for u in result["unplaced"] for s in u["suggestions"]]
    assert any("the cap on" in s or "weekly sessions decide" in s for s in suggestions)


@pytest.mark.parametrize(("referrals", "therapists", "seed"), [(300, 40, 1)])
def test_claims_about_caps_in_the_reasons_are_true(referrals, therapists, seed):
    data = _tight(
        generate_problem(
            referrals=referrals, therapists=therapists, seed=seed, multi_session_share=0.3
        ),
        seed,
    )
    result = _solve(data, exact_limit=0)
    check_every_claim(data, result)
    assert check_cap_claims(data, result) >= 1


def test_the_sessions_claim_is_true():
    data = problem_of(
        [mixed(sessions=2, frequencies=[1, 2], slots=SLOTS)],
        [
            referral("r-once", weeks_waiting=40, risk="high", availability=[[1, "evening"]]),
            referral("r-twice", weeks_waiting=0, sessions_per_week=2, availability=EVENINGS),
        ],
    )
    assert check_cap_claims(data, _solve(data)) == 1


# --- Validation ---------------------------------------------------------------------------


def broken(**extra):
    row = therapist("t-17", **extra)
    if "sessions" in extra and "capacity" not in extra:
        row.pop("capacity")
    return problem_of([row], [referral()])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            broken(sessions=2, capacity=2),
            "therapist 't-17': give 'sessions' or the older 'capacity', not both",
        ),
        (
            broken(sessions=2, caseload=1),
            "therapist 't-17': 'caseload' goes with 'capacity'; 'sessions' is already the free "
            "weekly sessions",
        ),
        (broken(sessions=-1), "therapist 't-17': sessions must be 0 or more"),
        (broken(sessions="3"), "therapist 't-17': 'sessions' must be a whole number"),
        (broken(max_high_risk=-1), "therapist 't-17': max_high_risk must be 0 or more"),
        (broken(max_complex=2.5), "therapist 't-17': 'max_complex' must be a whole number"),
        (
            broken(high_risk_caseload=1),
            "therapist 't-17': 'high_risk_caseload' needs 'max_high_risk' (the cap it counts "
            "against)",
        ),
        (
            broken(max_complex=1, complex_caseload=-2),
            "therapist 't-17': complex_caseload must be 0 or more",
        ),
        (broken(max_high_risk=1001), "therapist 't-17': max_high_risk must be 1000 or less"),
        (
            problem_of([therapist()], [referral("r-9", complex="yes")]),
            "referral 'r-9': 'complex' must be true or false",
        ),
    ],
)
def test_caseload_mix_fields_are_validated_with_one_line(data, message):
    with pytest.raises(ProblemError) as caught:
        parse_problem(data)
    assert str(caught.value) == message


def test_missing_sessions_names_the_field():
    row = therapist("t-17")
    row.pop("capacity")
    with pytest.raises(
        ProblemError, match=r"^therapist 't-17': missing 'sessions' \(free weekly sessions\)$"
    ):
        parse_problem(problem_of([row], [referral()]))


def test_a_null_cap_is_no_cap():
    data = problem_of([therapist(max_high_risk=None, max_complex=None)], [referral(risk="high")])
    assert _solve(data)["objective"]["placed"] == 1


def test_the_documented_example_does_what_its_notes_say():
    data = json.loads((EXAMPLES / "allocation-caseload.json").read_text())
    result = _solve(data)
    placed = {a["referral"]: a["therapist"] for a in result["assignments"]}
    assert placed == {"r-501": "Ada Lewis", "r-503": "Ben Carter"}
    assert result["objective"]["optimal"]
    unplaced = {u["referral"]: u for u in result["unplaced"]}
    assert any(
        s.startswith("the cap on high-risk clients decides: 1 therapist (Ada Lewis: at most 2)")
        for s in unplaced["r-502"]["suggestions"]
    )
    assert "have 2 free weekly sessions: 0" in unplaced["r-504"]["reasons"][0]
