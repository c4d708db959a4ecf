"""``solve``: each service by the flow, the decomposition or CP-SAT; the whole result.

Weekly-only services are one exact flow; others go through the decomposition, then
CP-SAT when small enough and not yet proven optimal, and never end below greedy. ``solve``
assembles proposals, explanations, the objective with its bound, and timings.
"""

from __future__ import annotations

import time

import numpy as np

from allocation.engine.cp_sat import _cp_sat
from allocation.engine.decompose import _decompose
from allocation.engine.explain import _explain_no_therapists, _explain_unplaced
from allocation.engine.flow import _flow_assign
from allocation.engine.group import _Group, _groups, _Inputs, _Plan, _plan_value
from allocation.engine.problem import Assignment, Problem, Result, Unplaced, _bulk
from allocation.engine.prune import (
    _ROUNDS,
    _explain_left_out,
    _first_guess,
    _thin_out,
    _uncertified,
)
from allocation.engine.result import _make_assignment, _objective
from allocation.engine.swaps import _improve_by_swaps

# Services with more candidate (referral, slot) pairs than this skip the decomposition's
# improvement rounds, to stay within the time target; the upper bound shows the cost.
_IMPROVE_UP_TO = 50_000


def _solve_group(g: _Group, exact_limit: int, time_limit: float) -> _Plan:
    plan = _solve_exact_or_decompose(g, exact_limit, time_limit)
    if not plan.optimal:
        # Not proven optimal: never return less than the greedy baseline would.
        baseline = _Plan(placed=g.greedy_placed())
        if _plan_value(g, baseline) > _plan_value(g, plan):
            plan.placed = baseline.placed
            plan.method = "greedy"
        # Then improve by swaps until none is left (or the time is up).
        t0 = time.perf_counter()
        before = _plan_value(g, plan)
        plan.swaps_done = _improve_by_swaps(g, plan, t0 + time_limit)
        plan.solver_seconds += time.perf_counter() - t0
        value = _plan_value(g, plan)
        if value > before and plan.method == "greedy":
            plan.method = "greedy+swaps"
        plan.upper_bound = max(plan.upper_bound, value)
        plan.optimal = value == plan.upper_bound
    return plan


def _solve_exact_or_decompose(g: _Group, exact_limit: int, time_limit: float) -> _Plan:
    # Referrals seen more than weekly, or under a cap that may bind: not the flow's.
    multi_rows = g.special & g.eligible.any(axis=0)
    if not multi_rows.any():
        arc_r, arc_s, arc_v = g.arcs()
        t0 = time.perf_counter()
        used, dist = _flow_assign(arc_r, arc_s, arc_v, g.s_t, g.t_cap, len(g.refs))
        plan = _Plan(solver_seconds=time.perf_counter() - t0)
        plan.upper_bound = int(arc_v[used].sum())
        plan.potentials, plan.relaxed = dist, plan.upper_bound
        for r, s in zip(arc_r[used].tolist(), arc_s[used].tolist(), strict=True):
            plan.placed[r] = (int(g.s_t[s]), (s,))
        return plan
    candidates = int(g.ok.sum())
    plan = _decompose(g, passes=3 if candidates <= _IMPROVE_UP_TO else 0)
    if plan.optimal or candidates > exact_limit:
        return plan
    exact = _cp_sat(g, plan, time_limit)
    if exact is None:
        return plan
    exact.solver_seconds += plan.solver_seconds
    exact.upper_bound = min(exact.upper_bound, plan.upper_bound)
    if _plan_value(g, exact) < _plan_value(g, plan):
        plan.upper_bound = exact.upper_bound
        return plan
    return exact


def _solve_pruned(
    problem: Problem, ref_ids: list[int], ther_ids: list[int], exact_limit: int, time_limit: float
) -> tuple[_Group, _Plan, np.ndarray, float]:
    """One service, on the referrals that can matter (prune.py): solve on the first guess,
    add the left-out referrals the answer does not cover, until it covers them all (or
    solve on everyone). Returns the group, the plan, the referrals left out (problem
    positions) and the seconds spent checking them."""
    kept = _first_guess(problem, ref_ids, ther_ids)
    checking = 0.0
    # The service's inputs, read once: every group below (each round's, each chunk's
    # checked or explained) is built on a part of them.
    inputs = _Inputs(problem, ref_ids, ther_ids)
    for round_ in range(_ROUNDS + 1):
        pruned = len(kept) < len(ref_ids)
        if pruned and round_ == 0:
            # Therapists few kept referrals fit with: add their likely clients now (who
            # fits where is all this needs of the kept referrals' group).
            g = _Group(problem, kept, ther_ids, inputs, eligible_only=True)
            t0 = time.perf_counter()
            kept_set = set(kept)
            rest = np.asarray([i for i in ref_ids if i not in kept_set], dtype=np.int64)
            extra = _thin_out(problem, g, rest, ther_ids)
            checking += time.perf_counter() - t0
            if len(extra):
                kept = sorted(kept_set.union(extra.tolist()))
        g = _Group(problem, kept, ther_ids, inputs)
        # A pruned service is far above CP-SAT's size; its bound must be the relaxation's.
        plan = _solve_group(g, 0 if pruned else exact_limit, time_limit)
        if not pruned:
            return g, plan, np.zeros(0, dtype=np.int64), checking
        t0 = time.perf_counter()
        kept_set = set(kept)
        omitted = np.asarray([i for i in ref_ids if i not in kept_set], dtype=np.int64)
        failed = _uncertified(problem, g, plan, omitted, ther_ids)
        checking += time.perf_counter() - t0
        if failed is not None and not len(failed):
            return g, plan, omitted, checking
        if failed is None or round_ == _ROUNDS - 1:
            kept = list(ref_ids)  # nothing proven, or too many rounds: everyone
        else:
            kept = sorted(kept_set.union(failed.tolist()))
    raise AssertionError("unreachable: the last round solves on everyone")


