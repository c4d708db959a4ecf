"""The audit page for service admins: search their service's events, export them as CSV."""

from __future__ import annotations

import csv

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from audit import selectors, services
from audit.models import AuditEvent
from common import roles
from common.access import role_required


class _Echo:
    def write(self, value: str) -> str:
        return value


def _page(request, search, status=200) -> HttpResponse:
    return render(
        request,
        "audit/events.html",
        {
            "search": search,
            "events": selectors.audit_event_page(search=search, page=request.GET.get("page")),
            "query": request.GET.urlencode(),
        },
        status=status,
    )


@role_required(roles.SERVICE_ADMIN)
@require_safe
def audit_events(request: HttpRequest) -> HttpResponse:
    search = selectors.audit_event_filter(user=request.user, params=request.GET)
    return _page(request, search, status=200 if selectors.search_valid(search) else 400)


@role_required(roles.SERVICE_ADMIN)
@require_safe
def audit_events_csv(request: HttpRequest) -> HttpResponse:
    search = selectors.audit_event_filter(user=request.user, params=request.GET)
    if not selectors.search_valid(search):
        return _page(request, search, status=400)
    services.record(request=request, action=AuditEvent.Action.EXPORT, detail=search.given())
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in selectors.audit_event_csv_rows(search=search)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
