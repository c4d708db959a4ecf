"""Not on track, and recovery, on realistic series of PHQ-9/GAD-7 totals (no database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from measures import ChangeLabel
from therapy.tracking import Concern, TimePoint, baseline_of, evaluate_series

START = date(2027, 1, 5)


def series(*pairs, every_weeks=4):
    return [
        TimePoint(on=START + timedelta(weeks=i * every_weeks), phq9=p, gad7=g)
        for i, (p, g) in enumerate(pairs)
    ]


def test_steady_recovery_is_reliable_recovery_and_on_track_at_the_review():
    points = series((17, 14), (15, 13), (11, 9), (8, 6), (6, 5))
    review = START + timedelta(weeks=12)

    evaluations = evaluate_series(points, review_dates=[review])

    last = evaluations[-1]
    assert last.change.label == ChangeLabel.RELIABLE_RECOVERY
    assert all(e.on_track for e in evaluations)
    assert [e.review_date for e in evaluations] == [None, None, review, None]


def test_no_reliable_improvement_by_the_review_point_is_not_on_track():
    points = series((16, 12), (15, 12), (14, 11), (13, 10))
    review = START + timedelta(weeks=12)

    evaluations = evaluate_series(points, review_dates=[review])

    at_review = evaluations[-1]
    assert at_review.review_date == review
    assert at_review.concerns == (Concern.NO_IMPROVEMENT_AT_REVIEW,)
    assert at_review.change.label == ChangeLabel.NO_RELIABLE_CHANGE
    assert all(e.on_track for e in evaluations[:-1])  # before the review: not judged


def test_reliable_deterioration_is_not_on_track_at_once_without_a_review():
    points = series((12, 9), (14, 10), (18, 10))

    evaluations = evaluate_series(points, review_dates=[])

    assert evaluations[0].on_track
    assert evaluations[1].concerns == (Concern.RELIABLE_DETERIORATION,)
    assert evaluations[1].change.label == ChangeLabel.RELIABLE_DETERIORATION


def test_gad7_rise_of_four_is_deterioration_even_when_phq9_falls_reliably():
    points = series((20, 8), (13, 12))
    evaluation = evaluate_series(points)[0]
    assert Concern.RELIABLE_DETERIORATION in evaluation.concerns
    assert not evaluation.change.reliable_improvement


def test_recovery_without_reliable_improvement_is_still_flagged_at_a_review():
    # Just over caseness at the start, just under at the review: within measurement error.
    points = series((10, 8), (9, 7))
    review = START + timedelta(weeks=4)
    evaluation = evaluate_series(points, review_dates=[review])[0]
    assert evaluation.change.label == ChangeLabel.RECOVERY
    assert evaluation.concerns == (Concern.NO_IMPROVEMENT_AT_REVIEW,)


def test_not_a_case_at_the_start_says_so():
    points = series((6, 5), (4, 3))
    evaluation = evaluate_series(points)[0]
    assert "recovery does not apply" in evaluation.change.note
    assert evaluation.describe() == "No reliable change"


def test_a_review_is_answered_by_the_first_paired_point_on_or_after_it_only_once():
    reviews = [START + timedelta(weeks=6), START + timedelta(weeks=7)]
    points = series((16, 12), (15, 12), (15, 12), (14, 11))  # weeks 0, 4, 8, 12
    evaluations = evaluate_series(points, review_dates=reviews)
    # Both reviews fall before week 8: week 8 answers the later one; week 12 answers none.
    assert [e.review_date for e in evaluations] == [None, reviews[1], None]


def test_a_point_with_only_one_total_is_not_classified_or_filled_in():
    points = [
        TimePoint(START, 15, 12),
        TimePoint(START + timedelta(weeks=4), 20, None),
        TimePoint(START + timedelta(weeks=8), 8, 6),
    ]
    evaluations = evaluate_series(points, review_dates=[START + timedelta(weeks=4)])
    assert evaluations[0].change is None and evaluations[0].on_track
    assert "both needed" in evaluations[0].describe()
    # The review is answered by the next point with both totals.
    assert evaluations[1].review_date == START + timedelta(weeks=4)
    assert evaluations[1].on_track


def test_baseline_is_the_first_pair_and_can_be_given():
    points = [TimePoint(START, 15, None), TimePoint(START + timedelta(days=7), 14, 10)]
    assert baseline_of(points) == points[1]
    given = TimePoint(START + timedelta(days=7), 18, 12)
    later = TimePoint(START + timedelta(weeks=8), 11, 7)
    evaluation = evaluate_series([*points, later], baseline=given)[0]
    assert evaluation.change.phq9_change == -7
    assert baseline_of([]) is None
    assert evaluate_series([TimePoint(START, None, 3)]) == []


@pytest.mark.parametrize(
    ("first", "last", "label"),
    [
        ((15, 12), (8, 6), ChangeLabel.RELIABLE_RECOVERY),
        ((15, 12), (12, 7), ChangeLabel.RELIABLE_IMPROVEMENT),
        ((11, 6), (9, 6), ChangeLabel.RECOVERY),
        ((15, 12), (22, 12), ChangeLabel.RELIABLE_DETERIORATION),
        ((15, 12), (13, 10), ChangeLabel.NO_RELIABLE_CHANGE),
    ],
)
def test_labels_follow_the_talking_therapies_definitions(first, last, label):
    evaluation = evaluate_series(series(first, last))[0]
    assert evaluation.change.label == label
