"""Scoring rules for PHQ-9, GAD-7, CORE-10 and WSAS, and paired NHS Talking Therapies outcomes.

Pure Python: no database, no Django. Table tests follow the published scoring instructions;
property tests check the rules hold for every possible set of answers.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from measures import (
    CORE10,
    GAD7,
    MEASURES,
    NOT_APPLICABLE,
    PHQ9,
    PREFER_NOT_TO_SAY,
    WSAS,
    ChangeLabel,
    MeasureError,
    Pair,
    classify_change,
    finished_treatment,
    get_measure,
    score,
)

# --- helpers -------------------------------------------------------------------------------


def raw_options(code: str, item_scores: list[int]) -> list[int]:
    """Options a person would tick to get these item scores (undoes reverse scoring)."""
    measure = get_measure(code)
    return [
        measure.item_max - s if n in measure.reverse_scored else s
        for n, s in enumerate(item_scores, start=1)
    ]


def answers_for_total(code: str, total: int) -> list[int]:
    """Complete answers, as ticked on the form, whose scored total is ``total``."""
    measure = get_measure(code)
    scores = []
    remaining = total
    for _ in range(measure.item_count):
        scores.append(min(remaining, measure.item_max))
        remaining -= scores[-1]
    assert remaining == 0
    return raw_options(code, scores)


def half_up(value: Fraction) -> float:
    """Independent oracle for one-decimal rounding of an exact value."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# --- registry ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "items", "options", "total_max", "cutoff", "timeframe_start"),
    [
        (PHQ9, 9, 4, 27, 10, "Over the last 2 weeks"),
        (GAD7, 7, 4, 21, 8, "Over the last 2 weeks"),
        (CORE10, 10, 5, 40, 11, "Over the last week"),
        (WSAS, 5, 9, 40, None, ""),
    ],
)
def test_registry_describes_each_measure(code, items, options, total_max, cutoff, timeframe_start):
    measure = MEASURES[code]
    assert measure.code == code
    assert measure.item_count == items
    assert len(measure.options) == options
    assert (measure.item_min, measure.item_max) == (0, options - 1)
    assert measure.total_max == total_max
    assert measure.caseness_cutoff == cutoff
    assert measure.timeframe.startswith(timeframe_start)
    assert measure.title
    assert all(text.strip() for text in measure.items)
    # Bands cover the whole range without gaps or overlaps between whole totals.
    assert measure.bands[0].low == 0
    assert measure.bands[-1].high == total_max
    for lower, upper in zip(measure.bands, measure.bands[1:], strict=False):
        assert upper.low == lower.high + 1


def test_registry_special_items():
    assert MEASURES[CORE10].reverse_scored == {2, 3}
    assert MEASURES[CORE10].risk_items == (6,)
    assert MEASURES[PHQ9].risk_items == (9,)
    assert MEASURES[GAD7].risk_items == ()
    assert MEASURES[WSAS].not_applicable_items == {1}
    assert MEASURES[PHQ9].options[0] == "Not at all"
    assert MEASURES[PHQ9].options[-1] == "Nearly every day"
    assert MEASURES[CORE10].options[-1] == "Most or all of the time"


def test_bands_unpack_as_low_high_label():
    low, high, label = MEASURES[PHQ9].bands[2]
    assert (low, high, label) == (10, 14, "moderate")


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        MEASURES["other"] = MEASURES[PHQ9]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        MEASURES[PHQ9].caseness_cutoff = 5  # type: ignore[misc]


@pytest.mark.parametrize("code", ["PHQ-9", "phq9", "Phq_9", " PHQ9 "])
def test_printed_names_are_accepted_as_codes(code):
    assert get_measure(code).code == PHQ9


# --- bands and caseness --------------------------------------------------------------------

