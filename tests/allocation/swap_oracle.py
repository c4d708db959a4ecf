"""An independent search for improving swaps in a proposal set, on the raw problem dict.

A *swap* takes some placed referrals out and puts the same number (or one more) of
waiting referrals in, each with any therapist and slots that keep every hard constraint
given everyone else's proposals. It improves when it places more people, or as many with
more priority, or as many with as much priority and more fit (the engine's objective).
The search here reads only the problem and the result dicts (rules from
docs/allocation.md via engine_oracle), never the engine's internals.
"""

from __future__ import annotations

import copy
import itertools
import re

from tests.allocation.engine_oracle import (
    add_load,
    bundle_fit,
    day_of,
    limits_of,
    load_of,
    pair_allowed,
    priority_of,
    slot_fits,
)


def options_of(problem):
    """Per referral id: its priority and every (therapist, slot keys, fit) it could take."""
    out = {}
    for referral in problem["referrals"]:
        k = referral.get("sessions_per_week", 1)
        mine = []
        for therapist in problem["therapists"]:
            if not pair_allowed(referral, therapist, problem):
                continue
            fitting = [s for s in therapist["slots"] if slot_fits(referral, s, problem)]
            for bundle in itertools.combinations(fitting, k):
                if len({day_of(s["day"]) for s in bundle}) == k:
                    mine.append(
                        (
                            therapist["id"],
                            frozenset((therapist["id"], s["id"]) for s in bundle),
                            bundle_fit(referral, therapist, bundle),
                        )
                    )
        out[referral["id"]] = (priority_of(referral, problem.get("today")), mine)
    return out


class State:
    """The proposals as slot holders and therapist loads."""

    def __init__(self, problem, result, options=None):
        self.options = options if options is not None else options_of(problem)
        # Per therapist: (free weekly sessions, room under the high-risk cap, under the
        # complex cap), and what the proposals use of each.
        self.limits = {t["id"]: limits_of(t) for t in problem["therapists"]}
        self.caps = {tid: limits[0] for tid, limits in self.limits.items()}
        self.needs = {r["id"]: load_of(r) for r in problem["referrals"]}
        self.placed = {}  # referral -> (therapist, slot keys, fit)
        for a in result["assignments"]:
            keys = frozenset((a["therapist"], s["id"]) for s in a["slots"])
            self.placed[a["referral"]] = (a["therapist"], keys, a["fit"])
        self.waiting = [u["referral"] for u in result["unplaced"]]
        self.used = set().union(*(keys for _, keys, _ in self.placed.values()))
        self.usage = {}
        for rid, (tid, _, _) in self.placed.items():
            self.usage[tid] = add_load(self.usage.get(tid, (0, 0, 0)), self.needs[rid])
        self.load = {tid: used[0] for tid, used in self.usage.items()}  # weekly sessions

    def room(self, used, needs, tid):
        after = add_load(used, needs)
        return all(x <= y for x, y in zip(after, self.limits[tid], strict=True))

    def priority(self, rid):
        return self.options[rid][0]

    def fitting(self, rid, removed=()):
        """The options of ``rid`` open once the placed referrals ``removed`` are taken out."""
        freed_slots = set().union(*(self.placed[p][1] for p in removed)) if removed else set()
        used = dict(self.usage)
        for p in removed:
            tid = self.placed[p][0]
            used[tid] = add_load(used[tid], self.needs[p], -1)
        out = []
        for tid, keys, fit in self.options[rid][1]:
            if not self.room(used.get(tid, (0, 0, 0)), self.needs[rid], tid):
                continue
            if all(k not in self.used or k in freed_slots for k in keys):
                out.append((tid, keys, fit))
        return out


