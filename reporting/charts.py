"""The reporting page's arithmetic and pictures. Pure Python: no Django, no database.

The database counts (reporting/selectors.py groups and counts in PostgreSQL); this module
says what the bands are, turns counts into rates and shares, classifies paired outcomes with
`measures.classify_change`, and draws the charts as SVG. Line charts are therapy's
(`therapy.charts.line_chart`); the bar chart here follows the same rules: a title and a
description for screen readers, every number also in the table beside it, series told
apart by pattern as well as colour, and every text escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

import measures
from therapy.charts import Series, line_chart

__all__ = [
    "ACK_BANDS",
    "WAIT_BANDS",
    "Band",
    "Outcomes",
    "Series",
    "band_counts",
    "bar_chart",
    "caseness_counts",
    "line_chart",
    "month_starts",
    "nice_max",
    "outcomes_of",
    "percent",
    "percent_text",
    "week_starts",
]


# --- Bands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """A band of a measured span, upper bound inclusive; None: no upper bound."""

    label: str
    upto: timedelta | None


# Waits from referral, in whole days. The edges fall on the standards: 6 weeks (42 days)
# and 18 weeks (126 days), so "within 6 weeks" is the sum of the first three bands.
WAIT_BANDS = (
    Band("2 weeks or less", timedelta(days=14)),
    Band("Over 2 up to 4 weeks", timedelta(days=28)),
    Band("Over 4 up to 6 weeks", timedelta(days=42)),
    Band("Over 6 up to 12 weeks", timedelta(days=84)),
    Band("Over 12 up to 18 weeks", timedelta(days=126)),
    Band("Over 18 weeks", None),
)
WITHIN_6_WEEKS = 3  # the first three wait bands
WITHIN_18_WEEKS = 5
# Waiting-time standards for starting treatment (NHS Talking Therapies).
STANDARD_6_WEEKS = 75
STANDARD_18_WEEKS = 95

# From a risk flag being raised to a person acknowledging it.
ACK_BANDS = (
    Band("Within 1 hour", timedelta(hours=1)),
    Band("Over 1 up to 4 hours", timedelta(hours=4)),
    Band("Over 4 up to 24 hours", timedelta(hours=24)),
    Band("Over 1 up to 3 days", timedelta(days=3)),
    Band("Over 3 days", None),
)
STILL_OPEN = -1  # the band index the selector gives a flag nobody has acknowledged yet


def band_index(span: timedelta, bands: Sequence[Band]) -> int:
    """Which band a span falls in (what the selector's CASE computes in SQL)."""
    for index, band in enumerate(bands):
        if band.upto is None or span <= band.upto:
            return index
    return len(bands) - 1


def band_counts(counted: Iterable[tuple[int, int]], bands: Sequence[Band]) -> list[int]:
    """[(band index, count)] as grouped by the database, to one count per band in order."""
    totals = [0] * len(bands)
    for index, count in counted:
        if 0 <= index < len(bands):
            totals[index] += count
    return totals


# --- Rates ------------------------------------------------------------------------------------


def percent(part: int, whole: int) -> float | None:
    """part as a percentage of whole, to one decimal place; None when whole is 0."""
    if whole <= 0:
        return None
    return round(100 * part / whole, 1)


def percent_text(part: int, whole: int) -> str:
    value = percent(part, whole)
    return "–" if value is None else f"{value:g}%"


# --- Calendar -----------------------------------------------------------------------------------


def week_starts(first: date, last: date) -> list[date]:
    """The Monday of every week that has a day between first and last (inclusive)."""
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def month_starts(first: date, last: date) -> list[date]:
    months = []
    month = first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def nice_max(value: float) -> int:
    """A round top for a chart's scale at or above value (at least 5)."""
    if value <= 5:
        return 5
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if value / step <= 8:
            return int(-(-value // step) * step)
    return int(-(-value // 10000) * 10000)


# --- Caseness and outcomes --------------------------------------------------------------------


@dataclass(frozen=True)
class Caseness:
    case: int
    not_case: int
    unknown: int

    @property
    def known(self) -> int:
        return self.case + self.not_case


def caseness_counts(counted: Iterable[tuple[bool | None, bool | None, int]]) -> Caseness:
    """[(PHQ-9 caseness, GAD-7 caseness, count)] at assessment, None where not scored. A case
    if either says so; not a case only when both were scored and neither does."""
    case = not_case = unknown = 0
    for phq9, gad7, count in counted:
        if phq9 or gad7:
            case += count
        elif phq9 is False and gad7 is False:
            not_case += count
        else:
            unknown += count
    return Caseness(case, not_case, unknown)


@dataclass(frozen=True)
class Outcomes:
    """Finished treatments (two or more attended sessions) ended in the range."""

    finished: int  # every finished treatment
    paired: int  # with at least two PHQ-9 and two GAD-7 totals
    case_at_start: int
    recovery: int
    reliable_improvement: int
    reliable_recovery: int
    reliable_deterioration: int

    @property
    def unpaired(self) -> int:
        return self.finished - self.paired

    # The national definitions: recovery rates are of those who were a case at the start;
    # improvement and deterioration of every finished treatment with paired scores.
    @property
    def recovery_rate(self) -> float | None:
        return percent(self.recovery, self.case_at_start)

    @property
    def reliable_recovery_rate(self) -> float | None:
        return percent(self.reliable_recovery, self.case_at_start)

    @property
    def reliable_improvement_rate(self) -> float | None:
        return percent(self.reliable_improvement, self.paired)

    @property
    def reliable_deterioration_rate(self) -> float | None:
        return percent(self.reliable_deterioration, self.paired)


Totals = tuple[int, int, int, int]  # first PHQ-9, first GAD-7, last PHQ-9, last GAD-7


def outcomes_of(counted: Iterable[tuple[Totals | None, int]]) -> Outcomes:
    """[(paired totals or None, count)], one entry per distinct set of totals as grouped by
    the database: each set is classified once by `measures.classify_change`."""
    finished = paired = case = recovery = improvement = reliable_recovery = deterioration = 0
    for totals, count in counted:
        finished += count
        if totals is None:
            continue
        first_phq9, first_gad7, last_phq9, last_gad7 = totals
        change = measures.classify_change(
            measures.Pair(phq9=first_phq9, gad7=first_gad7),
            measures.Pair(phq9=last_phq9, gad7=last_gad7),
        )
        paired += count
        case += count * change.case_at_start
        recovery += count * change.recovery
        improvement += count * change.reliable_improvement
        reliable_recovery += count * change.reliable_recovery
        deterioration += count * change.reliable_deterioration
    return Outcomes(finished, paired, case, recovery, improvement, reliable_recovery, deterioration)


# --- Bar charts -------------------------------------------------------------------------------

# NHS.UK colours with at least 3:1 contrast on white (WCAG 1.4.11), each with its own fill
# pattern so that no one needs to tell the colours apart.
_BAR_STYLES = (
    ("#005eb8", ""),
    ("#330072", "stripes"),
    ("#007f3b", "dots"),
    ("#d5281b", "cross"),
)
_TEXT = "#212b32"
_GRID = "#d8dde0"


def _pattern(ident: str, index: int, colour: str, kind: str) -> str:
    pid = f"{ident}-p{index}"
    if kind == "stripes":
        mark = '<path d="M0,8 L8,0" stroke="#ffffff" stroke-width="2"/>'
    elif kind == "dots":
        mark = '<circle cx="4" cy="4" r="1.6" fill="#ffffff"/>'
    else:
        mark = '<path d="M0,4 H8 M4,0 V8" stroke="#ffffff" stroke-width="1.5"/>'
    return (
        f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect width="8" height="8" fill="{colour}"/>{mark}</pattern>'
    )


def _fill(ident: str, index: int) -> str:
    colour, kind = _BAR_STYLES[index % len(_BAR_STYLES)]
    return colour if not kind else f"url(#{ident}-p{index % len(_BAR_STYLES)})"


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    value_max: float,
    value_label: str,
    unit: str = "",
    markers: Sequence[tuple[float, str]] = (),
    width: int = 640,
) -> str:
    """SVG markup for a horizontal bar chart: a row per category, a bar per series in each
    row with its value written at its end (a missing value is drawn as a dash). `markers` are
    dashed lines across the scale (a standard, say) with their label."""
    label_w, right, top = 190, 56, 12
    bar_h, gap = 16, 12
    row_h = bar_h * len(series) + gap
    legend_h = 22 * len(series) if len(series) > 1 else 0
    plot_w = width - label_w - right
    plot_h = row_h * len(categories)
    axis_y = top + plot_h
    height = axis_y + 44 + legend_h
    top_value = float(value_max) if value_max > 0 else 1.0

    def x_of(value: float) -> float:
        return label_w + max(0.0, min(float(value), top_value)) / top_value * plot_w

    ident = escape(chart_id, quote=True)
    parts = [
        f'<svg class="th-chart" viewBox="0 0 {width} {height}" role="img" '
        f'width="{width}" height="{height}" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="Frutiger W01, Arial, sans-serif" font-size="13">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        "<defs>",
        *(_pattern(ident, i, colour, kind) for i, (colour, kind) in enumerate(_BAR_STYLES) if kind),
        "</defs>",
    ]
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        x = label_w + fraction * plot_w
        tick = fraction * top_value
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="{_GRID}"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="{_TEXT}">'
            f"{tick:g}{escape(unit)}</text>"
        )
    parts.append(
        f'<text x="{label_w + plot_w / 2:.1f}" y="{axis_y + 34}" text-anchor="middle" '
        f'fill="{_TEXT}">{escape(value_label)}</text>'
    )
    for row, category in enumerate(categories):
        y0 = top + row * row_h + gap / 2
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + row_h / 2 - gap / 2 + 4:.1f}" '
            f'text-anchor="end" fill="{_TEXT}">{escape(_short(category))}</text>'
        )
        for index, (_, values) in enumerate(series):
            value = values[row] if row < len(values) else None
            y = y0 + index * bar_h
            end = x_of(value or 0)
            if value:
                parts.append(
                    f'<rect class="th-bar" x="{label_w}" y="{y + 1:.1f}" '
                    f'width="{end - label_w:.1f}" height="{bar_h - 2}" '
                    f'fill="{_fill(ident, index)}" '
                    f'stroke="{_BAR_STYLES[index % len(_BAR_STYLES)][0]}"/>'
                )
            text = "–" if value is None else f"{value:g}{unit}"
            parts.append(
                f'<text x="{end + 4:.1f}" y="{y + bar_h - 4:.1f}" fill="{_TEXT}">'
                f"{escape(text)}</text>"
            )
    for value, label in markers:
        x = x_of(value)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="{_TEXT}" '
            f'stroke-width="1.5" stroke-dasharray="4 4"/>'
        )
        parts.append(
            f'<text x="{x - 4:.1f}" y="{top + 10}" text-anchor="end" fill="{_TEXT}" '
            f'font-size="12">{escape(label)}</text>'
        )
    parts.append(f'<line x1="{label_w}" y1="{top}" x2="{label_w}" y2="{axis_y}" stroke="{_TEXT}"/>')
    if len(series) > 1:
        for index, (name, _) in enumerate(series):
            ly = axis_y + 48 + index * 22
            colour = _BAR_STYLES[index % len(_BAR_STYLES)][0]
            parts.append(
                f'<rect class="th-key" x="{label_w}" y="{ly - 12}" width="28" height="14" '
                f'fill="{_fill(ident, index)}" stroke="{colour}"/>'
            )
            parts.append(
                f'<text x="{label_w + 36}" y="{ly}" fill="{_TEXT}">{escape(name[:60])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