BAND_TABLE = [
    (PHQ9, 0, "minimal"),
    (PHQ9, 4, "minimal"),
    (PHQ9, 5, "mild"),
    (PHQ9, 9, "mild"),
    (PHQ9, 10, "moderate"),
    (PHQ9, 14, "moderate"),
    (PHQ9, 15, "moderately severe"),
    (PHQ9, 19, "moderately severe"),
    (PHQ9, 20, "severe"),
    (PHQ9, 27, "severe"),
    (GAD7, 0, "minimal"),
    (GAD7, 4, "minimal"),
    (GAD7, 5, "mild"),
    (GAD7, 9, "mild"),
    (GAD7, 10, "moderate"),
    (GAD7, 14, "moderate"),
    (GAD7, 15, "severe"),
    (GAD7, 21, "severe"),
    (CORE10, 0, "low"),
    (CORE10, 10, "low"),
    (CORE10, 11, "mild"),
    (CORE10, 14, "mild"),
    (CORE10, 15, "moderate"),
    (CORE10, 19, "moderate"),
    (CORE10, 20, "moderate-to-severe"),
    (CORE10, 24, "moderate-to-severe"),
    (CORE10, 25, "severe"),
    (CORE10, 40, "severe"),
    (WSAS, 0, "subclinical"),
    (WSAS, 9, "subclinical"),
    (WSAS, 10, "significant impairment"),
    (WSAS, 20, "significant impairment"),
    (WSAS, 21, "moderately severe or worse"),
    (WSAS, 40, "moderately severe or worse"),
]


@pytest.mark.parametrize(("code", "total", "band"), BAND_TABLE)
def test_band_boundaries(code, total, band):
    result = score(code, answers_for_total(code, total))
    assert result.total == total
    assert isinstance(result.total, int)
    assert result.band == band
    assert not result.prorated
    assert result.withheld_reason is None


@pytest.mark.parametrize(
    ("code", "total", "case"),
    [
        (PHQ9, 9, False),
        (PHQ9, 10, True),
        (GAD7, 7, False),
        (GAD7, 8, True),
        (CORE10, 10, False),
        (CORE10, 11, True),
        (WSAS, 0, None),
        (WSAS, 40, None),
    ],
)
def test_caseness_cut_offs(code, total, case):
    assert score(code, answers_for_total(code, total)).caseness is case


# --- CORE-10 reverse scoring and proration -------------------------------------------------


def test_core10_all_first_options_scores_8_because_items_2_and_3_are_reversed():
    result = score(CORE10, [0] * 10)
    assert result.total == 8
    assert result.item_scores == (0, 4, 4, 0, 0, 0, 0, 0, 0, 0)
    assert result.band == "low"


def test_core10_all_last_options_scores_32():
    assert score(CORE10, [4] * 10).total == 32


def test_core10_lowest_possible_total_needs_top_option_on_items_2_and_3():
    assert score(CORE10, [0, 4, 4, 0, 0, 0, 0, 0, 0, 0]).total == 0


def test_core10_prorates_one_missing_item():
    answers = [2] * 9 + [None]
    result = score(CORE10, answers)
    assert result.total == 20.0
    assert isinstance(result.total, float)
    assert result.prorated
    assert result.answered == 9
    assert result.missing_items == (10,)
    assert result.band == "moderate-to-severe"
    assert result.caseness is True


def test_core10_prorates_with_a_reversed_item_missing():
    # Scored values 0,-,0,... : item 3 ticked "Most or all of the time" scores 0.
    answers = [0, None, 4, 0, 0, 0, 0, 0, 0, 0]
    result = score(CORE10, answers)
    assert result.total == 0.0
    assert result.prorated


@pytest.mark.parametrize(
    ("item_sum", "total", "band", "case"),
    [
        (9, 10.0, "low", False),
        (10, 11.1, "mild", True),
        (13, 14.4, "mild", True),
        (14, 15.6, "moderate", True),
        (22, 24.4, "moderate-to-severe", True),
        (23, 25.6, "severe", True),
        (36, 40.0, "severe", True),
    ],
)
def test_core10_prorated_totals_are_banded_on_the_prorated_value(item_sum, total, band, case):
    scores = [min(4, max(0, item_sum - 4 * i)) for i in range(9)]
    answers = [*raw_options(CORE10, [*scores, 0])[:9], None]
    result = score(CORE10, answers)
    assert result.total == total
    assert result.band == band
    assert result.caseness is case


def test_core10_two_missing_items_are_withheld_with_a_readable_reason():
    result = score(CORE10, [1] * 8 + [None, None])
    assert result.total is None
    assert result.band is None
    assert result.caseness is None
    assert not result.prorated
    assert result.withheld
    assert result.withheld_reason.startswith("2 items (9, 10) were not answered")
    assert "CORE-10 can be prorated only when at most one item" in result.withheld_reason