def improving_swap(problem, result, options=None):
    """The first improving insertion, one-for-one or two-for-two swap found, or None.

    Each is returned as (taken out, put in). Exhaustive over every placed referral and
    pair of placed referrals; the referrals put in are searched best first and the search
    stops as soon as no remaining pair could improve.
    """
    state = State(problem, result, options)
    for u in state.waiting:
        if state.fitting(u):
            return ((), (u,))
    placed = sorted(state.placed)
    for p in placed:
        _, _, p_fit = state.placed[p]
        for u in state.waiting:
            if state.priority(u) < state.priority(p):
                continue
            for _, _, fit in state.fitting(u, (p,)):
                if (state.priority(u), fit) > (state.priority(p), p_fit):
                    return ((p,), (u,))
    # Two for two: each referral put in uses a place or slot freed by the two taken out
    # (one that uses neither would fit on its own, found above), so it is a client of one
    # of their therapists.
    waiting_at = {}
    for u in state.waiting:
        for tid in {tid for tid, _, _ in state.options[u][1]}:
            waiting_at.setdefault(tid, []).append(u)
    for p1, p2 in itertools.combinations(placed, 2):
        out_priority = state.priority(p1) + state.priority(p2)
        out_fit = state.placed[p1][2] + state.placed[p2][2]
        near = set(waiting_at.get(state.placed[p1][0], ())) | set(
            waiting_at.get(state.placed[p2][0], ())
        )
        open_ = {u: state.fitting(u, (p1, p2)) for u in near}
        ranked = sorted((u for u in open_ if open_[u]), key=lambda u: -state.priority(u))
        for i, u1 in enumerate(ranked):
            if (
                state.priority(u1) + (state.priority(ranked[i + 1]) if i + 1 < len(ranked) else 0)
                < out_priority
            ):
                break
            for u2 in ranked[i + 1 :]:
                total = state.priority(u1) + state.priority(u2)
                if total < out_priority:
                    break
                for (t1, k1, f1), (t2, k2, f2) in itertools.product(open_[u1], open_[u2]):
                    if k1 & k2:
                        continue
                    if t1 == t2:
                        used = state.usage.get(t1, (0, 0, 0))
                        for p in (p1, p2):
                            if state.placed[p][0] == t1:
                                used = add_load(used, state.needs[p], -1)
                        both = add_load(state.needs[u1], state.needs[u2])
                        if not state.room(used, both, t1):
                            continue
                    if (total, f1 + f2) > (out_priority, out_fit):
                        return ((p1, p2), (u1, u2))
    return None


def fits_instead(state, u, p):
    """Could waiting referral ``u`` take placed referral ``p``'s place and slots instead?"""
    return bool(state.fitting(u, (p,)))


def check_cap_claims(data, result):
    """Every "raising that cap by one" and "weekly sessions decide" claim: with everyone
    else's proposals kept, the change named lets this client in with that therapist.
    Returns how many claims were checked."""
    checked = 0
    referrals = {r["id"]: r for r in data["referrals"]}
    for u in result["unplaced"]:
        k = referrals[u["referral"]].get("sessions_per_week", 1)
        for s in u["suggestions"]:
            cap = re.match(
                r"the cap on (high-risk|complex) clients decides: \d+ therapists? \((.*?)\)", s
            )
            short = re.match(r"weekly sessions decide: \d+ therapists? \((.*?)\)", s)
            if not cap and not short:
                continue
            named = (cap or short).group(cap.lastindex if cap else 1)
            for part in named.split(" and ")[0].split("; "):
                tid, what = part.split(": ")
                fixed = copy.deepcopy(data)
                t = next(x for x in fixed["therapists"] if x["id"] == tid)
                before = State(fixed, result)
                assert not any(o[0] == tid for o in before.fitting(u["referral"])), (s, tid)
                if cap:
                    kind = "high_risk" if cap.group(1) == "high-risk" else "complex"
                    assert what == f"at most {t[f'max_{kind}']}", (s, what)
                    t[f"max_{kind}"] += 1
                else:
                    left = int(what.split()[0])
                    assert before.caps[tid] - before.load.get(tid, 0) == left, (s, tid)
                    t["sessions" if "sessions" in t else "capacity"] += k - left
                after = State(fixed, result)
                assert any(o[0] == tid for o in after.fitting(u["referral"])), (s, tid)
                checked += 1
    return checked
