"""Small helpers every app's page views share: a page selector's dataclass as template
context, and a service's refusal shown on the form beside the field it is about."""

from __future__ import annotations

import dataclasses

from common.errors import ServiceError


def page_context(page) -> dict:
    """A selector's page dataclass as template context, one name a field."""
    return {f.name: getattr(page, f.name) for f in dataclasses.fields(page)}


def refusal_on_form(form, error: ServiceError) -> None:
    """Put a service's refusal on the form, next to the field it is about."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)
