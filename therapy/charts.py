"""Server-rendered line charts as SVG. Pure Python: no Django, no JavaScript.

A chart is a picture of a table the page also shows, so it carries a short title and a
description (read out by screen readers) and leaves the numbers to the table. Series differ
by colour *and* by line pattern and marker shape, so no one needs to tell colours apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

__all__ = ["Series", "line_chart"]

# NHS.UK palette colours with at least 3:1 contrast on white (WCAG 1.4.11).
_STYLES = (
    ("#005eb8", "", "circle"),
    ("#330072", "6 4", "square"),
    ("#007f3b", "2 3", "triangle"),
    ("#d5281b", "10 3 2 3", "diamond"),
    ("#4c6272", "1 0", "circle"),
)
_TEXT = "#212b32"
_GRID = "#d8dde0"
_THRESHOLD = "#4c6272"


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[tuple[date, float], ...]


def _nice_step(top: float) -> float:
    for step in (1, 2, 5, 10, 20):
        if top / step <= 8:
            return step
    return top / 5


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if shape == "triangle":
        return (
            f'<polygon points="{x:.1f},{y - 5:.1f} {x + 5:.1f},{y + 4:.1f} {x - 5:.1f},{y + 4:.1f}"'
            f' fill="{colour}"/>'
        )
    if shape == "diamond":
        return (
            f'<polygon points="{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} '
            f'{x - 5:.1f},{y:.1f}" fill="{colour}"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'


def _date_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    series: Sequence[Series],
    y_max: float,
    y_label: str,
    thresholds: Sequence[tuple[float, str]] = (),
    width: int = 640,
    height: int = 300,
) -> str:
    """SVG markup for a dated line chart; every text is escaped here."""
    left, right, top, bottom = 48, 16, 16, 64
    legend_rows = (len(series) + 1) // 2
    bottom += 18 * max(legend_rows - 1, 0)
    plot_w, plot_h = width - left - right, height - top - bottom
    days = sorted({day for s in series for day, _ in s.points})
    first = days[0].toordinal() if days else 0
    span = (days[-1].toordinal() - first) if days else 0

    def x_of(day: date) -> float:
        if span == 0:
            return left + plot_w / 2
        return left + (day.toordinal() - first) / span * plot_w

    def y_of(value: float) -> float:
        clipped = max(0.0, min(float(value), float(y_max)))
        return top + plot_h - clipped / y_max * plot_h

    ident = escape(chart_id, quote=True)
    parts = [
        f'<svg class="th-chart" viewBox="0 0 {width} {height}" role="img" '
        f'width="{width}" height="{height}" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="Frutiger W01, Arial, sans-serif" font-size="13">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    step = _nice_step(y_max)
    tick = 0.0
    while tick <= y_max + 1e-9:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_TEXT}">{tick:g}</text>'
        )
        tick += step
    parts.append(
        f'<text x="12" y="{top + plot_h / 2:.1f}" fill="{_TEXT}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    for value, label in thresholds:
        y = y_of(value)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{_THRESHOLD}" stroke-width="1.5" stroke-dasharray="4 4"/>'
        )
        parts.append(
            f'<text x="{left + plot_w - 4}" y="{y - 5:.1f}" text-anchor="end" '
            f'fill="{_TEXT}">{escape(label)}</text>'
        )
    # Date ticks: every date when there are few, otherwise about six spread evenly.
    shown = days if len(days) <= 6 else [days[round(i * (len(days) - 1) / 5)] for i in range(6)]
    axis_y = top + plot_h
    parts.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" '
        f'stroke="{_TEXT}" stroke-width="1"/>'
    )
    for day in dict.fromkeys(shown):
        x = x_of(day)
        # The last date ends at its tick, so it is not cut off at the right edge.
        anchor = "end" if span and day == days[-1] else "middle"
        parts.append(
            f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="{_TEXT}"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 19}" text-anchor="{anchor}" fill="{_TEXT}">'
            f"{escape(_date_label(day))}</text>"
        )
    for index, one in enumerate(series):
        colour, dash, shape = _STYLES[index % len(_STYLES)]
        coords = [(x_of(day), y_of(value)) for day, value in sorted(one.points)]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5"{dash_attr}/>'
            )
        parts.extend(_marker(shape, x, y, colour) for x, y in coords)
        row, column = divmod(index, 2)
        lx = left + column * (plot_w / 2)
        ly = axis_y + 40 + row * 18
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{lx:.1f}" y1="{ly - 4}" x2="{lx + 28:.1f}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
        )
        parts.append(_marker(shape, lx + 14, ly - 4, colour))
        parts.append(
            f'<text x="{lx + 34:.1f}" y="{ly}" fill="{_TEXT}">{escape(one.name[:60])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
