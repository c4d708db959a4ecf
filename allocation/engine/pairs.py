"""``eligible_pairs``: every referral/therapist pair that meets every hard constraint.

The ``--scores`` file of the ``allocate`` command: each pair with its fitting slots, its
best possible fit and its score, best first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from allocation.engine.group import _Group, _groups
from allocation.engine.problem import Problem, _bulk


def _days_reach(pair: np.ndarray, day: np.ndarray, pairs: np.ndarray, k: np.ndarray):
    """Per pair in ``pairs``: do the (pair, day) rows given cover ``k`` different days?"""
    with_days, days = np.unique(np.unique(pair * 7 + day) // 7, return_counts=True)
    count = np.zeros(len(pairs), dtype=np.int64)
    count[np.searchsorted(pairs, with_days)] = days
    return count >= k


@_bulk()
def eligible_pairs(problem: Problem) -> list[dict[str, Any]]:
    """Every referral/therapist pair that meets every hard constraint (the ``--scores`` file).

    ``slots`` lists the therapist's slots that fit the referral; ``fit`` is the best fit
    those slots allow; ``score`` is ``place_scale + scale * priority + fit``. Sorted by score, best
    first, then by referral and therapist id.
    """
    weights = problem.weights
    columns: list[tuple[np.ndarray, ...]] = []
    slot_lists: list[list[str]] = []
    for ref_ids, ther_ids in _groups(problem).values():
        if not ref_ids or not ther_ids:
            continue
        g = _Group(problem, ref_ids, ther_ids)
        R = len(g.refs)
        slot_col, row = np.nonzero(g.ok)
        pair = g.s_t[slot_col] * R + row
        order = np.argsort(pair, kind="stable")
        slot_col, row, pair = slot_col[order], row[order], pair[order]
        pairs, first = np.unique(pair, return_index=True)
        p_t, p_row = pairs // R, pairs % R
        k, day = g.r_k[p_row], g.s_day[slot_col]
        # Best fit: the pair's own points, plus the site and time bonuses when fitting
        # slots meeting them lie on k different days (both together, or the larger one).
        site_ok = g.s_site[slot_col] == g.r_pref_site[row]
        time_ok = g.r_pref_part.any(axis=0)[row] & g.r_pref_part[g.s_part[slot_col], row]
        site = _days_reach(pair[site_ok], day[site_ok], pairs, k)
        timely = _days_reach(pair[time_ok], day[time_ok], pairs, k)
        both_ok = site_ok & time_ok
        both = _days_reach(pair[both_ok], day[both_ok], pairs, k)
        bonus = np.maximum(
            both * (weights.fit_site + weights.fit_time),
            np.maximum(site * weights.fit_site, timely * weights.fit_time),
        )
        fit = g.pair_fit(p_t, p_row) + bonus
        names = [g.slots[s].id for s in slot_col.tolist()]
        bounds = np.r_[first, len(pair)].tolist()
        slot_lists.extend(names[bounds[n] : bounds[n + 1]] for n in range(len(pairs)))
        columns.append((g.ref_ids[p_row], g.ther_ids[p_t], g.priority[p_row], fit))
    if not columns:
        return []
    ref, ther, priority, fit = (np.concatenate(c) for c in zip(*columns, strict=True))
    score = problem.place_scale + priority * problem.scale + fit
    rank_of = {
        kind: np.argsort(np.argsort([x.id for x in records], kind="stable"), kind="stable")
        for kind, records in (("r", problem.referrals), ("t", problem.therapists))
    }
    order = np.lexsort((rank_of["t"][ther], rank_of["r"][ref], -score)).tolist()
    ids_r = [r.id for r in problem.referrals]
    ids_t = [t.id for t in problem.therapists]
    ref, ther, priority, fit, score = (x.tolist() for x in (ref, ther, priority, fit, score))
    return [
        {
            "referral": ids_r[ref[n]],
            "therapist": ids_t[ther[n]],
            "slots": slot_lists[n],
            "priority": priority[n],
            "fit": fit[n],
            "score": score[n],
        }
        for n in order
    ]
