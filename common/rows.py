"""Values a long list shows on every row, worked out in Python once per row rather than by
template tags and filters (`{% url %}` and `|date` cost more than the rest of a row).

Each gives exactly what the template tag or filter it replaces gives.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS

_PLACEHOLDER = UUID(int=0)


def url_for_each(view_name: str) -> Callable[[UUID], str]:
    """`{% url view_name public_id %}` for many rows: the address is reversed once, with a
    placeholder id, and each row's id put in its place. For a URL whose one argument is a
    UUID."""
    template = reverse(view_name, args=[_PLACEHOLDER])
    before, _, after = template.partition(str(_PLACEHOLDER))

    def url(public_id: UUID) -> str:
        return f"{before}{public_id}{after}"

    return url


def long_date(moment) -> str:
    """`{{ moment|date:"j F Y" }}`: the day in the current time zone, as "5 March 2025"."""
    if moment is None:
        return ""
    day = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return f"{day.day} {MONTHS[day.month]} {day.year}"