@_bulk()
def solve(problem: Problem, *, exact_limit: int = 1_500, time_limit: float = 3.0) -> Result:
    """Allocate the waiting list: the best proposal under the lexicographic objective.

    Each service is solved on its own. With only weekly referrals it is a min-cost flow,
    solved exactly. With referrals seen several times a week it goes through the flow
    decomposition, which also yields an upper bound; if that bound is not met and the
    service has at most ``exact_limit`` candidate (referral, slot) pairs, CP-SAT solves it
    exactly (up to ``time_limit`` seconds per service, else its best answer is kept).
    ``objective["optimal"]`` says whether the whole result is proven optimal.
    """
    started = time.perf_counter()
    build = solver = explain = 0.0
    assignments: list[tuple[int, Assignment]] = []
    unplaced: dict[int, Unplaced] = {}
    methods: set[str] = set()
    optimal = True
    swaps_done = True
    bound = placed_bound = priority_bound = 0
    placed_proven = True
    pairs = candidates = left_out = 0
    pruning = 0.0
    for ref_ids, ther_ids in _groups(problem).values():
        if not ref_ids:
            continue
        if not ther_ids:
            t0 = time.perf_counter()
            unplaced.update(_explain_no_therapists(problem, ref_ids))
            explain += time.perf_counter() - t0
            continue
        t0 = time.perf_counter()
        g, plan, omitted, checking = _solve_pruned(
            problem, ref_ids, ther_ids, exact_limit, time_limit
        )
        pairs += int(g.eligible.sum())
        candidates += int(g.ok.sum())
        left_out += len(omitted)
        pruning += checking
        solver += plan.solver_seconds
        build += time.perf_counter() - t0 - plan.solver_seconds
        methods.add(plan.method)
        optimal = optimal and plan.optimal
        swaps_done = swaps_done and plan.swaps_done
        bound += plan.upper_bound
        # Each service's bound splits like its value (its placements alone are below
        # place_scale); summed after the split, so no service's rest carries into another.
        service_placed, rest = divmod(plan.upper_bound, problem.place_scale)
        placed_bound += service_placed
        priority_bound += rest // problem.scale
        placed_proven = placed_proven and service_placed == len(plan.placed)
        t0 = time.perf_counter()
        for row, (t, cols) in plan.placed.items():
            ri, ti = int(g.ref_ids[row]), int(g.ther_ids[t])
            slots = [g.slots[s] for s in cols]
            assignments.append((ri, _make_assignment(problem, ri, ti, slots)))
        rows = np.asarray([r for r in range(len(g.refs)) if r not in plan.placed], dtype=np.int64)
        unplaced.update(_explain_unplaced(problem, g, rows, plan))
        if len(omitted):
            explained, omitted_pairs = _explain_left_out(problem, g, plan, omitted, ther_ids)
            unplaced.update(explained)
            pairs += omitted_pairs
        explain += time.perf_counter() - t0
    assignments.sort(key=lambda pair: pair[0])
    ordered = [a for _, a in assignments]
    objective = _objective(
        problem,
        ordered,
        method="+".join(sorted(methods)) or "none",
        optimal=optimal,
        upper_bound=bound,
    )
    # What is proven: no allocation places more than placed_bound; when that is the
    # number placed, none placing as many has more priority than priority_bound.
    objective["placed_bound"] = placed_bound
    if placed_proven:
        objective["priority_bound"] = priority_bound
        objective["priority_gap"] = (
            round((priority_bound - objective["priority"]) / priority_bound, 6)
            if priority_bound > 0
            else 0.0
        )
    else:
        objective["priority_bound"] = None
        objective["priority_gap"] = None
    objective["proven"] = (
        "optimal" if optimal else ("number placed" if placed_proven else "bound only")
    )
    objective["no_improving_swap"] = swaps_done
    stats = {
        "considered": len(problem.referrals),
        "therapists": len(problem.therapists),
        "placed": len(ordered),
        "unplaced": len(unplaced),
        "eligible_pairs": pairs,
        "candidate_slots": candidates,
        "left_out": left_out,
        "build_seconds": round(build, 4),
        "prune_check_seconds": round(pruning, 4),
        "solve_seconds": round(solver, 4),
        "explain_seconds": round(explain, 4),
        "total_seconds": round(time.perf_counter() - started, 4),
    }
    return Result(
        assignments=tuple(ordered),
        unplaced=tuple(unplaced[i] for i in sorted(unplaced)),
        objective=objective,
        stats=stats,
    )