# --- WSAS ----------------------------------------------------------------------------------


def test_wsas_substitutes_the_mean_of_the_other_items_exactly():
    # 5 + 4 + 4 + 4 = 17, mean 4.25, total 21.25 reported as 21.3.
    result = score(WSAS, [None, 5, 4, 4, 4])
    assert result.total == 21.3
    assert result.prorated
    assert result.band == "moderately severe or worse"


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ([NOT_APPLICABLE, 2, 2, 2, 2], 10.0, "significant impairment"),
        ([NOT_APPLICABLE, 2, 2, 2, 1], 8.8, "subclinical"),
        ([NOT_APPLICABLE, 4, 4, 4, 4], 20.0, "significant impairment"),
        ([NOT_APPLICABLE, 5, 4, 4, 4], 21.3, "moderately severe or worse"),
        ([NOT_APPLICABLE, 8, 8, 8, 8], 40.0, "moderately severe or worse"),
        ([NOT_APPLICABLE, 0, 0, 0, 0], 0.0, "subclinical"),
        ([3, 3, 3, 3, PREFER_NOT_TO_SAY], 15.0, "significant impairment"),
    ],
)
def test_wsas_work_item_not_applicable_is_substituted(answers, total, band):
    result = score(WSAS, answers)
    assert result.total == total
    assert result.band == band
    assert result.prorated
    assert result.caseness is None


def test_wsas_not_applicable_is_counted_apart_from_missing():
    result = score(WSAS, [NOT_APPLICABLE, 1, 2, 3, 4])
    assert result.not_applicable_items == (1,)
    assert result.not_applicable == 1
    assert result.missing == 0
    assert result.prefer_not_to_say == 0
    assert result.answered == 4


def test_wsas_not_applicable_plus_another_gap_is_withheld():
    result = score(WSAS, [NOT_APPLICABLE, 1, None, 3, 4])
    assert result.total is None
    assert "1 item (3) was not answered" in result.withheld_reason
    assert "1 item (1) was marked not applicable" in result.withheld_reason


@pytest.mark.parametrize("item", [2, 3, 4, 5])
def test_wsas_only_the_work_item_may_be_not_applicable(item):
    answers = [1] * 5
    answers[item - 1] = NOT_APPLICABLE
    with pytest.raises(MeasureError, match=f"item {item} cannot be answered 'not applicable'"):
        score(WSAS, answers)


@pytest.mark.parametrize("code", [PHQ9, GAD7, CORE10])
def test_not_applicable_is_refused_outside_wsas(code):
    answers = [0] * MEASURES[code].item_count
    answers[0] = NOT_APPLICABLE
    with pytest.raises(MeasureError, match="not applicable"):
        score(code, answers)


# --- PHQ-9 and GAD-7: no value, no total --------------------------------------------------


@pytest.mark.parametrize("code", [PHQ9, GAD7])
@pytest.mark.parametrize("gap", [None, PREFER_NOT_TO_SAY])
def test_phq9_and_gad7_are_withheld_when_any_item_lacks_a_value(code, gap):
    answers = [3] * MEASURES[code].item_count
    answers[2] = gap
    result = score(code, answers)
    assert result.total is None
    assert result.band is None
    assert result.caseness is None
    assert "can be totalled only when every item is scored" in result.withheld_reason
    assert result.answered == MEASURES[code].item_count - 1


def test_prefer_not_to_say_and_missing_stay_distinct():
    declined = score(PHQ9, [1, 1, PREFER_NOT_TO_SAY, 1, 1, 1, 1, 1, 1])
    missing = score(PHQ9, [1, 1, None, 1, 1, 1, 1, 1, 1])
    assert declined.total is missing.total is None
    assert (declined.prefer_not_to_say, declined.missing) == (1, 0)
    assert (missing.prefer_not_to_say, missing.missing) == (0, 1)
    assert declined.prefer_not_to_say_items == (3,)
    assert missing.missing_items == (3,)
    assert "'prefer not to say'" in declined.withheld_reason
    assert "not answered" in missing.withheld_reason
    assert declined.withheld_reason != missing.withheld_reason


