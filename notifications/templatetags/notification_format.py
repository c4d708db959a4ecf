"""Dates and times as the NHS writes them: "Tuesday 3 March 2026", "10:30am", "midday"."""

from __future__ import annotations

from datetime import date, datetime, time

from django import template
from django.utils import timezone

register = template.Library()


def _as_time(value) -> time | None:
    if isinstance(value, datetime):
        return timezone.localtime(value).time() if timezone.is_aware(value) else value.time()
    if isinstance(value, time):
        return value
    if isinstance(value, str) and value:
        try:
            return time.fromisoformat(value)
        except ValueError:
            return None
    return None


def _as_date(value) -> date | None:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


@register.filter
def nice_time(value) -> str:
    moment = _as_time(value)
    if moment is None:
        return str(value or "")
    if moment.hour == 12 and moment.minute == 0:
        return "midday"
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"


@register.filter
def nice_date(value) -> str:
    day = _as_date(value)
    if day is None:
        return str(value or "")
    return f"{day:%A} {day.day} {day:%B %Y}"


@register.filter
def short_date(value) -> str:
    """For text messages: "Tue 3 Mar"."""
    day = _as_date(value)
    if day is None:
        return str(value or "")
    return f"{day:%a} {day.day} {day:%b}"
