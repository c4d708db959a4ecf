"""Pruning: solve a large service on the referrals that can matter, and prove the rest cannot.

A long waiting list has far more referrals than places. ``solve`` first builds the service on
its highest-ranked referrals only (``_first_guess``), solves it, and then checks every
referral left out against thresholds read off that answer (``_uncertified``): the dual
prices of the relaxation (linear-programming duality) and the placements themselves (no
swap). A referral that passes at every therapist it fits with can change neither the bound,
nor the optimum of a weekly service, nor make a swap improve; one that fails is added and the
service solved again. docs/allocation.md, "Pruning", has the rule and its proof.

The rule is per therapist and per referral: a threshold ``tau[t]`` per therapist, and
``v_max(r)``, the most any placement of the referral can be worth. Caps on a therapist's
caseload mix or session capacity, or exact slot times, fold in through the same two
questions: what a waiting referral placed with ``t`` could be worth at most, and whether a
kept referral could take anything it could take.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from allocation.engine.bound import _prices
from allocation.engine.explain import _explain_unplaced, _Held
from allocation.engine.group import _bundle_value, _Group, _Plan
from allocation.engine.problem import Problem
from allocation.engine.scoring import _priorities

# A service is pruned from this many referrals (below it, every referral is a candidate:
# at 10,000 x 500 the extra rounds and the left-out referrals' reasons cost more than the
# smaller network saves; at 30,000 x 1,500 pruning halves the memory).
_PRUNE_FROM = 20_000
# The first round keeps this many referrals per free place, the highest-ranked ones.
_FIRST_PER_PLACE = 3
# Rounds of "solve, check, add what failed" before giving up and solving on everyone.
_ROUNDS = 5
# Referrals a round adds, per therapist whose threshold some left-out referrals exceed:
# this many per free place, and a few more (the best of them are all that can matter there).
_ADD_PER_PLACE = 4
_ADD_EXTRA = 8
# Waiting kept clients seen weekly looked at for (b) in ``_swap_thresholds``.
_COVER_FROM = 1_000
# Referrals checked (or explained) at a time, to bound memory.
_CHUNK = 4_000

_NEVER = np.iinfo(np.int64).min // 4  # a threshold nobody passes
_ALWAYS = np.iinfo(np.int64).max // 4  # a threshold everybody passes


def _v_max(problem: Problem, priority: np.ndarray) -> np.ndarray:
    """The most one placement of each referral can be worth: its priority with every fit
    point (no placement earns more than ``max_fit``)."""
    return problem.place_scale + problem.scale * priority + problem.weights.max_fit


def _ranked(problem: Problem, ref_ids: Sequence[int]) -> np.ndarray:
    """The service's referral positions, highest priority first (input order among ties)."""
    ids = np.asarray(ref_ids, dtype=np.int64)
    priority = _priorities([problem.referrals[i] for i in ref_ids], problem.weights)
    return ids[np.argsort(-priority, kind="stable")]


def _first_guess(problem: Problem, ref_ids: Sequence[int], ther_ids: Sequence[int]) -> list[int]:
    """The referrals of the first round: the ``_FIRST_PER_PLACE`` x free places highest
    ranked, and everyone ranked as high as the last of them (a tie can be broken by fit),
    or the whole list when that is most of it."""
    places = sum(max(problem.therapists[j].capacity, 0) for j in ther_ids)
    keep = _FIRST_PER_PLACE * places
    if len(ref_ids) < _PRUNE_FROM or keep * 2 >= len(ref_ids):
        return list(ref_ids)
    ids = np.asarray(ref_ids, dtype=np.int64)
    priority = _priorities([problem.referrals[i] for i in ref_ids], problem.weights)
    cutoff = np.sort(priority)[::-1][max(keep, 1) - 1]
    return ids[priority >= cutoff].tolist()


