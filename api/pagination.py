"""Cursor pagination: a stable order over a unique position, opaque `next` and `previous`
links, and a page that costs the same queries whatever its size and however deep."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.pagination import CursorPagination

MAX_PAGE_SIZE = 100
PAGE_SIZE_WORDS = f"Give page_size as a whole number from 1 to {MAX_PAGE_SIZE}."


class CursorPage(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    # The view's `ordering` (and its allowed `ordering_fields`) replace this.
    ordering = "-created_at"

    def get_page_size(self, request):
        given = request.query_params.get(self.page_size_query_param)
        if given is None:
            return self.page_size
        if not given.isdigit() or not 1 <= int(given) <= MAX_PAGE_SIZE:
            raise exceptions.ValidationError({self.page_size_query_param: [PAGE_SIZE_WORDS]})
        return int(given)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] |= {"minimum": 1, "maximum": MAX_PAGE_SIZE}
                parameter["description"] = (
                    f"Records a page, 1 to {MAX_PAGE_SIZE} (25 unless given)."
                )
        return parameters
