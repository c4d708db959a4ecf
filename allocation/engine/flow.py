"""The flow solver: an exact min-cost flow of referrals to weekly slots (OR-tools).

``_flow_assign`` places referrals seen once a week optimally: source -> referral -> slot
-> therapist (capacity) -> sink. Large networks are solved on a subset of arcs and
certified, or widened, by arc pricing with node potentials (``_potentials``). The pricing
constants (``_PRICE_FROM`` and the per-slot arc counts) are here.
"""

from __future__ import annotations

import numpy as np

# Arc pricing: the flow is first solved on each slot's best arcs only, then certified
# optimal for all arcs with node potentials (or widened and solved again).
_PRICE_FROM = 60_000  # arcs; below this the whole network is solved at once
_FIRST_ARCS_PER_SLOT = 64
_MAX_ROUNDS = 12
_WARM_ARCS_PER_SLOT = 16
_ADD_PER_SLOT = 16
_RECENTRE_ROUNDS = 2
_RECENTRE_ARCS_PER_SLOT = 16


def _solve_network(
    arc_r: np.ndarray,
    arc_s: np.ndarray,
    arc_v: np.ndarray,
    slot_owner: np.ndarray,
    capacity: np.ndarray,
    n_ref: int,
) -> np.ndarray:
    """source -> referral (1) -> slot (1) -> therapist (capacity) -> sink: the most flow,
    and of those flows the one of least cost (most value).

    Every arc value carries ``place_scale`` (one placement), which outweighs any
    difference in the rest, so the best allocation is a maximum flow; among maximum flows
    the constant is the same for all, and it is left out of the costs (smaller costs make
    the cost-scaling solver faster). This is the same optimum as a min-cost flow with a
    zero-cost source -> sink bypass and the full values. Node ids are global: referrals,
    then slots, then therapists, then source and sink. Returns the flow on each
    referral->slot arc (0 or 1; the flow polytope is integral).
    """
    from ortools.graph.python import min_cost_flow

    S, T = len(slot_owner), len(capacity)
    source, sink = n_ref + S + T, n_ref + S + T + 1
    n = len(arc_r)
    present = np.unique(arc_r)  # referrals with no arc stay isolated nodes
    m = len(present)
    tails = np.concatenate(
        [np.full(m, source), arc_r, n_ref + np.arange(S), n_ref + S + np.arange(T)]
    )
    heads = np.concatenate([present, n_ref + arc_s, n_ref + S + slot_owner, np.full(T, sink)])
    caps = np.concatenate([np.ones(m + n + S, dtype=np.int64), np.maximum(capacity, 0)])
    costs = np.zeros(len(tails), dtype=np.int64)
    if n:
        costs[m : m + n] = arc_v.min() - arc_v
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[source], supplies[sink] = m, -m
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    return flow.flows(np.arange(m, m + n, dtype=np.int32)) > 0


def _potentials(
    arc_r: np.ndarray,
    arc_s: np.ndarray,
    arc_v: np.ndarray,
    used: np.ndarray,
    slot_owner: np.ndarray,
    capacity: np.ndarray,
    n_ref: int,
) -> np.ndarray | None:
    """Shortest-path potentials on the residual network of an optimal flow.

    Every residual arc then has a non-negative reduced cost; an arc left out of the
    network with a negative reduced cost is one that could improve the flow. Returns
    None if Bellman-Ford does not settle within its budget.
    """
    S, T = len(slot_owner), len(capacity)
    source, sink = n_ref + S + T, n_ref + S + T + 1
    placed = np.zeros(n_ref, dtype=bool)
    placed[arc_r[used]] = True
    slot_used = np.zeros(S, dtype=bool)
    slot_used[arc_s[used]] = True
    load = np.bincount(slot_owner[arc_s[used]], minlength=T)
    refs = np.arange(n_ref)  # every referral, including those with no arc in this round
    t_nodes = n_ref + S + np.arange(T)
    s_nodes = n_ref + np.arange(S)
    n_placed = int(placed.sum())
    parts = [
        # source -> referral, or back if placed
        (np.where(placed[refs], refs, source), np.where(placed[refs], source, refs), 0),
        # referral -> slot, or back if used (cost negated)
        (
            np.where(used, n_ref + arc_s, arc_r),
            np.where(used, arc_r, n_ref + arc_s),
            np.where(used, arc_v, -arc_v),
        ),
        # slot -> therapist, or back if used
        (
            np.where(slot_used, t_nodes[slot_owner], s_nodes),
            np.where(slot_used, s_nodes, t_nodes[slot_owner]),
            0,
        ),
        (t_nodes[load < capacity], np.full(int((load < capacity).sum()), sink), 0),
        (np.full(int((load > 0).sum()), sink), t_nodes[load > 0], 0),
    ]
    # The bypass source -> sink carries everyone not placed.
    if n_placed > 0:
        parts.append((np.array([source]), np.array([sink]), 0))
    if n_placed < len(np.unique(arc_r)):
        parts.append((np.array([sink]), np.array([source]), 0))
    tails = np.concatenate([p[0] for p in parts])
    heads = np.concatenate([p[1] for p in parts])
    costs = np.concatenate(
        [np.broadcast_to(np.asarray(p[2], dtype=np.int64), p[0].shape) for p in parts]
    )
    dist = np.zeros(sink + 1, dtype=np.int64)
    for _ in range(2_000):
        relaxed = dist.copy()
        np.minimum.at(relaxed, heads, dist[tails] + costs)
        if np.array_equal(relaxed, dist):
            return dist
        dist = relaxed
    return None


