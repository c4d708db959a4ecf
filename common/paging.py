"""Pages of a list: every staff list is read a page at a time, never whole.

Selectors return a Django `Page`; templates show it with `{% pagination page %}`
(common/templatetags/paging.py), the NHS.UK numbered pagination component.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Q, QuerySet, Subquery

PER_PAGE = 50


def page_of(items, *, page=1, per_page: int = PER_PAGE) -> Page:
    """One page of a queryset or list. A page number that is not a number, or past the
    end, shows the first or the last page rather than an error."""
    return Paginator(items, per_page).get_page(page)


def page_with_rows(page: Page, rows: Sequence) -> Page:
    """The same page holding rows built from its objects (same numbering and count)."""
    return Page(list(rows), page.number, page.paginator)


# --- Seeking: deep pages without OFFSET ----------------------------------------------------
# A numbered page read with OFFSET makes PostgreSQL read and throw away every row before it
# (page 300 of a list reads 15,000 rows). A page reached from its neighbour by a link is
# read instead by *seeking*: the rows after the neighbour's last row (or before its first),
# in the list's order, which an index finds directly. The links carry that row's public
# id beside the page number; a page number alone (typed, or an old bookmark) still works,
# by OFFSET, and the last page is read from the end, so every link the pagination shows is
# as cheap as the first page.


@dataclass(frozen=True)
class SeekNames:
    """The query parameters a list's links carry the edge row's public id in."""

    after: str = "after"
    before: str = "before"


class SeekPage(Page):
    """A page whose links to its neighbours say where they start (`link_params`)."""

    def __init__(self, object_list, number, paginator, *, names: SeekNames):
        super().__init__(object_list, number, paginator)
        self.seek_names = names

    def link_params(self, number: int) -> dict[str, str]:
        """The extra query parameters of the link to page `number`."""
        rows = self.object_list
        if not rows:
            return {}
        if number == self.number + 1:
            return {self.seek_names.after: str(rows[-1].public_id)}
        if number == self.number - 1 and number > 1:
            return {self.seek_names.before: str(rows[0].public_id)}
        return {}


def _uuid_or_none(value) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


def seek_page_of(
    items: QuerySet,
    *,
    anchors: QuerySet,
    page=1,
    after=None,
    before=None,
    key: str,
    per_page: int = PER_PAGE,
    names: SeekNames = SeekNames(),
    count: Callable[[], int] | None = None,
) -> SeekPage:
    """One page of `items`, ordered by (`key`, id) ascending (the caller orders it so).

    `after` (or `before`): the public id of the row just before (after) the page, from the
    link of its neighbour; looked up in `anchors` (the same rows unfiltered, so a row that
    has since changed state still marks its place). Without one, or with one that is not
    an id of `anchors`, the page is read by its number as `page_of` reads it; the last page
    from the end of the list. Runs the same number of queries whichever way it is read.
    `count`, if given, says how many rows `items` holds (a cheaper query than
    `items.count()` that gives the same answer); it is asked once.
    """
    paginator = Paginator(items, per_page)
    if count is not None:
        paginator.count = count()  # Paginator.count is a cached property: this is its value
    try:
        number = paginator.validate_number(page)
    except PageNotAnInteger:
        number = 1
    except EmptyPage:
        number = paginator.num_pages
    after, before = _uuid_or_none(after), _uuid_or_none(before)
    rows = None
    if after is not None and number > 1:
        rows = _seek(items, anchors, after, key=key, forward=True, limit=per_page)
    elif before is not None and number < paginator.num_pages:
        rows = _seek(items, anchors, before, key=key, forward=False, limit=per_page)
    if not rows:  # no neighbour named, or one no longer there: the page by its number
        if number > 1 and number == paginator.num_pages:
            on_last = paginator.count - (number - 1) * per_page
            rows = list(items.reverse()[:on_last])[::-1]
        else:
            start = (number - 1) * per_page
            rows = list(items[start : start + per_page])
    return SeekPage(rows, number, paginator, names=names)


def _seek(items, anchors, public_id: UUID, *, key: str, forward: bool, limit: int) -> list:
    """Up to `limit` rows of `items` after (forward) or before the anchor row, in one query:
    the anchor's position is read by subqueries in the same statement."""
    anchor = anchors.filter(public_id=public_id).order_by()
    at = Subquery(anchor.values(key)[:1])
    pk = Subquery(anchor.values("pk")[:1])
    if forward:
        # The first condition alone is the index range; the second settles ties on `key`.
        found = items.filter(**{f"{key}__gte": at}).filter(Q(**{f"{key}__gt": at}) | Q(pk__gt=pk))
        return list(found[:limit])
    found = items.filter(**{f"{key}__lte": at}).filter(Q(**{f"{key}__lt": at}) | Q(pk__lt=pk))
    return list(found.reverse()[:limit])[::-1]
