"""The CP-SAT path: an exact model of one small service (OR-tools CP-SAT).

Used when the decomposition's answer is not proven optimal and the service has at most
``exact_limit`` candidate (referral, slot) pairs; the decomposition's plan is its hint.
One worker and a fixed seed, so the same input gives the same answer.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from typing import Any

import numpy as np

from allocation.engine.group import _Group, _Plan, _plan_value
from allocation.engine.problem import CAP_KINDS


def _cp_sat(g: _Group, hint: _Plan, time_limit: float) -> _Plan | None:
    """Exact model of one service, for services small enough (see ``exact_limit``).

    One objective, ``place_scale * placed + scale * priority + fit``, lexicographic by the
    choice of the two multipliers (see ``Problem``). Returns None if no solution was found
    within ``time_limit``.
    """
    from ortools.sat.python import cp_model

    weights = g.problem.weights
    model = cp_model.CpModel()
    slot_vars: dict[int, list] = defaultdict(list)
    ther_load: dict[int, list] = defaultdict(list)
    priority_terms, fit_terms, ther_load_all = [], [], []
    # row -> [(therapist, literal "placed with this therapist", {slot: literal})]
    choice: dict[int, list[tuple[int, Any, dict[int, Any]]]] = defaultdict(list)
    for row in np.flatnonzero(g.eligible.any(axis=0)).tolist():
        k = int(g.r_k[row])
        priority = int(g.priority[row])
        pref_site = int(g.r_pref_site[row])
        pref_part = g.r_pref_part[:, row]
        options = []
        for t in np.flatnonzero(g.eligible[:, row]).tolist():
            cols = g.candidates(row, t)
            pair_fit = g.pair_fit_one(t, row)
            y = model.new_bool_var(f"y{row}_{t}")
            xs = {s: model.new_bool_var(f"x{row}_{s}") for s in cols}
            model.add(sum(xs.values()) == k * y)
            by_day: dict[int, list] = defaultdict(list)
            for s, x in xs.items():
                by_day[int(g.s_day[s])].append(x)
                slot_vars[s].append(x)
            for same_day in by_day.values():
                if len(same_day) > 1:
                    model.add(sum(same_day) <= y)
            ther_load[t].append((k, row, y))
            ther_load_all.append(y)
            options.append(y)
            priority_terms.append(priority * y)
            if pair_fit:
                fit_terms.append(pair_fit * y)
            bonuses = []
            if pref_site >= 0:
                bonuses.append((weights.fit_site, [g.s_site[s] == pref_site for s in cols]))
            if pref_part.any():
                bonuses.append((weights.fit_time, [bool(pref_part[g.s_part[s]]) for s in cols]))
            if k == 1:  # a bonus is simply the slot's own
                for points, good in bonuses:
                    fit_terms.extend(points * xs[s] for s, ok in zip(cols, good, strict=True) if ok)
                bonuses = []
            for points, good in bonuses:
                if points == 0 or sum(good) < k:
                    continue
                bonus = model.new_bool_var("")
                model.add_implication(bonus, y)
                for s, ok in zip(cols, good, strict=True):
                    if not ok:
                        model.add_implication(bonus, xs[s].Not())
                fit_terms.append(points * bonus)
            choice[row].append((t, y, xs))
        model.add_at_most_one(options)
    for xs in slot_vars.values():
        model.add_at_most_one(xs)
    for t, options in ther_load.items():
        # Weekly sessions: a client seen k times a week uses k of them.
        if sum(k for k, _, _ in options) > g.t_cap[t]:
            model.add(sum(k * y for k, _, y in options) <= int(g.t_cap[t]))
        # The caps on high-risk and complex clients.
        for kind in CAP_KINDS:
            if kind in g.trivial:
                continue
            counted = [y for _, row, y in options if g.r_kind[kind][row]]
            if len(counted) > g.t_room[kind][t]:
                model.add(sum(counted) <= int(g.t_room[kind][t]))
    for row, options in choice.items():
        assigned = hint.placed.get(row)
        for t, y, xs in options:
            on = assigned is not None and assigned[0] == t
            model.add_hint(y, on)
            for s, x in xs.items():
                model.add_hint(x, on and s in assigned[1])

    started = time.perf_counter()
    scale, place_scale = g.problem.scale, g.problem.place_scale
    model.maximize(place_scale * sum(ther_load_all) + scale * sum(priority_terms) + sum(fit_terms))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # one worker: the same input gives the same answer
    solver.parameters.random_seed = 7
    solver.parameters.max_time_in_seconds = time_limit
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    optimal = status == cp_model.OPTIMAL
    bound = math.floor(solver.best_objective_bound)
    plan = _Plan(method="cp_sat", optimal=optimal)
    plan.solver_seconds = time.perf_counter() - started
    for row, options in choice.items():
        for t, y, xs in options:
            cols = tuple(sorted(s for s, x in xs.items() if solver.value(x)))
            if solver.value(y):
                plan.placed[row] = (t, cols)
    plan.upper_bound = _plan_value(g, plan) if optimal else bound
    return plan