def _thin_out(
    problem: Problem, g: _Group, omitted: np.ndarray, ther_ids: Sequence[int]
) -> np.ndarray:
    """Before the first solve: left-out referrals likely to be needed, to save a round.

    A therapist few kept referrals fit with (fewer than ``_ADD_PER_PLACE`` x free places
    + ``_ADD_EXTRA``) has places the kept referrals may not fill, and cheap prices; the
    highest ranked left-out referrals who fit with it, up to that many, are added at once.
    Only a guess: the check after the solve decides what is proven.
    """
    want = _ADD_PER_PLACE * np.maximum(g.t_cap, 0) + _ADD_EXTRA
    thin = np.flatnonzero((g.eligible.sum(axis=1) < 2 * want) & (g.t_cap > 0))
    if not len(thin) or not len(omitted):
        return omitted[:0]
    ranked = _ranked(problem, omitted.tolist())
    ther = np.asarray(ther_ids, dtype=np.int64)
    room = want[thin].copy()
    chosen: list[np.ndarray] = []
    for lo in range(0, len(ranked), _CHUNK):
        part = ranked[lo : lo + _CHUNK]
        open_ = room > 0
        if not open_.any():
            break
        h = _Group(problem, part.tolist(), ther[thin[open_]].tolist(), g.inputs, eligible_only=True)
        take = np.zeros(len(part), dtype=bool)
        for n, m in enumerate(np.flatnonzero(open_).tolist()):
            first = np.flatnonzero(h.eligible[n])[: int(room[m])]
            take[first] = True
            room[m] -= len(first)
        chosen.append(part[take])
    return np.concatenate(chosen) if chosen else omitted[:0]


