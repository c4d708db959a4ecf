"""Reading the audit trail: one service's events, searched, a page at a time or streamed
as CSV rows. Only service admins call these (audit/views.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from django.core.paginator import Page
from django.db.models import QuerySet
from django.utils import timezone

from audit import references
from audit.filters import AuditEventFilter
from audit.models import AuditEvent
from common.paging import page_of, page_with_rows

CSV_CHUNK = 1000
CSV_HEADER = (
    "when",
    "member of staff",
    "action",
    "page",
    "method",
    "status",
    "address",
    "record type",
    "record id",
    "referral",
    "referral id",
)


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    reference: str  # "" when the event is about no referral, or it is gone


def _events(*, user) -> QuerySet[AuditEvent]:
    if user.service_id is None:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(service_id=user.service_id).select_related("user")


def audit_event_filter(*, user, params) -> AuditEventFilter:
    """The search over the user's own service's events; unbound (everything) when no
    filter is given."""
    data = {k: v for k, v in params.items() if k != "page"} or None
    return AuditEventFilter(data, queryset=_events(user=user), service_id=user.service_id)


def search_valid(search: AuditEventFilter) -> bool:
    """No filter at all is a valid search (everything); given filters must all be valid."""
    return not search.is_bound or search.is_valid()


def audit_event_page(*, search: AuditEventFilter, page) -> Page:
    """One page of the search's events, newest first, each with its referral's reference
    (one query for the page). An invalid search shows nothing."""
    events = search.qs if search_valid(search) else search.queryset.none()
    found = page_of(events.order_by("-at", "-pk"), page=page)
    refs = references.references_for_ids(e.referral_id for e in found)
    return page_with_rows(found, [EventRow(e, refs.get(e.referral_id, "")) for e in found])


def _cell(value) -> str:
    """A spreadsheet runs a cell starting with these; a leading apostrophe keeps it text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_event_csv_rows(*, search: AuditEventFilter) -> Iterator[tuple[str, ...]]:
    """The header, then every event of the search, read in chunks (bounded memory)."""
    yield CSV_HEADER
    events = search.qs.order_by("-at", "-pk").iterator(chunk_size=CSV_CHUNK)
    while chunk := list(islice(events, CSV_CHUNK)):
        refs = references.references_for_ids(e.referral_id for e in chunk)
        for e in chunk:
            yield tuple(
                _cell(value)
                for value in (
                    timezone.localtime(e.at).isoformat(timespec="seconds"),
                    e.user.username if e.user else ("client (portal)" if e.by_client else ""),
                    e.action,
                    e.view,
                    e.method,
                    e.status,
                    e.address,
                    e.object_type,
                    e.object_id,
                    refs.get(e.referral_id, ""),
                    e.referral_id or "",
                )
            )
