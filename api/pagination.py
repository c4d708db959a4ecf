"""Cursor pagination: a stable order over a unique position, opaque `next` and `previous`
links, and a page that costs the same queries whatever its size and however deep."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination

MAX_PAGE_SIZE = 100


class CursorPage(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    # The view's `ordering` (and OrderingFilter's allowed fields) replace this.
    ordering = "-created_at"
