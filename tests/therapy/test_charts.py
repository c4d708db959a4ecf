"""The server-rendered SVG charts: valid, described, escaped, and not by colour alone."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from therapy.charts import Series, line_chart

NS = "{http://www.w3.org/2000/svg}"


def chart(**overrides):
    options = {
        "chart_id": "chart-phq9",
        "title": "PHQ-9 totals over time",
        "description": "Three totals.",
        "series": [
            Series("PHQ-9", ((date(2027, 1, 5), 16), (date(2027, 2, 2), 12), (date(2027, 3, 2), 7)))
        ],
        "y_max": 27,
        "y_label": "Total",
        "thresholds": [(10, "Caseness 10")],
    }
    options.update(overrides)
    return line_chart(**options)


def test_chart_is_well_formed_svg_with_a_title_and_description():
    svg = ET.fromstring(chart())
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "chart-phq9-title chart-phq9-desc"
    assert svg.find(f"{NS}title").text == "PHQ-9 totals over time"
    assert svg.find(f"{NS}desc").text == "Three totals."
    assert len(svg.findall(f"{NS}polyline")) == 1
    assert len(svg.findall(f"{NS}circle")) == 3 + 1  # three points and the legend marker
    texts = [t.text for t in svg.iter(f"{NS}text")]
    assert "Caseness 10" in texts and "5 Jan 2027" in texts and "Total" in texts


def test_lower_totals_are_drawn_lower_and_values_are_clipped_to_the_scale():
    svg = ET.fromstring(
        chart(
            series=[
                Series(
                    "x", ((date(2027, 1, 1), 27), (date(2027, 1, 8), 0), (date(2027, 1, 15), 99))
                )
            ]
        )
    )
    points = [
        tuple(map(float, p.split(","))) for p in svg.find(f"{NS}polyline").get("points").split()
    ]
    assert points[0][1] < points[1][1]  # 27 is higher on the page than 0
    assert points[2][1] == points[0][1]  # 99 is drawn at the top, not off the chart


def test_series_differ_by_pattern_and_marker_not_only_colour():
    two = ET.fromstring(
        chart(
            series=[
                Series("Goal 1", ((date(2027, 1, 1), 2), (date(2027, 2, 1), 5))),
                Series("Goal 2", ((date(2027, 1, 1), 4), (date(2027, 2, 1), 6))),
            ],
            y_max=10,
        )
    )
    lines = two.findall(f"{NS}polyline")
    assert lines[0].get("stroke-dasharray") != lines[1].get("stroke-dasharray")
    assert two.findall(f"{NS}rect")  # the second series uses square markers


def test_text_is_escaped_and_single_points_are_centred():
    svg_text = chart(
        title="<script>alert(1)</script>",
        series=[Series("A & B <x>", ((date(2027, 1, 1), 5),))],
    )
    assert "<script>" not in svg_text
    svg = ET.fromstring(svg_text)
    assert svg.find(f"{NS}polyline") is None
    marker = svg.findall(f"{NS}circle")[0]
    assert float(marker.get("cx")) == 48 + (640 - 48 - 16) / 2


def test_every_date_label_fits_inside_the_chart():
    svg = ET.fromstring(chart())
    width = float(svg.get("viewBox").split()[2])
    # At 13px a character of a date label is at most about 8px wide.
    for text in svg.iter(f"{NS}text"):
        if text.text and text.text[0].isdigit() and " 20" in text.text:
            size = 8 * len(text.text)
            x = float(text.get("x"))
            anchor = text.get("text-anchor", "start")
            start = {"start": x, "middle": x - size / 2, "end": x - size}[anchor]
            assert start >= 0 and start + size <= width, text.text
