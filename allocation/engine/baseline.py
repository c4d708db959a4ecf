"""The greedy baseline: longest wait first, first therapist who fits.

``greedy(problem)`` is the benchmark's and the tests' yardstick; ``_greedy_placed`` is
the same on one service, which ``solve`` also runs and keeps whenever its own answer is
not proven optimal and greedy's is better.
"""

from __future__ import annotations

import time

import numpy as np

from allocation.engine.group import _Group, _groups, _Loads
from allocation.engine.problem import Assignment, Problem, Result, Unplaced, _bulk
from allocation.engine.result import _make_assignment, _objective
from allocation.engine.scoring import priority_of


def _greedy_placed(g: _Group) -> dict[int, tuple[int, tuple[int, ...]]]:
    """The greedy baseline on one service: longest wait first (input order among equal
    waits); each referral takes the first therapist, in input order, with free weekly
    sessions and room under their caps for it, and free fitting slots on enough different
    days, and their earliest such slots."""
    R = len(g.refs)
    weeks = np.fromiter((r.weeks_waiting for r in g.refs), np.int64, R)
    ok_by_row = np.ascontiguousarray(g.ok.T)  # (R, S): one referral's slots are contiguous
    free = np.ones(len(g.slots), dtype=bool)
    left = g.t_cap.copy()
    open_slot = free & (left[g.s_t] > 0)
    placed: dict[int, tuple[int, tuple[int, ...]]] = {}
    # Weekly sessions and caps: only therapists with room for this referral.
    loads = _Loads(g)
    capped = [kind for kind in loads.kinds if g.r_kind[kind].any()]
    for row in np.argsort(-weeks, kind="stable").tolist():
        cands = np.flatnonzero(ok_by_row[row] & open_slot)
        if not len(cands):
            continue
        k = int(g.r_k[row])
        room = left >= k
        for kind in capped:
            if g.r_kind[kind][row]:
                room = room & (loads.room_all(kind) > 0)
        cands = cands[room[g.s_t[cands]]]
        if not len(cands):
            continue
        chosen = None
        if k == 1:
            chosen = (int(g.s_t[cands[0]]), (int(cands[0]),))
        else:
            owners = g.s_t[cands]
            for t in dict.fromkeys(owners.tolist()):
                days: dict[int, int] = {}
                for s in cands[owners == t].tolist():
                    days.setdefault(int(g.s_day[s]), s)
                if len(days) >= k:
                    chosen = (t, tuple(list(days.values())[:k]))
                    break
        if chosen is None:
            continue
        t, cols = chosen
        placed[row] = chosen
        loads.add(row, t)
        left[t] -= k
        free[list(cols)] = False
        open_slot[list(cols)] = False
        if left[t] == 0:
            lo, hi = g.t_slot_start[t], g.t_slot_start[t + 1]
            open_slot[lo:hi] = False
        if not open_slot.any():
            break
    return placed


@_bulk()
def greedy(problem: Problem) -> Result:
    """Baseline: longest wait first; each takes the first therapist (input order) who fits.

    With that therapist it takes the earliest fitting free slots of the week, one a day.
    Unplaced referrals carry no explanation. Used by the benchmark and the tests; ``solve``
    also runs it on any service whose answer is not proven optimal, and keeps the better.
    """
    started = time.perf_counter()
    assignments: list[tuple[int, Assignment]] = []
    unplaced: list[tuple[int, Unplaced]] = []
    for ref_ids, ther_ids in _groups(problem).values():
        if not ref_ids:
            continue
        placed: dict[int, tuple[int, tuple[int, ...]]] = {}
        if ther_ids:
            g = _Group(problem, ref_ids, ther_ids)
            placed = g.greedy_placed()
        for row, ri in enumerate(ref_ids):
            if row in placed:
                t, cols = placed[row]
                slots = [g.slots[s] for s in cols]
                assignments.append((ri, _make_assignment(problem, ri, int(g.ther_ids[t]), slots)))
            else:
                referral = problem.referrals[ri]
                priority = priority_of(referral, problem.weights)
                unplaced.append((ri, Unplaced(referral.id, priority, (), ())))
    assignments.sort(key=lambda pair: pair[0])
    unplaced.sort(key=lambda pair: pair[0])
    ordered = [a for _, a in assignments]
    return Result(
        assignments=tuple(ordered),
        unplaced=tuple(u for _, u in unplaced),
        objective=_objective(problem, ordered, method="greedy", optimal=False),
        stats={
            "considered": len(problem.referrals),
            "placed": len(ordered),
            "total_seconds": round(time.perf_counter() - started, 4),
        },
    )
