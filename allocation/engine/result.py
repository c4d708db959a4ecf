"""A result's rows and its JSON form: proposals, the objective, ``result_to_dict``.

``_make_assignment`` turns a placement into an ``Assignment`` with its score and reasons;
``_objective`` sums the lexicographic objective; ``result_to_dict`` is the ``--output``
file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from allocation.engine.explain import _assignment_reasons
from allocation.engine.problem import (
    DAY_NAMES,
    PARTS,
    Assignment,
    Problem,
    Result,
    Slot,
    _bulk,
    _hhmm,
)
from allocation.engine.scoring import fit_of, priority_of


def _make_assignment(problem: Problem, ri: int, ti: int, slots: Sequence[Slot]) -> Assignment:
    referral, therapist = problem.referrals[ri], problem.therapists[ti]
    priority = priority_of(referral, problem.weights)
    fit = fit_of(referral, therapist, slots, problem.weights)
    ordered = tuple(sorted(slots, key=lambda s: (s.day, s.start)))
    return Assignment(
        referral=referral.id,
        therapist=therapist.id,
        slots=ordered,
        priority=priority,
        fit=fit,
        score=problem.value_of(priority, fit),
        reasons=tuple(_assignment_reasons(referral, therapist, ordered, priority)),
    )


def _objective(problem: Problem, assignments: Sequence[Assignment], **extra: Any) -> dict:
    priority = sum(a.priority for a in assignments)
    fit = sum(a.fit for a in assignments)
    return {
        "placed": len(assignments),
        "priority": priority,
        "fit": fit,
        "scale": problem.scale,
        "place_scale": problem.place_scale,
        "value": problem.place_scale * len(assignments) + priority * problem.scale + fit,
        **extra,
    }


def _slot_dict(slot: Slot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "day": slot.day,
        "day_name": DAY_NAMES[slot.day],
        "start": _hhmm(slot.start),
        "length": slot.length,
        "part": PARTS[slot.part],
        "site": slot.site,
    }


@_bulk()
def result_to_dict(result: Result) -> dict[str, Any]:
    """JSON-ready form of a result (the ``--output`` file)."""
    return {
        "assignments": [
            {
                "referral": a.referral,
                "therapist": a.therapist,
                "slots": [_slot_dict(s) for s in a.slots],
                "priority": a.priority,
                "fit": a.fit,
                "score": a.score,
                "reasons": list(a.reasons),
            }
            for a in result.assignments
        ],
        "unplaced": [
            {
                "referral": u.referral,
                "priority": u.priority,
                "reasons": list(u.reasons),
                "suggestions": list(u.suggestions),
            }
            for u in result.unplaced
        ],
        "objective": dict(result.objective),
        "stats": dict(result.stats),
    }
