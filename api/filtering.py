"""Ordering limited to the fields each list is indexed on; anything else is a 400 naming
the allowed values (DRF's own filter ignores an unknown field silently)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.filters import OrderingFilter


def _allowed(view) -> list[str]:
    fields = getattr(view, "ordering_fields", ()) or ()
    return [value for field in fields for value in (field, f"-{field}")]


class StrictOrdering(OrderingFilter):
    def get_ordering(self, request, queryset, view):
        given = request.query_params.get(self.ordering_param)
        if given:
            allowed = _allowed(view)
            if given.strip() not in allowed:
                words = (
                    "Order by one of: " + ", ".join(allowed) + "."
                    if allowed
                    else "This list has one order (newest first) and takes no ordering."
                )
                raise exceptions.ValidationError({self.ordering_param: [words]})
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view):
        allowed = _allowed(view)
        if not allowed:
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "The order of the list (a leading - is newest first).",
                "schema": {"type": "string", "enum": allowed},
            }
        ]
