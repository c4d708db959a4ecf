"""How the reporting tables show a value: dates as "3 Mar 2027", nothing as a dash."""

from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def report_cell(value) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, dt.date):
        return f"{value.day} {value:%b %Y}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
