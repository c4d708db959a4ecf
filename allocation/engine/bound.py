"""The bound: an upper bound on a service's optimum, and dual prices, by LP duality.

``_flow_bounded`` solves the relaxation (each referral needs one slot) in one priced round
and reads off a feasible dual of the whole network, whose value bounds the optimum from
above (reported as ``upper_bound``, ``placed_bound`` and ``priority_gap``). ``_prices``
gives the dual prices of slots and places that guide the decomposition's repairs.
"""

from __future__ import annotations

import numpy as np

from allocation.engine.flow import (
    _FIRST_ARCS_PER_SLOT,
    _PRICE_FROM,
    _RECENTRE_ARCS_PER_SLOT,
    _first_per_slot,
    _flow_assign,
    _potentials,
    _solve_network,
)


def _flow_bounded(
    arc_r: np.ndarray,
    arc_s: np.ndarray,
    arc_v: np.ndarray,
    slot_owner: np.ndarray,
    capacity: np.ndarray,
    n_ref: int,
) -> tuple[np.ndarray, np.ndarray | None, int, bool]:
    """A flow that is usually optimal, and a valid upper bound, from one priced round.

    For the relaxation, whose flow only guides the repair and whose optimum is only needed
    as a bound: the flow over each slot's best arcs, and from its potentials a feasible
    solution of the dual of the whole network (slot and place prices as they are, each
    referral's price raised to cover its best arc). By weak duality the dual's value is an
    upper bound on the whole network's optimum; it equals the flow's value exactly when no
    omitted arc could improve it. Returns (arcs used, potentials, bound, proven optimal).
    """
    n = len(arc_r)
    if n < _PRICE_FROM:
        used, dist = _flow_assign(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref)
        return used, dist, int(arc_v[used].sum()), True
    idx = np.flatnonzero(_first_per_slot(arc_s, -arc_v, _FIRST_ARCS_PER_SLOT))
    used_sub = _solve_network(arc_r[idx], arc_s[idx], arc_v[idx], slot_owner, capacity, n_ref)
    dist = _potentials(arc_r[idx], arc_s[idx], arc_v[idx], used_sub, slot_owner, capacity, n_ref)
    if dist is None:
        used, dist = _flow_assign(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref)
        return used, dist, int(arc_v[used].sum()), True
    used = np.zeros(n, dtype=bool)
    used[idx[used_sub]] = True
    value = int(arc_v[used].sum())
    slot_price, place_price = _prices(dist, slot_owner, n_ref, len(capacity))
    referral_price = np.zeros(n_ref, dtype=np.int64)
    np.maximum.at(referral_price, arc_r, arc_v - slot_price[arc_s] - place_price[slot_owner[arc_s]])
    bound = int(
        referral_price.sum() + slot_price.sum() + (np.maximum(capacity, 0) * place_price).sum()
    )
    if bound <= value:
        return used, dist, value, True
    # The one-round dual is not tight, and at scale it can be far off (it once allowed
    # ten times more placements than there are places): solve the relaxation exactly,
    # from this round's arcs, so that the bound is the relaxation's optimum.
    # Start from each slot's arcs of least reduced cost under this round's potentials and
    # the arcs in use (as the pricing rounds do), not from this round's network again.
    reduced = -arc_v + dist[arc_r] - dist[n_ref + arc_s]
    start = _first_per_slot(arc_s, reduced, _RECENTRE_ARCS_PER_SLOT) | used
    used, dist = _flow_assign(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref, start)
    return used, dist, int(arc_v[used].sum()), True


def _prices(dist: np.ndarray, slot_owner: np.ndarray, n_ref: int, n_ther: int):
    """Dual prices of slots and of therapists' places, read off the potentials.

    With potentials ``dist`` of an optimal flow, ``price[s] = max(0, dist[t] - dist[s])``
    for slot ``s`` of therapist ``t`` and ``place[t] = max(0, dist[sink] - dist[t])`` are
    an optimal solution of the linear program's dual. Taking a slot (or a place) away
    loses at least its price, so prices are an optimistic estimate of eviction costs.
    """
    S = len(slot_owner)
    t_nodes = n_ref + S + np.arange(n_ther)
    sink = n_ref + S + n_ther + 1
    slot_price = np.maximum(dist[t_nodes[slot_owner]] - dist[n_ref + np.arange(S)], 0)
    place_price = np.maximum(dist[sink] - dist[t_nodes], 0)
    return slot_price, place_price
