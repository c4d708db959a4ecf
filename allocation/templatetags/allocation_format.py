"""Plain words for slots as proposals and allocations store them."""

from __future__ import annotations

from django import template

from allocation.engine import DAY_NAMES

register = template.Library()


@register.filter
def slot_text(slot: dict) -> str:
    """{"weekday": 1, "start": "18:00", "site": "Riverside"} -> "Tuesday 18:00, Riverside"."""
    try:
        day = DAY_NAMES[int(slot["weekday"])]
    except (KeyError, ValueError, IndexError, TypeError):
        return ""
    where = slot.get("site") or "remote"
    return f"{day} {slot.get('start', '')}, {where}"


@register.filter
def modality_name(code: str) -> str:
    from allocation.forms import MODALITIES

    return dict(MODALITIES).get(code, code)
