"""Is therapy on track? Pure Python over dated PHQ-9/GAD-7 totals: no Django, no database.

The rules, from the NHS Talking Therapies outcome definitions in `measures`:

* the baseline is the first time point with both a PHQ-9 and a GAD-7 total (normally the
  assessment's, or the self-referral's when the assessment reused them);
* every later time point with both totals is classified against the baseline
  (`measures.classify_change`);
* a *reliable deterioration* at any time point makes therapy not on track at once;
* at a *review point* (a date in the session plan), the first time point on or after it is
  the one that counts: without reliable improvement by then, therapy is not on track.

A time point with only one of the two totals cannot be classified; it is reported as such,
never filled in from another date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import measures

__all__ = [
    "Concern",
    "Evaluation",
    "TimePoint",
    "baseline_of",
    "evaluate_series",
]


class Concern(StrEnum):
    RELIABLE_DETERIORATION = "reliable_deterioration"
    NO_IMPROVEMENT_AT_REVIEW = "no_improvement_at_review"


@dataclass(frozen=True)
class TimePoint:
    on: date
    phq9: int | None
    gad7: int | None

    @property
    def paired(self) -> bool:
        return self.phq9 is not None and self.gad7 is not None

    def pair(self) -> measures.Pair:
        return measures.Pair(phq9=self.phq9, gad7=self.gad7)


@dataclass(frozen=True)
class Evaluation:
    """One time point judged against the baseline."""

    point: TimePoint
    change: measures.Change | None  # None: not both totals at this point
    review_date: date | None  # the review point this time point answers, if any
    concerns: tuple[Concern, ...]
    baseline: TimePoint | None = None  # the start it was judged against

    @property
    def on_track(self) -> bool:
        return not self.concerns

    def describe(self) -> str:
        if self.change is None:
            return "Not classified: PHQ-9 and GAD-7 are both needed at the same time point"
        return str(self.change.label).capitalize()


def baseline_of(points: Sequence[TimePoint]) -> TimePoint | None:
    """The first time point with both totals."""
    for point in sorted(points, key=lambda p: p.on):
        if point.paired:
            return point
    return None


def evaluate_series(
    points: Iterable[TimePoint],
    *,
    review_dates: Iterable[date] = (),
    baseline: TimePoint | None = None,
) -> list[Evaluation]:
    """Classify every time point after the baseline, in date order.

    Each review date is answered by the first *paired* time point on or after it (a review
    point without measures is not judged: there is nothing to judge it on).
    """
    ordered = sorted(points, key=lambda p: p.on)
    base = baseline or baseline_of(ordered)
    if base is None:
        return []
    pending_reviews = sorted(set(review_dates))
    evaluations = []
    for point in ordered:
        if point.on <= base.on:
            continue
        if not point.paired:
            evaluations.append(Evaluation(point, None, None, (), base))
            continue
        change = measures.classify_change(base.pair(), point.pair())
        answered = [d for d in pending_reviews if d <= point.on]
        review_date = answered[-1] if answered else None
        pending_reviews = [d for d in pending_reviews if d > point.on]
        concerns = []
        if change.reliable_deterioration:
            concerns.append(Concern.RELIABLE_DETERIORATION)
        if review_date is not None and not change.reliable_improvement:
            concerns.append(Concern.NO_IMPROVEMENT_AT_REVIEW)
        evaluations.append(Evaluation(point, change, review_date, tuple(concerns), base))
    return evaluations
