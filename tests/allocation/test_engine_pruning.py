"""Pruning (allocation/engine/prune.py): a large service is solved on the referrals that can
matter; the rest are proven not to. The candidates kept must hold the same optimum as the
whole list, twice-weekly clients and ties in priority included, and every guarantee of the
engine (no improving swap, a true bound, true reasons) must hold for the whole list.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_pruning.py -p no:django --noconftest
"""

from __future__ import annotations

import numpy as np
import pytest

from allocation.engine import (
    _cp_sat,
    _Group,
    _groups,
    parse_problem,
    prune,
    result_to_dict,
    solve,
    solver,
)
from allocation.engine.explain import _explain_unplaced
from allocation.engine.group import _Plan, _plan_value
from allocation.engine.scoring import _priorities
from allocation.engine.solver import _solve_pruned
from allocation.problem_gen import generate_problem
from tests.allocation.engine_oracle import check_hard_constraints
from tests.allocation.swap_oracle import improving_swap
from tests.allocation.test_engine_swaps_bounds import check_every_claim


def _tied(data: dict) -> dict:
    """Three waits and one risk for everyone: priorities tie in large blocks, so
    only fit (and the rest of the problem) tells tied referrals apart."""
    for n, referral in enumerate(data["referrals"]):
        referral.pop("referral_date", None)
        referral["weeks_waiting"] = (4, 12, 30)[n % 3]
        referral["risk"] = "low"
    return data


def _problem(referrals, therapists, seed, multi, tied, caseload_mix=True):
    data = generate_problem(
        referrals=referrals,
        therapists=therapists,
        seed=seed,
        multi_session_share=multi,
        caseload_mix=caseload_mix,
    )
    return _tied(data) if tied else data


def _exact(group) -> int:
    plan = _cp_sat(group, _Plan(), time_limit=60)
    assert plan is not None and plan.optimal
    return _plan_value(group, plan)


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize(("multi", "seed"), [(0.0, 0), (0.0, 1), (0.4, 0), (0.4, 1), (0.4, 2)])
def test_the_kept_candidates_hold_the_optimum_of_the_whole_list(monkeypatch, multi, seed, tied):
    monkeypatch.setattr(prune, "_PRUNE_FROM", 0)
    problem = parse_problem(_problem(160, 14, seed, multi, tied))
    ((ref_ids, ther_ids),) = _groups(problem).values()
    kept, _, left_out, _ = _solve_pruned(problem, ref_ids, ther_ids, 1500, 3.0)
    assert len(left_out) >= len(ref_ids) // 8  # the rule really leaves referrals out
    assert len(kept.refs) + len(left_out) == len(ref_ids)
    whole = _Group(problem, ref_ids, ther_ids)
    # CP-SAT's proven optimum (placed, then priority, then fit) over the referrals kept
    # equals the one over every referral.
    assert _exact(kept) == _exact(whole)


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("seed", [3, 4])
def test_a_pruned_weekly_service_is_the_same_exact_optimum(monkeypatch, seed, tied):
    monkeypatch.setattr(prune, "_PRUNE_FROM", 0)
    # Weekly clients and no caps: the flow is exact, with and without pruning.
    data = _problem(4000, 60, seed, 0.0, tied, caseload_mix=False)
    problem = parse_problem(data)
    pruned = result_to_dict(solve(problem))
    assert pruned["stats"]["left_out"] > 2000
    monkeypatch.setattr(prune, "_PRUNE_FROM", 10**9)
    whole = result_to_dict(solve(problem))
    assert whole["stats"]["left_out"] == 0
    assert pruned["objective"]["value"] == whole["objective"]["value"]
    assert pruned["objective"]["optimal"] and whole["objective"]["optimal"]
    check_hard_constraints(data, pruned)
    assert len(pruned["unplaced"]) + len(pruned["assignments"]) == len(data["referrals"])


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize(
    ("referrals", "therapists", "multi", "seed"), [(600, 30, 0.5, 0), (1000, 40, 0.3, 1)]
)
def test_a_pruned_service_keeps_every_guarantee(
    monkeypatch, referrals, therapists, multi, seed, tied
):
    monkeypatch.setattr(prune, "_PRUNE_FROM", 0)
    data = _problem(referrals, therapists, seed, multi, tied)
    result = result_to_dict(solve(parse_problem(data), exact_limit=0))
    assert result["stats"]["left_out"] >= referrals // 4
    check_hard_constraints(data, result)
    assert result["objective"]["no_improving_swap"] is True
    assert improving_swap(data, result) is None  # with the left-out referrals too
    check_every_claim(data, result)  # their reasons are true as well


