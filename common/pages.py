"""Small helpers every app's page views share: a page selector's dataclass as template
context, a service's refusal shown on the form beside the field it is about, and notices
the apps above show at the top of staff pages about their records."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from common.errors import ServiceError


def page_context(page) -> dict:
    """A selector's page dataclass as template context, one name a field."""
    return {f.name: getattr(page, f.name) for f in dataclasses.fields(page)}


def refusal_on_form(form, error: ServiceError) -> None:
    """Put a service's refusal on the form, next to the field it is about."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


_RECORD_NOTICES: list[Callable[[Any], str]] = []


def register_record_notice(notice: Callable[[Any], str]) -> None:
    """Called from an app's `ready()`: `notice(context)` gives HTML to show at the top of a
    staff page, or "" (common knows no app: the app looks in the page's context for the
    record it is about, such as a referral under restriction)."""
    if notice not in _RECORD_NOTICES:
        _RECORD_NOTICES.append(notice)


def record_notices(context) -> str:
    return "".join(notice(context) for notice in _RECORD_NOTICES)
