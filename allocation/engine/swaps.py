"""Swaps: improve a service's placements until no simple exchange improves them.

The decomposition (and greedy's fallback) can leave a client seen several times a week
holding a place that a higher-ranked client could take, or the reverse: a min-cost flow
cannot express "k slots of one therapist". ``_improve_by_swaps`` searches, therapist by
therapist, every

- insertion: a waiting client takes a free place and free fitting slots;
- one-for-one swap: a placed client makes way for a waiting one in their place;
- two-for-two swap: two clients placed with one therapist make way for two waiting ones;

and makes the best improving one (the objective's value: people placed, then priority,
then fit), until none is left; the weekly clients are then re-placed by the exact flow
around the multi-session placements, and the search runs again if that helped. Any
improving exchange of one or two placed clients for as many waiting ones, across any
therapists, reduces to one of these (docs/allocation.md, "Method, and what is exact"), so
when it ends within its time the allocation has no improving one-for-one or two-for-two
swap.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Iterable, Iterator

import numpy as np

from allocation.engine.decompose import _resolve_weekly
from allocation.engine.group import _bundle_value, _Group, _Loads, _Plan, _plan_value


class _Swaps:
    """Placements under change: slot holders, loads, and who is waiting."""

    def __init__(self, g: _Group, placed: dict[int, tuple[int, tuple[int, ...]]]):
        self.g = g
        self.holder = np.full(len(g.slots), -1, dtype=np.int64)
        self.loads = _Loads(g)  # weekly sessions and capped clients, per therapist
        self.at: list[set[int]] = [set() for _ in g.thers]
        self.placed: dict[int, tuple[int, tuple[int, ...]]] = {}
        self.value: dict[int, int] = {}
        self.waiting = g.eligible.any(axis=0)
        self.k, self.day = g.r_k.tolist(), g.s_day.tolist()
        # Each (referral, therapist)'s bundles, shared by the searches on this group.
        self._fitting: dict[tuple[int, int], list[tuple[int, tuple[int, ...]]]] = (
            g.__dict__.setdefault("_swap_bundles", {})
        )
        for row, (t, cols) in placed.items():
            self.put(row, t, cols, _bundle_value(g, row, t, cols))
        problem, weights = g.problem, g.problem.weights
        # An upper bound on any bundle's value, per referral and therapist (the slot
        # bonuses at their most), for pruning.
        self.top = problem.place_scale + problem.scale * g.priority + weights.fit_site
        self.top = self.top + weights.fit_time

    def put(self, row: int, t: int, cols: tuple[int, ...], value: int) -> None:
        self.placed[row] = (t, cols)
        self.value[row] = value
        self.holder[list(cols)] = row
        self.loads.add(row, t)
        self.at[t].add(row)
        self.waiting[row] = False

    def drop(self, row: int) -> None:
        t, cols = self.placed.pop(row)
        del self.value[row]
        self.holder[list(cols)] = -1
        self.loads.add(row, t, -1)
        self.at[t].discard(row)
        self.waiting[row] = True

    def best_at(self, t: int, deadline: float):
        """The best improving move at therapist ``t``: (gain, taken out, put in) or None.

        ``put in`` lists (row, slots, value). Taken out: nobody (an insertion, if there is a
        free place), one placed client, or two.
        """
        g = self.g
        lo, hi = int(g.t_slot_start[t]), int(g.t_slot_start[t + 1])
        if hi == lo or g.t_cap[t] <= 0:
            return None
        rows = np.flatnonzero(g.eligible[t] & self.waiting)
        if not len(rows):
            return None
        ok = g.ok[lo:hi][:, rows]  # (slots of t, waiting referrals)
        top = self.top[rows] + g.pair_fit(t, rows)
        k = g.r_k[rows]
        days = g.s_day[lo:hi].tolist()
        free = (np.flatnonzero(self.holder[lo:hi] < 0) + lo).tolist()
        here = sorted(self.at[t])

        def fitting_by_day(slots) -> dict[int, np.ndarray]:
            """Per day, which waiting referrals fit one of ``slots`` on it."""
            on: dict[int, list[int]] = {}
            for s in slots:
                on.setdefault(days[s - lo], []).append(s - lo)
            return {d: ok[i].any(axis=0) for d, i in on.items()}

        # Read once per therapist, not once per exchange tried: the free slots' and each
        # placed client's slots' fitting referrals, day by day.
        free_days = fitting_by_day(free)
        held_days = {p: fitting_by_day(self.placed[p][1]) for p in here}
        cap = int(g.t_cap[t])
        options: list[tuple[int, ...]] = []
        if self.loads.sessions[t] < cap and free:
            options.append(())
        options.extend((p,) for p in here)
        options.extend(itertools.combinations(here, 2))
        best = None
        for out in options:
            if time.perf_counter() > deadline:
                break
            out_value = sum(self.value[p] for p in out)
            avail = sorted(free + [s for p in out for s in self.placed[p][1]])
            if not avail:
                continue
            n_in = max(len(out), 1)
            # Referrals with fitting slots on enough different days among ``avail``.
            covered = np.zeros(len(rows), dtype=np.int64)
            parts = [free_days, *(held_days[p] for p in out)]
            for d in set().union(*parts):
                fits = None
                for part in parts:
                    on_day = part.get(d)
                    if on_day is not None:
                        fits = on_day if fits is None else fits | on_day
                covered += fits
            possible = covered >= k
            # Weekly sessions and caps: each one put in must fit alone.
            sessions = cap - int(self.loads.sessions[t]) + sum(int(g.r_k[p]) for p in out)
            possible &= k <= sessions
            for kind in self.loads.kinds:
                if self.loads.room(t, kind) + sum(bool(g.r_kind[kind][p]) for p in out) <= 0:
                    possible &= ~g.r_kind[kind][rows]
            if n_in == 1:
                possible &= top > out_value
            else:
                ceiling = int(top[possible].max()) if possible.any() else 0
                possible &= top > out_value - ceiling
            if not possible.any():
                continue
            found = self._fill(t, rows[possible], top[possible], avail, out_value, n_in, out)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], out, found[1])
        return best

    def _bundles(self, row: int, t: int, bit: dict[int, int]) -> list[tuple[int, int]]:
        """(value, bit mask over the available slots) of every k-slot bundle of ``row``
        among them, best first (equal values: the bundle with the later slots first).
        ``bit``: each available slot's bit, by its offset from ``t``'s first slot."""
        return list(self._masked_bundles(row, t, bit))

    def _first_bundle(self, row: int, t: int, bit: dict[int, int]) -> tuple[int, int] | None:
        """``_bundles(row, t, bit)[0]``, or None if there is none."""
        return next(self._masked_bundles(row, t, bit), None)

    def _masked_bundles(self, row: int, t: int, bit: dict[int, int]) -> Iterator[tuple[int, int]]:
        """``_bundles`` one at a time, so that the first can be taken without the rest."""
        for value, combo in self._local_bundles(row, t):
            mask = 0
            for i in combo:
                b = bit.get(i)
                if b is None:
                    break
                mask |= b
            else:
                yield value, mask

    def _local_bundles(self, row: int, t: int) -> list[tuple[int, tuple[int, ...]]]:
        """Every k-slot bundle of ``row`` among its fitting slots with ``t`` (on distinct
        days), as (value, slot offsets from ``t``'s first slot), computed once per pair and
        ordered as ``_bundles`` returns them: by value, then by the bit mask the bundle
        has over any ascending list of ``t``'s slots holding it (the same order whatever
        the list, as a mask's order follows its highest slots)."""
        key = (row, t)
        cached = self._fitting.get(key)
        if cached is not None:
            return cached
        g = self.g
        k = self.k[row]
        lo = int(g.t_slot_start[t])
        fitting = g.candidates(row, t)
        day = self.day
        out = []
        for combo in itertools.combinations(fitting, k):
            if k > 1 and len({day[s] for s in combo}) < k:
                continue
            offsets = tuple(s - lo for s in combo)
            out.append((_bundle_value(g, row, t, combo), sum(1 << i for i in offsets), offsets))
        out.sort(reverse=True)
        cached = self._fitting[key] = [(value, offsets) for value, _, offsets in out]
        return cached

    def _fill(self, t, rows, top, avail, out_value, n_in, out=()):
        """The best set of ``n_in`` waiting referrals for the slots ``avail`` worth more
        than ``out_value``: (gain, [(row, slots, value)]) or None."""
        order = np.argsort(-top, kind="stable")
        rows, top = rows[order].tolist(), top[order].tolist()

        def cols_of(mask: int) -> tuple[int, ...]:
            return tuple(s for i, s in enumerate(avail) if mask >> i & 1)

        lo = int(self.g.t_slot_start[t])
        bit = {s - lo: 1 << i for i, s in enumerate(avail)}
        if n_in == 1:
            best = None
            for row, ceiling in zip(rows, top, strict=True):
                if ceiling <= (best[0] if best else out_value):
                    break
                first = self._first_bundle(row, t, bit)
                if first is not None and first[0] > (best[0] if best else out_value):
                    best = (first[0], row, first[1])
            if best is None:
                return None
            value, row, mask = best
            return value - out_value, [(row, cols_of(mask), value)]
        bundles: dict[int, list[tuple[int, int]]] = {}
        # Which two fit together in the therapist's free weekly sessions and under its caps
        # (``_Loads.fits``), once ``out`` leave: as arrays over ``rows``.
        loads = self.loads
        k = np.asarray([loads.k[r] for r in rows], dtype=np.int64)
        spare = loads.cap[t] - loads.sessions[t] + sum(loads.k[p] for p in out)
        caps = [
            (
                np.asarray([loads.flags[kind][r] for r in rows], dtype=np.int64),
                loads.rooms[kind][t] - held[t] + sum(loads.flags[kind][p] for p in out),
            )
            for kind, held in loads.kinds.items()
        ]
        below = -np.asarray(top, dtype=np.int64)  # ascending, as ``top`` descends
        best = None
        for i, (r1, c1) in enumerate(zip(rows, top, strict=True)):
            if i + 1 >= len(rows) or c1 + top[i + 1] <= (best[0] if best else out_value):
                break
            # Those after r1 that could beat the floor (a run, as ``top`` descends) and fit
            # with r1; the others are passed over (the floor only rises).
            end = max(i + 1, int(np.searchsorted(below, c1 - (best[0] if best else out_value))))
            fit = k[i + 1 : end] + k[i] <= spare
            for flags, room in caps:
                extra = flags[i + 1 : end] + flags[i]
                fit &= (extra == 0) | (extra <= room)
            for j in (np.flatnonzero(fit) + i + 1).tolist():
                r2, c2 = rows[j], top[j]
                floor = best[0] if best else out_value
                if c1 + c2 <= floor:
                    break
                b1 = bundles.get(r1)
                if b1 is None:
                    b1 = bundles[r1] = self._bundles(r1, t, bit)
                b2 = bundles.get(r2)
                if b2 is None:
                    b2 = bundles[r2] = self._bundles(r2, t, bit)
                for v1, m1 in b1:
                    if not b2 or v1 + b2[0][0] <= floor:
                        break
                    for v2, m2 in b2:
                        if v1 + v2 <= floor:
                            break
                        if m1 & m2 == 0:
                            best = (v1 + v2, (r1, m1, v1), (r2, m2, v2))
                            floor = v1 + v2
                            break
        if best is None:
            return None
        total, (r1, m1, v1), (r2, m2, v2) = best
        return total - out_value, [(r1, cols_of(m1), v1), (r2, cols_of(m2), v2)]

    def improve(self, deadline: float) -> int:
        """Make improving moves, therapist by therapist, until a full round finds none.
        Returns the number of moves made; stops early at ``deadline``."""
        moves = 0
        T = len(self.g.thers)
        stale = set(range(T))
        queue = list(range(T))  # the stale therapists, lowest first (a heap)

        def mark(ts: Iterable[int]) -> None:
            for t in ts:
                if t not in stale:
                    stale.add(t)
                    heapq.heappush(queue, t)

        while stale and time.perf_counter() <= deadline:
            t = heapq.heappop(queue)
            stale.discard(t)
            move = self.best_at(t, deadline)
            if move is None:
                continue
            _, out, put_in = move
            for p in out:
                self.drop(p)
            for row, cols, value in put_in:
                self.put(row, t, cols, value)
            moves += 1
            # Those taken out wait now: every therapist of theirs may have a move again,
            # and this one may have another.
            mark((t,))
            for p in out:
                mark(np.flatnonzero(self.g.eligible[:, p]).tolist())
        self.finished = not stale
        return moves


# Exact weekly re-solves between swap searches, at most: each costs a full flow, and
# the later ones gain little.
_MAX_RESOLVES = 2


def _warm(g: _Group, arcs, plan: _Plan):
    """A warm start for the weekly re-solve: the last weekly flow's potentials, and the
    arcs of the weekly placements now held (None without those potentials)."""
    if plan.weekly_potentials is None:
        return None
    arc_r, arc_s, _ = arcs
    R = len(g.refs)
    rows = [r for r in plan.placed if not g.special[r]]
    keys = np.asarray([plan.placed[r][1][0] * R + r for r in rows], dtype=np.int64)
    order = arc_s * R + arc_r  # arcs are ordered by slot, then referral
    at = np.minimum(np.searchsorted(order, keys), max(len(order) - 1, 0))
    if len(keys) and (not len(order) or (order[at] != keys).any()):
        return None  # a placement off the candidate arcs: start cold
    used = np.zeros(len(arc_r), dtype=bool)
    used[at] = True
    return plan.weekly_potentials, used


def _improve_by_swaps(g: _Group, plan: _Plan, deadline: float) -> bool:
    """Improve ``plan`` in place by swaps and exact weekly re-solves (see the module).

    Always ends with a swap search that found nothing to improve, unless the time ran
    out: returns True then, False if it stopped at ``deadline``.
    """
    arcs = None
    multi = g.special  # what the weekly flow does not re-place
    for resolves in range(_MAX_RESOLVES + 1):
        swaps = _Swaps(g, plan.placed)
        moves = swaps.improve(deadline)
        if moves:
            plan.placed = dict(swaps.placed)
        if not swaps.finished:
            return False
        if not moves or not multi.any() or resolves == _MAX_RESOLVES:
            return True
        # The weekly clients, exactly, around the multi-session placements now made.
        if arcs is None:
            arcs = g.arcs()
        fixed = {r: p for r, p in plan.placed.items() if multi[r]}
        placed, plan.weekly_potentials, seconds = _resolve_weekly(
            g, arcs, fixed, _warm(g, arcs, plan)
        )
        plan.solver_seconds += seconds
        if _plan_value(g, _Plan(placed=placed)) <= _plan_value(g, plan):
            return True  # the swap-free placements stand
        plan.placed = placed
    return True