def _dual_prices(g: _Group, plan: _Plan) -> np.ndarray | None:
    """Per slot, ``price[s] + place[t]`` (``t`` its therapist), from an optimal dual of the
    relaxation on the kept referrals; None when the plan has no such dual.

    A left-out referral none of whose arcs is worth more than that has a dual price of 0:
    the dual stays feasible, and its value, the bound, stays the same with it added.
    """
    dist = plan.potentials
    if dist is None:
        return None
    R, T = len(g.refs), len(g.thers)
    slot_price, place_price = _prices(dist, g.s_t, R, T)
    arc_r, arc_s, arc_v = g.arcs()
    cap = np.maximum(g.t_cap, 0)

    def dual_value(slot: np.ndarray, place: np.ndarray) -> int:
        alpha = np.zeros(R, dtype=np.int64)
        np.maximum.at(alpha, arc_r, arc_v - slot[arc_s] - place[g.s_t[arc_s]])
        return int(np.maximum(alpha, 0).sum() + slot.sum() + (cap * place).sum())

    if dual_value(slot_price, place_price) > plan.relaxed:
        return None  # not an optimal dual: nothing is proven by it
    # Another optimal dual, with the price of a therapist's place where its slots' was: a
    # therapist with exactly as many priced slots as places moves the least of those prices
    # from each of them to its place. Arcs to those slots keep their price; arcs to its
    # other slots (priced 0, unused) get dearer; the dual's value is unchanged. Without
    # this, a slot nobody uses in the relaxation, at a full therapist, costs nothing and
    # every left-out referral fitting it looks as if it could matter.
    priced = slot_price > 0
    count = np.bincount(g.s_t[priced], minlength=T)
    least = np.full(T, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(least, g.s_t[priced], slot_price[priced])
    shift = np.where((count == cap) & (count > 0), least, 0)
    moved_slot = slot_price - np.where(priced, shift[g.s_t], 0)
    moved_place = place_price + shift
    if dual_value(moved_slot, moved_place) <= plan.relaxed:
        slot_price, place_price = moved_slot, moved_place
    return slot_price + place_price[g.s_t]


def _swap_thresholds(g: _Group, plan: _Plan, v_omitted: int):
    """Per therapist: ``theta``, a value no left-out referral fitting there may exceed
    for "no improving one-for-one or two-for-two swap" to survive its addition; ``cover``,
    a value below which two kept waiting weekly clients, ranked strictly higher, can take any
    slot of the therapist (they could make every move it could, for more); ``full``,
    whether the therapist has no free place (else an insertion is checked slot by slot);
    and the free slots.

    ``theta``: at most the least valued client placed there, and, with the best waiting
    referral fitting there (kept, or at most ``v_omitted`` if left out), the two least
    valued together less that.
    """
    problem = g.problem
    T = len(g.thers)
    v_max = _v_max(problem, g.priority)
    load = np.zeros(T, dtype=np.int64)
    low1 = np.full(T, _ALWAYS, dtype=np.int64)
    low2 = np.full(T, _ALWAYS, dtype=np.int64)
    free = np.ones(len(g.slots), dtype=bool)
    for row, (t, cols) in plan.placed.items():
        load[t] += 1
        free[list(cols)] = False
        value = _bundle_value(g, row, t, cols)
        if value < low1[t]:
            low1[t], low2[t] = value, low1[t]
        elif value < low2[t]:
            low2[t] = value
    waiting = np.ones(len(g.refs), dtype=bool)
    waiting[list(plan.placed)] = False
    rows = np.flatnonzero(waiting)
    rows = rows[np.argsort(-g.priority[rows], kind="stable")]  # highest ranked first
    best_waiting = np.full(T, v_omitted, dtype=np.int64)
    if len(rows):
        fits = g.eligible[:, rows]
        first = fits.argmax(axis=1)  # the highest ranked waiting referral fitting there
        here = np.where(fits[np.arange(T), first], v_max[rows][first], 0)
        best_waiting = np.maximum(best_waiting, here)
    pair = np.where(low2 < _ALWAYS, low1 + low2 - best_waiting, _ALWAYS)
    theta = np.minimum(low1, pair)
    cover = np.full(T, _NEVER, dtype=np.int64)
    # The highest ranked weekly waiting clients only: any two of them will do.
    weekly = rows[g.r_k[rows] == 1][:_COVER_FROM]
    has_slots = np.flatnonzero(np.diff(g.t_slot_start) > 0)
    if len(weekly) >= 2 and len(has_slots):
        # Each therapist's slots are one run from its start to the next listed start
        # (therapists without slots are not listed).
        every = np.logical_and.reduceat(g.ok[:, weekly], g.t_slot_start[has_slots], axis=0)
        ranks = np.where(every, g.priority[weekly][None, :], -1)
        second = np.partition(ranks, -2, axis=1)[:, -2]
        ok = second >= 0
        cover[has_slots[ok]] = (
            problem.place_scale + problem.scale * (second[ok] - 1) + problem.weights.max_fit
        )
    return theta, cover, load >= g.t_cap, free


def _per_therapist(by_slot: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(slots, referrals) -> (therapists, referrals): any of each therapist's slots (each
    therapist's slots are one run from its start; every therapist here has slots)."""
    return np.logical_or.reduceat(by_slot, starts, axis=0)


def _uncertified(
    problem: Problem, g: _Group, plan: _Plan, omitted: np.ndarray, ther_ids: Sequence[int]
) -> np.ndarray | None:
    """The left-out referrals (problem positions) to add before the answer covers the rest.

    A left-out referral is covered when, with every therapist it fits with: no arc of it
    is worth more than the slot's dual price (the bound and, for weekly services, the
    optimum stand), and it could make no improving insertion, one-for-one or two-for-two
    swap there. Of those not covered, the ``_ADD_PER_PLACE`` x free places highest ranked
    per therapist are returned (in the next round they fill the therapist or raise its
    prices; the rest are checked again then); all of them if that leaves none. An empty
    array: every left-out referral is covered. None when the plan proves nothing.
    """
    if not len(omitted):
        return omitted
    price = _dual_prices(g, plan)
    if price is None:
        return None
    priority = _priorities([problem.referrals[i] for i in omitted.tolist()], problem.weights)
    v_max = _v_max(problem, priority)
    if plan.swaps_done and not plan.optimal:
        theta, cover, full, free = _swap_thresholds(g, plan, int(v_max.max()))
    else:
        # Nothing to extend: a plan proven optimal stays so for everyone by the prices
        # alone (none of its swaps can improve); one whose swap search ran out of time
        # claims no swap-freedom (``no_improving_swap`` is false).
        T = len(g.thers)
        theta = np.full(T, _ALWAYS, dtype=np.int64)
        cover = np.full(T, _NEVER, dtype=np.int64)
        full = np.ones(T, dtype=bool)
        free = np.zeros(len(g.slots), dtype=bool)
    # A therapist can matter to a referral worth more than ``reach[t]``; not below it.
    T = len(g.thers)
    cheapest = np.full(T, _ALWAYS, dtype=np.int64)
    if len(g.s_t):
        np.minimum.at(cheapest, g.s_t, price)
    swap_safe = np.maximum(np.where(full, theta, _NEVER), cover)
    reach = np.minimum(cheapest, swap_safe)
    has_slots = np.diff(g.t_slot_start) > 0
    order = np.argsort(-v_max, kind="stable")
    ther = np.asarray(ther_ids, dtype=np.int64)
    room = _ADD_PER_PLACE * np.maximum(g.t_cap, 0) + _ADD_EXTRA  # still to add, per therapist
    failed: list[np.ndarray] = []
    for lo in range(0, len(order), _CHUNK):
        part = order[lo : lo + _CHUNK]
        # v_max falls along ``order``; a therapist without a place or a slot fits nobody.
        low = np.flatnonzero((reach < v_max[part[0]]) & (g.t_cap > 0) & has_slots)
        if not len(low):
            break  # nobody from here on exceeds any threshold
        h = _Group(problem, omitted[part].tolist(), ther[low].tolist(), g.inputs)
        value = v_max[part]
        # h's slots are those of ``low``, in g's order; each therapist's are one run.
        cols = np.concatenate([np.arange(g.t_slot_start[t], g.t_slot_start[t + 1]) for t in low])
        starts = h.t_slot_start[:-1]
        # The bound: an arc worth more than its slot's price.
        dear = _per_therapist(h.ok & (value[None, :] > price[cols][:, None]), starts)
        # Swaps: an insertion (a free place and a free fitting slot), or worth more than
        # theta; unless two kept clients ranked higher could make the same moves.
        insert = _per_therapist(h.ok & (~full[g.s_t[cols]] & free[cols])[:, None], starts)
        swap = insert | (h.eligible & (value[None, :] > theta[low][:, None]))
        swap &= value[None, :] > cover[low][:, None]
        bad = dear | swap
        chosen = np.zeros(len(part), dtype=bool)
        for n in np.flatnonzero(bad.any(axis=1)).tolist():
            t = low[n]
            first = np.flatnonzero(bad[n])[: max(int(room[t]), 0)]  # highest ranked first
            chosen[first] = True
            room[t] -= len(first)
        if bad.any() and not chosen.any():
            chosen = bad.any(axis=0)
        failed.append(omitted[part][chosen])
    return np.concatenate(failed) if failed else omitted[:0]


def _explain_left_out(
    problem: Problem, g: _Group, plan: _Plan, omitted: np.ndarray, ther_ids: Sequence[int]
) -> tuple[dict, int]:
    """Why each left-out referral waits: the same explanations as for any unplaced one,
    judged on every therapist against the final placements, a chunk at a time. The placed
    clients' side (``_Held``) is read once off the plan's group; each chunk is a group of
    its own referrals, with the same therapists. Returns them and their eligible pairs."""
    out: dict = {}
    pairs = 0
    held = _Held(g, plan, every_cap=True)
    ids = omitted.tolist()
    for lo in range(0, len(ids), _CHUNK):
        chunk = ids[lo : lo + _CHUNK]
        h = _Group(problem, chunk, list(ther_ids), g.inputs)
        pairs += int(h.eligible.sum())
        out.update(_explain_unplaced(problem, h, np.arange(len(chunk)), plan, held))
    return out, pairs
