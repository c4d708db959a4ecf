"""The reporting page's pure parts, without a database: bands, rates, outcome counts, the
national codes and the bar chart's SVG."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import measures
from reporting import charts, codes

NS = "{http://www.w3.org/2000/svg}"


def test_wait_bands_fall_on_the_standards():
    days = lambda n: timedelta(days=n)  # noqa: E731
    assert charts.band_index(days(0), charts.WAIT_BANDS) == 0
    assert charts.band_index(days(14), charts.WAIT_BANDS) == 0
    assert charts.band_index(days(15), charts.WAIT_BANDS) == 1
    assert charts.band_index(days(42), charts.WAIT_BANDS) == charts.WITHIN_6_WEEKS - 1
    assert charts.band_index(days(43), charts.WAIT_BANDS) == charts.WITHIN_6_WEEKS
    assert charts.band_index(days(126), charts.WAIT_BANDS) == charts.WITHIN_18_WEEKS - 1
    assert charts.band_index(days(127), charts.WAIT_BANDS) == charts.WITHIN_18_WEEKS
    assert charts.band_index(days(5000), charts.WAIT_BANDS) == len(charts.WAIT_BANDS) - 1


def test_band_counts_put_grouped_counts_in_order_and_ignore_the_open_band():
    assert charts.band_counts([(3, 2), (0, 5), (charts.STILL_OPEN, 9)], charts.ACK_BANDS) == [
        5,
        0,
        0,
        2,
        0,
    ]


def test_percent_rounds_to_one_place_and_has_no_answer_for_nothing():
    assert charts.percent(1, 3) == 33.3
    assert charts.percent(2, 3) == 66.7
    assert charts.percent(0, 0) is None
    assert charts.percent_text(0, 0) == "–"
    assert charts.percent_text(3, 4) == "75%"


def test_weeks_and_months_cover_the_range():
    weeks = charts.week_starts(date(2026, 1, 7), date(2026, 1, 19))
    assert weeks == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)]
    assert charts.month_starts(date(2025, 12, 15), date(2026, 2, 1)) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]


def test_nice_max_is_round_and_never_below_the_value():
    for value in (0, 3, 7, 19, 41, 99, 137, 801, 12345):
        top = charts.nice_max(value)
        assert top >= value and top >= 5
    assert charts.nice_max(41) == 50 and charts.nice_max(137) == 140


def test_caseness_needs_both_scored_to_say_not_a_case():
    result = charts.caseness_counts(
        [(True, None, 2), (False, True, 1), (False, False, 3), (False, None, 4), (None, None, 5)]
    )
    assert (result.case, result.not_case, result.unknown) == (3, 3, 9)


def test_outcomes_agree_with_classify_change_for_every_pair_counted_one_by_one():
    """Grouped counts give the same totals as classifying each referral on its own."""
    totals = list(
        itertools.islice(
            itertools.product(range(0, 28, 3), range(0, 22, 4), range(0, 28, 5), range(0, 22, 3)),
            0,
            None,
            7,
        )
    )
    grouped = charts.outcomes_of([(t, 2) for t in totals] + [(None, 3)])
    changes = [
        measures.classify_change(measures.Pair(t[0], t[1]), measures.Pair(t[2], t[3]))
        for t in totals
    ]
    assert grouped.finished == 2 * len(totals) + 3
    assert grouped.paired == 2 * len(totals)
    assert grouped.case_at_start == 2 * sum(c.case_at_start for c in changes)
    assert grouped.recovery == 2 * sum(c.recovery for c in changes)
    assert grouped.reliable_improvement == 2 * sum(c.reliable_improvement for c in changes)
    assert grouped.reliable_recovery == 2 * sum(c.reliable_recovery for c in changes)
    assert grouped.reliable_deterioration == 2 * sum(c.reliable_deterioration for c in changes)


def test_outcome_rates_use_the_national_denominators():
    # (15, 12) -> (5, 4): recovered reliably. (8, 6) -> (16, 6): not a case, deteriorated.
    result = charts.outcomes_of([((15, 12, 5, 4), 1), ((8, 6, 16, 6), 1)])
    assert result.recovery_rate == 100.0  # of the one who was a case
    assert result.reliable_recovery_rate == 100.0
    assert result.reliable_improvement_rate == 50.0  # of both with paired scores
    assert result.reliable_deterioration_rate == 50.0
    empty = charts.outcomes_of([])
    assert empty.recovery_rate is None and empty.reliable_improvement_rate is None


def chart(**overrides):
    options = {
        "chart_id": "chart-waits",
        "title": "Waiting times",
        "description": "Counts by band.",
        "categories": ["2 weeks or less", "Over 2 weeks"],
        "series": [("To assessment", [4, 0]), ("To treatment", [1, None])],
        "value_max": 5,
        "value_label": "Referrals",
    }
    options.update(overrides)
    return charts.bar_chart(**options)


def test_the_bar_chart_is_described_svg_with_values_written_out():
    svg = ET.fromstring(chart())
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "chart-waits-title chart-waits-desc"
    assert svg.find(f"{NS}title").text == "Waiting times"
    assert svg.find(f"{NS}desc").text == "Counts by band."
    texts = [t.text for t in svg.iter(f"{NS}text")]
    assert {"4", "1", "0", "–", "2 weeks or less", "To treatment", "Referrals"} <= set(texts)
    assert len(svg.findall(f"{NS}rect[@class='th-key']")) == 2  # the legend's two swatches
    drawn = svg.findall(f"{NS}rect[@class='th-bar']")
    assert len(drawn) == 2  # 4 and 1: a zero or missing value draws no bar
    assert float(drawn[0].get("width")) > float(drawn[1].get("width"))


def test_series_are_told_apart_by_pattern_not_only_colour():
    svg = ET.fromstring(chart())
    fills = {r.get("fill") for r in svg.findall(f"{NS}rect")}
    assert "#005eb8" in fills and "url(#chart-waits-p1)" in fills
    assert svg.find(f"{NS}defs/{NS}pattern[@id='chart-waits-p1']") is not None


def test_bars_are_clipped_to_the_scale_and_text_is_escaped():
    svg_text = chart(
        title="<script>alert(1)</script>",
        categories=["A & B <c>", "x"],
        series=[("Rate", [250, 10])],
        value_max=100,
        unit="%",
        markers=[(75, "Standard 75%")],
    )
    assert "<script>" not in svg_text
    svg = ET.fromstring(svg_text)
    bars = svg.findall(f"{NS}rect[@class='th-bar']")
    assert float(bars[0].get("width")) == 640 - 190 - 56  # the whole plot, not beyond
    assert "Standard 75%" in [t.text for t in svg.iter(f"{NS}text")]


def test_codes_cover_every_source_and_attendance_of_the_project():
    from intake.models import Referral
    from therapy.models import TherapySession

    assert set(codes.SOURCE_CODES) == set(Referral.Source.values)
    assert codes.SOURCE_CODES["self"] == "B1"
    assert set(codes.ATTENDANCE_CODES) == set(TherapySession.Attendance.values)


def end(**kwargs):
    values = {
        "status": "ended",
        "therapy_end_reason": None,
        "assessment_status": "finished",
        "recommendation": "psychodynamic",
        "offered_here": "",
        "treated": False,
    }
    return codes.end_code(**(values | kwargs))


def test_end_codes():
    assert end(status="in_therapy", treated=True) == ""
    assert end(treated=True, therapy_end_reason="completed") == "46"
    assert end(treated=True, therapy_end_reason="non_attendance") == "47"
    assert end(status="withdrawn", treated=True, therapy_end_reason="handed_over") == "96"
    assert end(status="withdrawn", assessment_status=None) == "50"
    assert end(status="withdrawn", assessment_status="draft") == "16"
    assert end(status="withdrawn") == "14"
    assert end(status="signposted", recommendation="signpost") == "11"
    assert end(status="signposted", recommendation="other_modality", offered_here="no") == "13"
    assert end(recommendation="discharge") == "12"
