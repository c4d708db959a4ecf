"""The flow decomposition for services with referrals seen several times a week.

Relax, repair, re-solve, improve (docs/allocation.md, "Method, and what is exact"):
``_decompose`` uses the flow solver and the bound, a priced local search (``_Search``)
that gives multi-session referrals slots on distinct days, and an exact re-solve of the
weekly referrals around them (``_resolve_weekly``).
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from allocation.engine.bound import _flow_bounded, _prices
from allocation.engine.flow import _WARM_ARCS_PER_SLOT, _first_per_slot, _flow_assign
from allocation.engine.group import _bundle_value, _Group, _Loads, _Plan, _plan_value, _values


class _Search:
    """Placements of one service under change, for the multi-session local search.

    ``slot_price`` and ``place_price`` are dual prices from the last exact flow (see
    ``_prices``): what the weekly referrals stand to lose when a slot or a place is taken.
    """

    def __init__(
        self,
        g: _Group,
        placed: dict[int, tuple[int, tuple[int, ...]]],
        slot_price: np.ndarray,
        place_price: np.ndarray,
    ):
        self.g = g
        self.slot_price, self.place_price = slot_price, place_price
        # Plain lists: ``insert`` reads them one slot at a time, many times.
        self.price = slot_price.tolist()
        self.day = g.s_day.tolist()
        self.multi = g.special.tolist()
        self.holder = [-1] * len(g.slots)
        self.loads = _Loads(g)
        self.placed: dict[int, tuple[int, tuple[int, ...]]] = {}
        # therapist -> the referrals placed there that the weekly flow re-places
        self.weekly_at: dict[int, set[int]] = defaultdict(set)
        for row, (t, cols) in placed.items():
            self.put(row, t, cols)

    def put(self, row: int, t: int, cols: Sequence[int]) -> None:
        self.placed[row] = (t, tuple(cols))
        for s in cols:
            self.holder[s] = row
        self.loads.add(row, t)
        if not self.multi[row]:
            self.weekly_at[t].add(row)

    def drop(self, row: int) -> None:
        t, cols = self.placed.pop(row)
        for s in cols:
            self.holder[s] = -1
        self.loads.add(row, t, -1)
        self.weekly_at[t].discard(row)

    def insert(self, row: int) -> bool:
        """Place a multi-session referral if its value beats the priced cost; True if so.

        It may take slots held by weekly referrals (never by other multi-session ones),
        and a place with a full therapist by moving a weekly referral out. The cost of
        taking a slot or place is its dual price, a lower bound on what the weekly
        referrals lose; the exact re-solve that follows settles the real figure.
        """
        g = self.g
        k = int(g.r_k[row])
        best = None
        loads = self.loads
        holder, price, day, multi = self.holder, self.price, self.day, self.multi
        kinds = [kind for kind in loads.kinds if loads.flags[kind][row]]
        top_fit = max(g.problem.weights.fit_site, 0) + max(g.problem.weights.fit_time, 0)
        by_therapist = g.candidates_by_therapist(row)
        therapists = np.flatnonzero(g.eligible[:, row])
        # No bundle with a therapist is worth more than this (every fit point at its most).
        value = g.problem.value_of(int(g.priority[row]), 0) + top_fit
        fits = g.pair_fit(therapists, row).tolist()
        ceilings = [value + fit for fit in fits]
        # The pair's fit points, read here at once: ``_bundle_value`` needs them for
        # each therapist the loop below values a bundle with.
        known = _values(g).pair_fit
        for t, fit in zip(therapists.tolist(), fits, strict=True):
            known.setdefault((row, t), fit)
        for t, ceiling in zip(therapists.tolist(), ceilings, strict=True):
            # Room under the caps: where a cap may bind, only referrals this search places
            # (never moved by it) count against it, so no weekly one makes way.
            if any(loads.room(t, kind) <= 0 for kind in kinds):
                continue
            spare = loads.cap[t] - loads.sessions[t]  # free weekly sessions
            cands = [s for s in by_therapist.get(t, ()) if holder[s] < 0 or not multi[holder[s]]]
            if len({day[s] for s in cands}) < k:
                continue
            if len(cands) > 12:  # keep the search small: cheapest slots first
                cands = sorted(cands, key=lambda s: price[s])[:12]
            # Weekly referrals with this therapist, cheapest slot first (sorted when
            # needed): one of them makes way when the therapist is full and the chosen
            # slots free no place.
            here = None
            place = int(self.place_price[t]) * k  # k weekly sessions
            for combo in itertools.combinations(cands, k):
                if k > 1 and len({day[s] for s in combo}) < k:
                    continue
                cost = place + sum(price[s] for s in combo)
                if ceiling - cost <= (best[0] if best is not None else 0):
                    continue  # it cannot beat the best so far, nor gain anything
                freed = {holder[s] for s in combo if holder[s] >= 0}
                # Too few free weekly sessions: weekly referrals (one session each) make
                # way, cheapest first.
                short = k - spare - len(freed)
                extra: set[int] = set()
                if short > 0:
                    if here is None:
                        here = sorted((price[self.placed[w][1][0]], w) for w in self.weekly_at[t])
                    extra = set(itertools.islice((w for _, w in here if w not in freed), short))
                    if len(extra) < short:
                        continue
                gain = _bundle_value(g, row, t, combo) - cost
                if gain > 0 and (best is None or gain > best[0]):
                    best = (gain, t, combo, freed | extra)
        if best is None:
            return False
        _, t, combo, evicted = best
        for w in evicted:
            self.drop(w)
        self.put(row, t, combo)
        return True


def _resolve_weekly(
    g: _Group,
    arcs: tuple[np.ndarray, np.ndarray, np.ndarray],
    multi_placed: dict[int, tuple[int, tuple[int, ...]]],
    warm: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[dict[int, tuple[int, tuple[int, ...]]], np.ndarray | None, float]:
    """Exact min-cost flow for the weekly referrals around fixed multi-session placements.

    Returns the placements (multi-session ones included), the flow's potentials and the
    seconds spent in the solver.
    """
    arc_r, arc_s, arc_v = arcs
    blocked = np.zeros(len(g.slots), dtype=bool)
    capacity = g.t_cap.copy()
    for row, (t, cols) in multi_placed.items():
        blocked[list(cols)] = True
        capacity[t] -= int(g.r_k[row])  # its weekly sessions
    keep = ~g.special[arc_r] & ~blocked[arc_s]
    start = None
    if warm is not None and warm[0] is not None:
        # Warm start from an earlier solve: each slot's arcs of least reduced cost under
        # its potentials, and the arcs it used. Pricing adds whatever else is needed.
        dist, used_before = warm
        R = len(g.refs)
        reduced = -arc_v[keep] + dist[arc_r[keep]] - dist[R + arc_s[keep]]
        start = _first_per_slot(arc_s[keep], reduced, _WARM_ARCS_PER_SLOT) | used_before[keep]
    t0 = time.perf_counter()
    used, dist = _flow_assign(
        arc_r[keep], arc_s[keep], arc_v[keep], g.s_t, capacity, len(g.refs), start
    )
    seconds = time.perf_counter() - t0
    placed = dict(multi_placed)
    for r, s in zip(arc_r[keep][used].tolist(), arc_s[keep][used].tolist(), strict=True):
        placed[r] = (int(g.s_t[s]), (s,))
    return placed, dist, seconds


def _doubtful(
    g: _Group,
    arcs: tuple[np.ndarray, np.ndarray, np.ndarray],
    weekly_arc: np.ndarray,
    fixed: dict[int, tuple[int, tuple[int, ...]]],
    slot_price: np.ndarray,
    place_price: np.ndarray,
) -> set[int]:
    """Multi-session placements whose slots and place may be worth more to weekly ones.

    With an optimal dual (alpha, slot_price, place_price) of the weekly flow, freeing slot
    s of therapist t gains at most max(0, max over referrals r of v(r, s) - alpha[r] -
    place_price[t]), and freeing a place at most its price: linear-programming duality.
    """
    arc_r, arc_s, arc_v = arcs
    held = np.zeros(len(g.slots), dtype=bool)
    for _, cols in fixed.values():
        held[list(cols)] = True
    in_network = weekly_arc & ~held[arc_s]
    place = place_price[g.s_t[arc_s]]
    alpha = np.zeros(len(g.refs), dtype=np.int64)
    np.maximum.at(alpha, arc_r[in_network], (arc_v - slot_price[arc_s] - place)[in_network])
    candidates = weekly_arc & held[arc_s]
    slot_profit = np.zeros(len(g.slots), dtype=np.int64)
    np.maximum.at(slot_profit, arc_s[candidates], (arc_v - alpha[arc_r] - place)[candidates])
    return {
        row
        for row, (t, cols) in fixed.items()
        if int(place_price[t]) * int(g.r_k[row]) + sum(int(slot_profit[s]) for s in cols)
        > _bundle_value(g, row, t, cols)
    }


def _decompose(g: _Group, passes: int = 3) -> _Plan:
    """Relax, repair, re-solve, improve: see docs/allocation.md, "Method, and what is exact".

    1. Relaxation: a min-cost flow in which a referral seen k times a week needs only one
       slot. Its optimum is an upper bound on the true optimum.
    2. Repair: the multi-session referrals the relaxation placed, highest value first,
       each get k slots on distinct days with the therapist that suits them best, taking
       slots from weekly referrals when their value beats the slots' dual prices.
    3. Re-solve: with those placements fixed, an exact min-cost flow places the weekly
       referrals in the remaining slots and places.
    4. Improve (``passes`` rounds at most): drop the multi-session placements whose slots
       and place may be worth more to weekly referrals (``_doubtful``) and insert the
       multi-session referrals still unplaced, with fresh prices; try both moves, then
       each alone, running step 3 for each and keeping the first whose value went up.
    """
    plan = _Plan(method="flow_decomposition", optimal=False)
    arcs = g.arcs()
    arc_r, arc_s, arc_v = arcs
    R, T = len(g.refs), len(g.thers)
    t0 = time.perf_counter()
    used, dist, plan.upper_bound, relaxation_exact = _flow_bounded(
        arc_r, arc_s, arc_v, g.s_t, g.t_cap, R
    )
    plan.solver_seconds += time.perf_counter() - t0
    plan.potentials, plan.relaxed = dist, plan.upper_bound
    warm = (dist, used)
    multi = g.special  # seen more than weekly, or under a cap that may bind

    def prices(potentials: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if potentials is None:  # no certificate: price everything at full value
            top = int(arc_v.max())
            return np.full(len(g.slots), top), np.zeros(T, dtype=np.int64)
        return _prices(potentials, g.s_t, R, T)

    relaxed = {
        int(r): (int(g.s_t[s]), (int(s),))
        for r, s in zip(arc_r[used].tolist(), arc_s[used].tolist(), strict=True)
    }
    search = _Search(g, {r: p for r, p in relaxed.items() if not multi[r]}, *prices(dist))
    order = sorted(
        (r for r in relaxed if multi[r]), key=lambda r: -_bundle_value(g, r, *relaxed[r])
    )
    for row in order:
        search.insert(row)
    fixed = {r: p for r, p in search.placed.items() if multi[r]}
    if not order and relaxation_exact:
        best, best_dist = dict(relaxed), dist  # no multi-session placement: feasible, optimal
    else:
        best, best_dist, seconds = _resolve_weekly(g, arcs, fixed, warm)
        plan.solver_seconds += seconds
    best_value = _plan_value(g, _Plan(placed=best))
    baseline = g.greedy_placed()
    if best_value < _plan_value(g, _Plan(placed=baseline)):
        # A second start: greedy's multi-session placements, with the weekly referrals
        # placed exactly around them. It is at least as good as greedy's own allocation
        # (whose weekly part is one of the flows the re-solve maximises over), which the
        # repair above, guided by the relaxation, does not guarantee.
        seeded = {r: p for r, p in baseline.items() if multi[r]}
        if seeded != {r: p for r, p in best.items() if multi[r]}:
            candidate, cand_dist, seconds = _resolve_weekly(g, arcs, seeded, warm)
            plan.solver_seconds += seconds
            value = _plan_value(g, _Plan(placed=candidate))
            if value > best_value:
                best, best_dist, best_value = candidate, cand_dist, value
    waiting = sorted(
        (int(r) for r in np.flatnonzero(multi & g.eligible.any(axis=0))),
        key=lambda r: -int(g.priority[r]),
    )
    weekly_arc = ~multi[arc_r]
    for _ in range(passes):
        if best_value == plan.upper_bound:
            break
        slot_price, place_price = prices(best_dist)
        fixed = {r: p for r, p in best.items() if multi[r]}
        doubtful = _doubtful(g, arcs, weekly_arc, fixed, slot_price, place_price)
        trials = []
        for drop in ((doubtful, True), (doubtful, False), (set(), True)):
            removed, insert = drop
            search = _Search(
                g, {r: p for r, p in best.items() if r not in removed}, slot_price, place_price
            )
            if insert:
                for r in waiting:
                    if r not in search.placed and r not in removed:
                        search.insert(r)
            moved = {r: p for r, p in search.placed.items() if multi[r]}
            if moved != fixed and moved not in trials:
                trials.append(moved)
        improved = False
        for moved in trials:
            candidate, cand_dist, seconds = _resolve_weekly(g, arcs, moved, warm)
            plan.solver_seconds += seconds
            value = _plan_value(g, _Plan(placed=candidate))
            if value > best_value:
                best, best_dist, best_value = candidate, cand_dist, value
                improved = True
                break
        if not improved:
            break
    plan.placed = best
    plan.weekly_potentials = best_dist
    plan.optimal = best_value == plan.upper_bound
    return plan