def test_core10_prorates_prefer_not_to_say_like_missing_but_keeps_the_count():
    declined = score(CORE10, [2] * 9 + [PREFER_NOT_TO_SAY])
    missing = score(CORE10, [2] * 9 + [None])
    assert declined.total == missing.total == 20.0
    assert (declined.prefer_not_to_say, declined.missing) == (1, 0)
    assert (missing.prefer_not_to_say, missing.missing) == (0, 1)


def test_mixed_gaps_are_all_reported():
    result = score(CORE10, [1, None, 1, PREFER_NOT_TO_SAY, 1, 1, 1, None, 1, 1])
    assert result.withheld_reason.startswith(
        "2 items (2, 8) were not answered and 1 item (4) was answered 'prefer not to say'"
    )


# --- risk items ----------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "endorsed"), [(0, ()), (1, (9,)), (2, (9,)), (3, (9,))])
def test_phq9_item_9_above_zero_is_a_risk_item(option, endorsed):
    result = score(PHQ9, [0] * 8 + [option])
    assert result.risk_items_endorsed == endorsed
    assert result.risk_flag is bool(endorsed)


def test_phq9_risk_is_reported_even_when_the_total_is_withheld():
    result = score(PHQ9, [None, 0, 0, 0, 0, 0, 0, 0, 1])
    assert result.total is None
    assert result.risk_items_endorsed == (9,)


@pytest.mark.parametrize(("option", "endorsed"), [(0, ()), (1, (6,)), (4, (6,))])
def test_core10_item_6_above_zero_is_a_risk_item(option, endorsed):
    answers = [0] * 10
    answers[5] = option
    assert score(CORE10, answers).risk_items_endorsed == endorsed


def test_core10_risk_is_reported_even_when_the_total_is_withheld():
    result = score(CORE10, [None, None, None, 0, 0, 2, 0, 0, 0, 0])
    assert result.total is None
    assert result.risk_items_endorsed == (6,)


@pytest.mark.parametrize("gap", [None, PREFER_NOT_TO_SAY])
def test_unanswered_risk_item_is_not_endorsed_but_is_reported(gap):
    result = score(PHQ9, [0] * 8 + [gap])
    assert result.risk_items_endorsed == ()
    assert result.risk_items_unanswered == (9,)


def test_measures_without_risk_items_never_flag():
    assert score(GAD7, [3] * 7).risk_items_endorsed == ()
    assert score(WSAS, [8] * 5).risk_items_endorsed == ()


# --- errors --------------------------------------------------------------------------------


def test_measure_error_is_a_value_error():
    assert issubclass(MeasureError, ValueError)


def test_unknown_code():
    with pytest.raises(MeasureError, match=r"Unknown measure 'BDI-II'.*PHQ-9, GAD-7"):
        score("BDI-II", [0] * 21)


@pytest.mark.parametrize(("code", "count"), [(PHQ9, 8), (PHQ9, 10), (GAD7, 9), (CORE10, 0)])
def test_wrong_number_of_items(code, count):
    with pytest.raises(MeasureError, match=f"has {MEASURES[code].item_count} items but {count}"):
        score(code, [0] * count)


@pytest.mark.parametrize(
    ("code", "value"), [(PHQ9, -1), (PHQ9, 4), (GAD7, 4), (CORE10, 5), (WSAS, 9), (WSAS, -1)]
)
def test_out_of_range_option(code, value):
    answers = [0] * MEASURES[code].item_count
    answers[1] = value
    with pytest.raises(MeasureError, match=f"item 2: option {value} is out of range"):
        score(code, answers)


@pytest.mark.parametrize("value", [True, False, 1.0, "2", "maybe", b"1", [1]])
def test_bad_answer_types(value):
    answers = [0] * 9
    answers[4] = value
    with pytest.raises(MeasureError, match="item 5: expected an option number"):
        score(PHQ9, answers)


@pytest.mark.parametrize("answers", ["000000000", {1: 0}, 7, None])
def test_answers_must_be_a_sequence(answers):
    with pytest.raises(MeasureError, match="must be a sequence"):
        score(PHQ9, answers)