def _first_per_slot(arc_s: np.ndarray, key: np.ndarray, k: int) -> np.ndarray:
    """Mask of each slot's ``k`` arcs with the smallest ``key``; ties go to the earlier arcs.

    The ties are broken here, not left to ``argpartition``: NumPy's choice among equal keys
    depends on the processor's vector instructions, and the proposals must not."""
    n = len(arc_s)
    if n and np.any(arc_s[1:] < arc_s[:-1]):  # arcs come grouped by slot; sort if not
        order = np.argsort(arc_s, kind="stable")
        chosen = _first_per_slot(arc_s[order], key[order], k)
        mask = np.empty(n, dtype=bool)
        mask[order] = chosen
        return mask
    mask = np.zeros(n, dtype=bool)
    starts = np.flatnonzero(np.r_[True, arc_s[1:] != arc_s[:-1]]) if n else np.zeros(0, int)
    ends = np.r_[starts[1:], n]
    long = (ends - starts) > k
    lengths = ends - starts
    mask[np.repeat(~long, lengths)] = True  # slots with at most k arcs: all of them
    if not long.any():
        return mask
    # Each longer slot's k-th smallest key (a value: the same on every machine), then
    # every arc below it and, of the arcs equal to it, the earliest until k are chosen.
    kth = np.array(
        [
            np.partition(key[a:b], k - 1)[k - 1]
            for a, b in zip(starts[long].tolist(), ends[long].tolist(), strict=True)
        ],
        dtype=key.dtype,
    )
    in_long = np.repeat(long, lengths)
    sub, sizes = key[in_long], lengths[long]
    bound = np.repeat(kth, sizes)
    below, equal = sub < bound, sub == bound
    firsts = np.r_[0, np.cumsum(sizes)[:-1]]
    room = np.repeat(k - np.add.reduceat(below.astype(np.int64), firsts), sizes)
    seen = np.cumsum(equal)  # arcs equal to the bound so far, counted within each slot
    seen -= np.repeat(seen[firsts] - equal[firsts], sizes)
    mask[in_long] = below | (equal & (seen <= room))
    return mask


def _flow_assign(
    arc_r: np.ndarray,
    arc_s: np.ndarray,
    arc_v: np.ndarray,
    slot_owner: np.ndarray,
    capacity: np.ndarray,
    n_ref: int,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Max-value b-matching referral -> slot with per-therapist capacity. Exact.

    Large networks are solved on a subset of arcs first (``start``, or each slot's best
    arcs); node potentials then either certify that no omitted arc can improve the result
    (every reduced cost non-negative: the linear-programming optimality condition) or name
    the arcs to add for another round. Returns the mask of arcs used and the potentials
    (None when the whole network was solved at once).
    """
    n = len(arc_r)
    if n == 0:
        return np.zeros(0, dtype=bool), None
    if n < _PRICE_FROM:
        used = _solve_network(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref)
        return used, _potentials(arc_r, arc_s, arc_v, used, slot_owner, capacity, n_ref)
    if start is not None:
        active = start.copy()
    else:
        active = _first_per_slot(arc_s, -arc_v, _FIRST_ARCS_PER_SLOT)
    if active.sum() > n // 2:  # pricing would save little: solve the whole network
        used = _solve_network(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref)
        return used, _potentials(arc_r, arc_s, arc_v, used, slot_owner, capacity, n_ref)
    for round_ in range(_MAX_ROUNDS):
        idx = np.flatnonzero(active)
        used_sub = _solve_network(arc_r[idx], arc_s[idx], arc_v[idx], slot_owner, capacity, n_ref)
        dist = _potentials(
            arc_r[idx], arc_s[idx], arc_v[idx], used_sub, slot_owner, capacity, n_ref
        )
        if dist is None:
            break
        reduced = -arc_v + dist[arc_r] - dist[n_ref + arc_s]
        improving = ~active & (reduced < 0)
        if not improving.any():
            used = np.zeros(n, dtype=bool)
            used[idx[used_sub]] = True
            return used, dist
        if round_ < _RECENTRE_ROUNDS:
            # Start afresh from the arcs that are cheapest under the new potentials (the
            # improving ones first) and the arcs in use: a small network near the optimum.
            used = np.zeros(n, dtype=bool)
            used[idx[used_sub]] = True
            active = _first_per_slot(arc_s, reduced, _RECENTRE_ARCS_PER_SLOT) | used
            continue
        # Then only add each slot's most improving arcs, never drop any, so that the
        # rounds end; the next round's potentials show whether more are needed.
        candidates = np.flatnonzero(improving)
        chosen = _first_per_slot(arc_s[candidates], reduced[candidates], _ADD_PER_SLOT)
        active[candidates[chosen]] = True
    used = _solve_network(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref)
    return used, _potentials(arc_r, arc_s, arc_v, used, slot_owner, capacity, n_ref)