@pytest.mark.parametrize("seed", range(3))
def test_a_pruned_bound_is_a_true_bound(monkeypatch, seed):
    monkeypatch.setattr(prune, "_PRUNE_FROM", 0)
    problem = parse_problem(_problem(160, 14, seed, 0.4, False))
    ((ref_ids, ther_ids),) = _groups(problem).values()
    best = _exact(_Group(problem, ref_ids, ther_ids))
    objective = solve(problem).objective
    assert objective["upper_bound"] >= best
    best_placed = best // problem.place_scale
    assert objective["placed"] <= best_placed <= objective["placed_bound"]


@pytest.mark.parametrize(("seed", "multi"), [(2, 0.1), (3, 0.3), (4, 0.1)])
def test_a_full_therapists_unused_slots_carry_its_place_price(monkeypatch, seed, multi):
    # The flow's potentials can price a full therapist's place at 0 and its used slots
    # instead, leaving its unused slots free: every left-out referral fitting one then
    # fails the check and forces a second solve. Read from the equally optimal dual with
    # the price on the place, these problems are certified after one solve. (Without caps:
    # a capped therapist's prices can still leave a few to check in a second round.)
    monkeypatch.setattr(prune, "_PRUNE_FROM", 0)
    solves = []
    real = solver._solve_group
    monkeypatch.setattr(solver, "_solve_group", lambda *a: solves.append(1) or real(*a))
    problem = parse_problem(
        generate_problem(
            referrals=3000,
            therapists=60,
            seed=seed,
            multi_session_share=multi,
            caseload_mix=False,
        )
    )
    ((ref_ids, ther_ids),) = _groups(problem).values()
    g, plan, left_out, _ = _solve_pruned(problem, ref_ids, ther_ids, 1500, 3.0)
    assert len(left_out) > 1000
    assert len(solves) == 1
    assert plan.upper_bound >= _plan_value(g, plan)


@pytest.mark.parametrize("chunk", [1, 7, 10**6])
def test_left_out_referrals_are_explained_as_in_one_group_with_the_placed(monkeypatch, chunk):
    # Each chunk of left-out referrals is its own group, read against the placed clients'
    # side built once: the same words as the placed clients and every left-out referral
    # explained in one group. Complex cases only among those ranked lowest (left out),
    # some therapists capping them at none: their cap is judged for the chunks though no
    # kept referral counts against it.
    monkeypatch.setattr(prune, "_PRUNE_FROM", 0)
    data = _problem(800, 30, 0, 0.3, False)
    first = parse_problem(data)
    priority = _priorities(first.referrals, first.weights)
    lowest = set(np.argsort(priority, kind="stable")[:40].tolist())
    for n, referral in enumerate(data["referrals"]):
        referral["complex"] = n in lowest
    for therapist in data["therapists"][::3]:
        therapist["max_complex"] = 0
    problem = parse_problem(data)
    ((ref_ids, ther_ids),) = _groups(problem).values()
    g, plan, omitted, _ = _solve_pruned(problem, ref_ids, ther_ids, 0, 3.0)
    assert len(omitted) and not g.r_kind["complex"].any()
    assert any(problem.referrals[i].complex for i in omitted.tolist())
    rows = sorted(plan.placed)
    placed_ids = g.ref_ids[rows].tolist()
    whole = _Group(problem, placed_ids + omitted.tolist(), ther_ids)
    moved = _Plan(placed={n: plan.placed[row] for n, row in enumerate(rows)})
    expected = _explain_unplaced(
        problem, whole, np.arange(len(rows), len(rows) + len(omitted)), moved
    )
    monkeypatch.setattr(prune, "_CHUNK", chunk)
    explained, pairs = prune._explain_left_out(problem, g, plan, omitted, ther_ids)
    assert explained == expected
    assert pairs == int(whole.eligible[:, len(rows) :].sum())
