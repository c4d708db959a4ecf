"""Pages of a list: every staff list is read a page at a time, never whole.

Selectors return a Django `Page`; templates show it with `{% pagination page %}`
(common/templatetags/paging.py), the NHS.UK numbered pagination component.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.paginator import Page, Paginator

PER_PAGE = 50


def page_of(items, *, page=1, per_page: int = PER_PAGE) -> Page:
    """One page of a queryset or list. A page number that is not a number, or past the
    end, shows the first or the last page rather than an error."""
    return Paginator(items, per_page).get_page(page)


def page_with_rows(page: Page, rows: Sequence) -> Page:
    """The same page holding rows built from its objects (same numbering and count)."""
    return Page(list(rows), page.number, page.paginator)