def test_score_is_immutable():
    result = score(GAD7, [0] * 7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.total = 5  # type: ignore[misc]


def test_answers_may_be_a_tuple():
    assert score(GAD7, (1, 1, 1, 1, 1, 1, 1)).total == 7


# --- property tests ------------------------------------------------------------------------


@st.composite
def answer_sets(draw, code: str, max_gaps: int | None = None):
    """Any valid answers: options, with some items missing, declined or not applicable."""
    measure = MEASURES[code]
    answers: list = [
        draw(st.integers(measure.item_min, measure.item_max)) for _ in range(measure.item_count)
    ]
    limit = measure.item_count if max_gaps is None else max_gaps
    gaps = draw(
        st.sets(st.integers(0, measure.item_count - 1), max_size=min(limit, measure.item_count))
    )
    for index in gaps:
        kinds = [None, PREFER_NOT_TO_SAY]
        if index + 1 in measure.not_applicable_items:
            kinds.append(NOT_APPLICABLE)
        answers[index] = draw(st.sampled_from(kinds))
    return answers


def complete_answers(code: str):
    measure = MEASURES[code]
    return st.lists(
        st.integers(measure.item_min, measure.item_max),
        min_size=measure.item_count,
        max_size=measure.item_count,
    )


codes = st.sampled_from(sorted(MEASURES))


@given(data=st.data(), code=codes)
def test_totals_stay_in_range_and_gaps_follow_the_rules(data, code):
    measure = MEASURES[code]
    answers = data.draw(answer_sets(code))
    result = score(code, answers)
    lacking = sum(not isinstance(a, int) for a in answers)

    assert result.answered + result.missing + result.prefer_not_to_say + result.not_applicable == (
        measure.item_count
    )
    assert result.answered == measure.item_count - lacking
    if lacking > measure.max_items_lacking:
        assert result.total is None
        assert result.band is None
        assert result.caseness is None
        assert result.withheld_reason
        assert not result.prorated
    else:
        assert result.withheld_reason is None
        assert 0 <= result.total <= measure.total_max
        assert result.prorated is (lacking > 0)
        assert isinstance(result.total, float if lacking else int)
        assert result.total == round(result.total, 1)
        assert result.band in {band.label for band in measure.bands}
        if measure.caseness_cutoff is not None:
            assert result.caseness is (result.total >= measure.caseness_cutoff)
    # Risk never depends on whether the total could be given.
    for item in measure.risk_items:
        raw = answers[item - 1]
        assert (item in result.risk_items_endorsed) is (isinstance(raw, int) and raw > 0)


@given(data=st.data(), code=codes)
def test_total_moves_by_one_with_each_step_of_an_item(data, code):
    measure = MEASURES[code]
    answers = data.draw(complete_answers(code))
    item = data.draw(st.integers(1, measure.item_count))
    if answers[item - 1] == measure.item_max:
        answers[item - 1] -= 1
    before = score(code, answers).total
    answers[item - 1] += 1
    after = score(code, answers).total
    # A higher option on a reversed item means less distress.
    assert after - before == (-1 if item in measure.reverse_scored else 1)


@given(data=st.data(), code=st.sampled_from([CORE10, WSAS]))
def test_prorated_total_is_monotone_in_every_answered_item(data, code):
    measure = MEASURES[code]
    answers: list = data.draw(complete_answers(code))
    gap, item = data.draw(
        st.lists(st.integers(1, measure.item_count), min_size=2, max_size=2, unique=True)
    )
    answers[gap - 1] = None
    if answers[item - 1] == measure.item_max:
        answers[item - 1] -= 1
    before = score(code, answers).total
    answers[item - 1] += 1
    after = score(code, answers).total
    if item in measure.reverse_scored:
        assert after < before
    else:
        assert after > before


@given(data=st.data(), code=codes)
def test_band_never_goes_down_as_the_total_goes_up(data, code):
    measure = MEASURES[code]
    order = [band.label for band in measure.bands]
    first = score(code, data.draw(answer_sets(code, max_gaps=measure.max_items_lacking)))
    second = score(code, data.draw(answer_sets(code, max_gaps=measure.max_items_lacking)))
    low, high = sorted([first, second], key=lambda s: s.total)
    assert order.index(low.band) <= order.index(high.band)


@given(answers=answer_sets(CORE10, max_gaps=1))
def test_core10_proration_is_exact(answers):
    result = score(CORE10, answers)
    values = [s for s in result.item_scores if s is not None]
    expected = Fraction(sum(values) * 10, len(values))
    if result.prorated:
        assert result.total == half_up(expected)
        assert abs(result.total - expected) <= Fraction(1, 20)
    else:
        assert result.total == expected


@given(answers=answer_sets(WSAS, max_gaps=1))
def test_wsas_substitution_is_exact(answers):
    result = score(WSAS, answers)
    values = [s for s in result.item_scores if s is not None]
    if result.prorated:
        substituted = Fraction(sum(values), len(values))
        assert result.total == half_up(sum(values) + substituted)
    else:
        assert result.total == sum(values)
    # The published bands are worded "< 10", "10 to 20" and "> 20".
    if result.total < 10:
        assert result.band == "subclinical"
    elif result.total <= 20:
        assert result.band == "significant impairment"
    else:
        assert result.band == "moderately severe or worse"


@given(answers=answer_sets(PHQ9))
def test_swapping_missing_for_prefer_not_to_say_changes_counts_not_scores(answers):
    swapped = [
        PREFER_NOT_TO_SAY if a is None else None if a == PREFER_NOT_TO_SAY else a for a in answers
    ]
    original, other = score(PHQ9, answers), score(PHQ9, swapped)
    assert original.total == other.total
    assert original.risk_items_endorsed == other.risk_items_endorsed
    assert original.missing_items == other.prefer_not_to_say_items
    assert original.prefer_not_to_say_items == other.missing_items


# --- classify_change -----------------------------------------------------------------------

R = ChangeLabel


@pytest.mark.parametrize(
    ("first", "last", "label", "recovery", "improvement", "deterioration"),
    [
        # Clear response: both measures fall reliably and end below caseness.
        ((15, 12), (6, 5), R.RELIABLE_RECOVERY, True, True, False),
        # Starting exactly at both cut-offs, ending just below: recovered, but not reliably.
        ((10, 8), (9, 7), R.RECOVERY, True, False, False),
        # PHQ-9 falls by exactly 6 but ends at 10, still a case.
        ((16, 6), (10, 5), R.RELIABLE_IMPROVEMENT, False, True, False),
        # PHQ-9 falls by 5: short of reliable change.
        ((16, 6), (11, 5), R.NO_RELIABLE_CHANGE, False, False, False),
        # GAD-7 falls by exactly 4 and ends at 8, still a case.
        ((8, 12), (8, 8), R.RELIABLE_IMPROVEMENT, False, True, False),
        # GAD-7 falls by exactly 4 and ends at 7; PHQ-9 8 is below 10.
        ((8, 11), (8, 7), R.RELIABLE_RECOVERY, True, True, False),
        # GAD-7 falls by 3 only.
        ((8, 11), (8, 8), R.NO_RELIABLE_CHANGE, False, False, False),
        # One down, one up: PHQ-9 falls 8 but GAD-7 rises exactly 4, so no improvement.
        ((20, 5), (12, 9), R.RELIABLE_DETERIORATION, False, False, True),
        # One down, one up by less than reliable change: improvement stands.
        ((20, 5), (12, 8), R.RELIABLE_IMPROVEMENT, False, True, False),
        # PHQ-9 rises exactly 6 while GAD-7 falls 6: deterioration wins over improvement.
        ((12, 10), (18, 4), R.RELIABLE_DETERIORATION, False, False, True),
        # GAD-7 rises exactly 4.
        ((12, 10), (12, 14), R.RELIABLE_DETERIORATION, False, False, True),
        # GAD-7 rises 3.
        ((12, 10), (12, 13), R.NO_RELIABLE_CHANGE, False, False, False),
        # No change at all.
        ((14, 10), (14, 10), R.NO_RELIABLE_CHANGE, False, False, False),
        # Recovered (ends below both) while PHQ-9 rose 6: recovery without reliable improvement.
        ((2, 12), (8, 3), R.RECOVERY, True, False, True),
        # Severe at both ends, large falls: reliable improvement without recovery.
        ((27, 21), (15, 12), R.RELIABLE_IMPROVEMENT, False, True, False),
    ],
)
def test_classify_change_table(first, last, label, recovery, improvement, deterioration):
    change = classify_change(Pair(*first), Pair(*last))
    assert change.label == label
    assert change.recovery is recovery
    assert change.reliable_improvement is improvement
    assert change.reliable_deterioration is deterioration
    assert change.reliable_recovery is (recovery and improvement)
    assert change.phq9_change == last[0] - first[0]
    assert change.gad7_change == last[1] - first[1]
    assert change.case_at_start is True
    assert change.not_caseness_at_start is False
    assert change.note is None


@pytest.mark.parametrize(
    ("first", "last", "label"),
    [
        # Below caseness at the start: recovery does not apply, whatever happens.
        ((9, 7), (2, 2), R.RELIABLE_IMPROVEMENT),
        ((9, 7), (8, 6), R.NO_RELIABLE_CHANGE),
        ((4, 3), (10, 3), R.RELIABLE_DETERIORATION),
        ((4, 3), (9, 3), R.NO_RELIABLE_CHANGE),
        ((0, 0), (0, 4), R.RELIABLE_DETERIORATION),
    ],
)
def test_recovery_does_not_apply_when_not_a_case_at_start(first, last, label):
    change = classify_change(Pair(*first), Pair(*last))
    assert change.label == label
    assert change.not_caseness_at_start is True
    assert change.recovery is False
    assert change.reliable_recovery is False
    assert "recovery does not apply" in change.note


def test_classify_change_accepts_mappings_and_objects():
    from_mapping = classify_change({"phq9": 15, "gad7": 12}, {"phq9": 6, "gad7": 5})
    from_object = classify_change(
        SimpleNamespace(phq9=15, gad7=12), SimpleNamespace(phq9=6, gad7=5)
    )
    assert from_mapping == from_object
    assert from_mapping.label == "reliable recovery"


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (Pair(None, 10), Pair(5, 5), "first PHQ-9 total is missing"),
        (Pair(12, 10), Pair(5, None), "last GAD-7 total is missing"),
        ({"phq9": 12}, {"phq9": 5, "gad7": 5}, "first GAD-7 total is missing"),
        (Pair(12, 10), Pair(28, 5), "last PHQ-9 total 28 is out of range"),
        (Pair(12, 22), Pair(5, 5), "first GAD-7 total 22 is out of range"),
        (Pair(12, 10), Pair(5.0, 5), "must be an int"),
        (Pair(True, 10), Pair(5, 5), "must be an int"),
    ],
)
def test_classify_change_errors(first, last, message):
    with pytest.raises(MeasureError, match=message):
        classify_change(first, last)


