"""The service's reporting page, a CSV of each chart's table, and the data-set return.

Coordinators and service admins (`OFFICE`), of their own service only. Downloading the data
set, a row per referral, is recorded in the audit trail as an event of its own with the
range, beside the middleware's record of the request.
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from audit import services as audit
from audit.models import AuditEvent
from common.access import OFFICE, role_required
from reporting import dataset, forms, selectors


class _Echo:
    def write(self, value: str) -> str:
        return value


def _page(request, form, report=None, status=200) -> HttpResponse:
    query = urlencode(forms.range_params(form.period)) if report else ""
    return render(
        request,
        "reporting/report.html",
        {"form": form, "report": report, "query": query},
        status=status,
    )


def _filename(stem: str, period: selectors.Period) -> str:
    return f"{stem}-{period.first.isoformat()}-to-{period.last.isoformat()}.csv"


@role_required(*OFFICE)
@require_safe
def report(request: HttpRequest) -> HttpResponse:
    form = forms.range_form(request.GET)
    if not form.is_valid():
        return _page(request, form, status=400)
    return _page(request, form, selectors.service_report(user=request.user, period=form.period))


@role_required(*OFFICE)
@require_safe
def chart_csv(request: HttpRequest, chart: str) -> HttpResponse:
    form = forms.range_form(request.GET)
    if not form.is_valid():
        return _page(request, form, status=400)
    section = selectors.report_section(user=request.user, period=form.period, slug=chart)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(chart, form.period)}"'
    writer = csv.writer(response)
    if section is not None:
        writer.writerow(section.table.headers)
        writer.writerows([dataset.csv_cell(cell) for cell in row] for row in section.table.rows)
    return response


@role_required(*OFFICE)
@require_safe
def dataset_csv(request: HttpRequest) -> HttpResponse:
    form = forms.range_form(request.GET)
    if not form.is_valid():
        return _page(request, form, status=400)
    period = form.period
    audit.record(
        request=request,
        action=AuditEvent.Action.DATASET_EXPORT,
        detail={"from": period.first.isoformat(), "to": period.last.isoformat()},
    )
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in dataset.dataset_rows(user=request.user, period=period)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{_filename("data-set-return", period)}"'
    )
    return response
