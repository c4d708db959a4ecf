"""Priority and fit points of one referral, or one referral with one therapist.

Scalar forms (``priority_of``, ``fit_of``) for the proposals and their reasons, and the
pieces the vectorised build in ``group.py`` shares with them. The weights themselves are
``problem.Weights``; docs/allocation.md gives the rules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from allocation.engine.problem import RISKS, Referral, Slot, Therapist, Weights


def priority_of(referral: Referral, weights: Weights) -> int:
    weeks = referral.weeks_waiting
    points = weights.base + weights.per_week * min(weeks, weights.max_weeks)
    if weeks >= 6:
        points += weights.breach_6
    if weeks >= 18:
        points += weights.breach_18
    if referral.risk == "medium":
        points += weights.risk_medium
    elif referral.risk == "high":
        points += weights.risk_high
    return points


def _priorities(referrals: Sequence[Referral], weights: Weights) -> np.ndarray:
    """``priority_of`` for many referrals at once."""
    n = len(referrals)
    weeks = np.fromiter((r.weeks_waiting for r in referrals), np.int64, n)
    risk = np.fromiter((RISKS.index(r.risk) for r in referrals), np.int64, n)
    risk_points = np.array([0, weights.risk_medium, weights.risk_high], dtype=np.int64)
    return (
        weights.base
        + weights.per_week * np.minimum(weeks, weights.max_weeks)
        + weights.breach_6 * (weeks >= 6)
        + weights.breach_18 * (weeks >= 18)
        + risk_points[risk]
    )


def _pair_fit(referral: Referral, therapist: Therapist, weights: Weights) -> int:
    points = 0
    if referral.gender_strength == "preferred" and therapist.gender == referral.gender:
        points += weights.fit_gender
    if referral.continuity != "none" and referral.assessor == therapist.id:
        points += weights.fit_continuity
    if referral.needs_no_interpreter_with(therapist):
        points += weights.fit_language
    return points


def fit_of(
    referral: Referral, therapist: Therapist, slots: Sequence[Slot], weights: Weights
) -> int:
    """Fit points of placing ``referral`` with ``therapist`` in ``slots``."""
    points = _pair_fit(referral, therapist, weights)
    if referral.preferred_site is not None and all(
        s.site == referral.preferred_site for s in slots
    ):
        points += weights.fit_site
    if referral.preferred_windows and all(referral.prefers_time(s) for s in slots):
        points += weights.fit_time
    return points
