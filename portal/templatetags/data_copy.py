"""Dates in the client's copy of their data, in words for the PDF (the JSON keeps ISO 8601)."""

from __future__ import annotations

from datetime import date, datetime

from django import template

register = template.Library()


@register.filter
def in_words(value):
    """ "2026-03-05" as "5 March 2026", "2026-03-05T14:30:00+00:00" as "5 March 2026, 14:30";
    anything else as it is ("Not given" when empty)."""
    if value in (None, "", []):
        return "Not given"
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        try:
            if len(value) == 10:
                return f"{date.fromisoformat(value):%-d %B %Y}"
            return f"{datetime.fromisoformat(value):%-d %B %Y, %H:%M}"
        except ValueError:
            pass
    return value
