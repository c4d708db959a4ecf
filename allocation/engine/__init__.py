"""Matching engine: allocate waiting referrals to therapists' free weekly slots.

Pure Python with numpy and OR-tools; no Django and no database. The management command
and the coordinator screens call the four public functions:

- ``parse_problem(data)`` validates a JSON-shaped dict and returns a ``Problem``, or raises
  ``ProblemError`` naming the record at fault;
- ``solve(problem)`` returns a ``Result``: proposals with their reasons, and every referral
  left unplaced with why and what would place it;
- ``result_to_dict(result)`` turns a result into JSON-ready data;
- ``eligible_pairs(problem)`` lists every referral/therapist pair that meets every hard
  constraint, with its score.

``greedy(problem)`` is a baseline (longest wait first, first therapist who fits) for the
benchmark and the tests.

The objective is lexicographic: first the number of referrals placed, then the sum of
their priorities, then the sum of their fit points. It is one integer objective,
``place_scale * placed + scale * priority + fit``, where ``scale`` exceeds the largest
total fit and ``place_scale`` the largest ``scale * priority + fit`` any allocation can
reach. docs/allocation.md states it precisely and says which parts of the search are exact.

This file only re-exports; each module owns one job:

- ``problem``: the data (``Problem``, its records, ``Result``) and shared constants;
- ``parse``: parsing and validation (``parse_problem``, ``ProblemError`` messages);
- ``scoring``: priority and fit points;
- ``group``: one service's eligibility matrices (``_Group``) and its placements (``_Plan``);
- ``flow``: the exact min-cost flow with arc pricing;
- ``bound``: the upper bound and dual prices, by linear-programming duality;
- ``decompose``: the flow decomposition for referrals seen several times a week;
- ``cp_sat``: the exact CP-SAT model of a small service;
- ``swaps``: insertions, one-for-one and two-for-two swaps until none improves;
- ``explain``: reasons for proposals and explanations for referrals left unplaced;
- ``fit``: one referral's fit with each therapist, for the coordinator's own choice;
- ``result``: assignments, the objective, ``result_to_dict``;
- ``baseline``: the greedy baseline (``greedy``);
- ``solver``: ``solve``, each service by the methods above;
- ``pairs``: ``eligible_pairs``.

Modules import downwards in that order (``group`` reaches ``baseline`` only inside a
method). Nothing in the package imports Django or the database: a test holds it.
"""

# ruff: noqa: F401 (this file only re-exports)

# Besides the public names, some internals stay reachable as ``allocation.engine.X`` for
# the tests and benchmarks/bench_allocation.py; new code imports them from their module.

from allocation.engine.baseline import greedy
from allocation.engine.cp_sat import _cp_sat
from allocation.engine.decompose import _decompose
from allocation.engine.explain import FAMILIES
from allocation.engine.flow import _PRICE_FROM, _solve_network
from allocation.engine.group import _Group, _groups, _plan_value
from allocation.engine.pairs import eligible_pairs
from allocation.engine.parse import (
    _REFERRAL_FIELDS,
    _SLOT_FIELDS,
    _THERAPIST_FIELDS,
    MAX_CAPACITY,
    MAX_WEEKS_WAITING,
    parse_problem,
)
from allocation.engine.problem import (
    DAY_NAMES,
    FIVE_PM,
    MINUTES_PER_DAY,
    MODES,
    NOON,
    PARTS,
    REMOTE,
    RISKS,
    STRENGTHS,
    Assignment,
    Problem,
    ProblemError,
    Referral,
    Result,
    Slot,
    Therapist,
    Unplaced,
    Weights,
)
from allocation.engine.result import result_to_dict
from allocation.engine.scoring import fit_of, priority_of
from allocation.engine.solver import solve

__all__ = [
    "Assignment",
    "Problem",
    "ProblemError",
    "Referral",
    "Result",
    "Slot",
    "Therapist",
    "Unplaced",
    "Weights",
    "eligible_pairs",
    "greedy",
    "parse_problem",
    "priority_of",
    "result_to_dict",
    "solve",
]