pair_strategy = st.builds(Pair, st.integers(0, 27), st.integers(0, 21))


@given(first=pair_strategy, last=pair_strategy)
def test_classify_change_is_internally_consistent(first, last):
    change = classify_change(first, last)
    assert not (change.reliable_improvement and change.reliable_deterioration)
    assert change.reliable_recovery is (change.recovery and change.reliable_improvement)
    assert change.recovery is (change.case_at_start and not change.case_at_end)
    if change.label == R.RELIABLE_RECOVERY:
        assert change.reliable_recovery
    elif change.label == R.RECOVERY:
        assert change.recovery and not change.reliable_improvement
    elif change.label == R.RELIABLE_IMPROVEMENT:
        assert change.reliable_improvement and not change.recovery
    elif change.label == R.RELIABLE_DETERIORATION:
        assert change.reliable_deterioration and not change.recovery
    else:
        assert not (change.recovery or change.reliable_improvement)
        assert not change.reliable_deterioration


# --- finished treatment --------------------------------------------------------------------


@pytest.mark.parametrize(("sessions", "finished"), [(0, False), (1, False), (2, True), (12, True)])
def test_finished_treatment_needs_two_attended_sessions(sessions, finished):
    assert finished_treatment(sessions) is finished


@pytest.mark.parametrize("sessions", [-1, True, 2.0, None])
def test_finished_treatment_rejects_nonsense(sessions):
    with pytest.raises(MeasureError):
        finished_treatment(sessions)
