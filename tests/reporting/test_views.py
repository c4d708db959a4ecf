"""The reporting page, its date range, each chart's CSV and the data-set return, as a
coordinator or service admin of the service sees them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from reporting.forms import range_params
from reporting.selectors import SECTIONS, Period
from tests.reporting.conftest import PERIOD, finished_referrals

pytestmark = pytest.mark.django_db

D = dt.date


def dates(first: dt.date, last: dt.date) -> dict[str, str]:
    return range_params(Period(first, last))


def test_the_page_shows_every_chart_with_its_table_and_download(client, coordinator, world):
    client.force_login(coordinator)
    response = client.get(reverse("reporting-report"), range_params(PERIOD))
    assert response.status_code == 200
    page = response.content.decode()
    charts = re.findall(r'<svg class="th-chart" [^>]*role="img"', page)
    assert len(charts) == len(SECTIONS)
    assert page.count("<title id=") == len(SECTIONS) and page.count("<desc id=") == len(SECTIONS)
    assert page.count('<table class="nhsuk-table">') == len(SECTIONS)
    query = "from_date_day=5&amp;from_date_month=1&amp;from_date_year=2026&amp;to_date_day=29"
    for slug in SECTIONS:
        assert f'href="/staff/reports/{slug}.csv?{query}' in page
    assert f'href="/staff/reports/dataset.csv?{query}' in page
    assert "5 January 2026 to 29 March 2026" in page
    assert "6 referrals received, 50% of them self-referrals." in page
    # Tables show dates and missing values readably.
    assert '<th scope="row" class="nhsuk-table__header">5 Jan 2026</th>' in page


def test_the_page_runs_as_many_queries_for_30_referrals_as_for_3(
    client, coordinator, therapist_user, service, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(coordinator)
    url = reverse("reporting-report")
    finished_referrals(service, therapist_user, 3)
    client.get(url, range_params(PERIOD))  # warm per-process caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, range_params(PERIOD)).status_code == 200
    finished_referrals(service, therapist_user, 27, start=3)
    with django_assert_max_num_queries(len(few)):
        response = client.get(url, range_params(PERIOD))
    assert "30 referrals received" in response.content.decode()


def test_without_dates_the_page_shows_the_last_twelve_months(client, service_admin):
    client.force_login(service_admin)
    response = client.get(reverse("reporting-report"))
    assert response.status_code == 200
    form = response.context["form"]
    assert (form.period.last - form.period.first).days in (364, 365)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            dates(D(2026, 3, 1), D(2026, 2, 1)),
            "The end date must be the same as or after the start date",
        ),
        (dates(D(2023, 1, 1), D(2026, 1, 1)), "The range must be 2 years or shorter"),
        (
            dates(D(2026, 1, 1), D(2026, 2, 1)) | {"from_date_day": "31", "from_date_month": "2"},
            "The start date must be a real date",
        ),
        (
            dates(D(2026, 1, 1), D(2026, 2, 1)) | {"to_date_year": "26"},
            "Year must include 4 numbers",
        ),
        (
            dates(D(2026, 1, 1), D(2026, 2, 1))
            | {"to_date_day": "", "to_date_month": "", "to_date_year": ""},
            "Enter the date the report ends",
        ),
        (
            dates(D(2026, 1, 1), D(2026, 2, 1)) | {"from_date_month": "x"},
            "The start date must be a real date, written in numbers",
        ),
    ],
)
def test_a_bad_range_is_refused_with_a_clear_message_keeping_what_was_typed(
    client, coordinator, params, message
):
    client.force_login(coordinator)
    for name in ("reporting-report", "reporting-dataset-csv", "reporting-outcomes-csv"):
        response = client.get(reverse(name), params)
        assert response.status_code == 400, name
        page = response.content.decode()
        assert message in page
        assert "nhsuk-error-summary" in page
        assert 'class="th-chart"' not in page
        for key, value in params.items():
            if value:
                assert f'name="{key}" type="text" inputmode="numeric" value="{value}"' in page
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DATASET_EXPORT).exists()


def test_the_longest_range_is_two_years(client, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse("reporting-report"), dates(D(2024, 1, 1), D(2025, 12, 31)))
    assert response.status_code == 200


def read_csv(response) -> list[list[str]]:
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode()
    return list(csv.reader(io.StringIO(body)))


def test_each_chart_downloads_its_table(client, coordinator, world):
    client.force_login(coordinator)
    response = client.get(reverse("reporting-risk-flags-csv"), range_params(PERIOD))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="risk-flags-2026-01-05-to-2026-03-29.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["Time to acknowledgement", "Risk flags", "Risk flags (%)"]
    assert rows[1] == ["Within 1 hour", "2", "50.0"]
    assert rows[-1] == ["Not acknowledged yet", "1", "25.0"]

    outcomes = read_csv(client.get(reverse("reporting-outcomes-csv"), range_params(PERIOD)))
    assert outcomes[1:] == [
        ["Recovery", "1", "1", "100.0"],
        ["Reliable improvement", "1", "2", "50.0"],
        ["Reliable recovery", "1", "1", "100.0"],
        ["Reliable deterioration", "1", "2", "50.0"],
    ]


def test_the_data_set_return_has_a_row_per_referral_open_in_the_range(client, coordinator, world):
    client.force_login(coordinator)
    response = client.get(reverse("reporting-dataset-csv"), range_params(PERIOD))
    assert response.status_code == 200 and response.streaming
    assert (
        'filename="data-set-return-2026-01-05-to-2026-03-29.csv"' in response["Content-Disposition"]
    )
    rows = read_csv(response)
    header, body = rows[0], rows[1:]
    by_reference = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    refs = world.refs
    # R8 closed before the range, R9 came after it; another service's is never here.
    expected = {
        refs[name].reference
        for name in ("R1", "R2", "R3", "R4", "R5", "R6", "R7", "A1", "A2", "A3")
    }
    assert set(by_reference) == expected

    r1 = by_reference[refs["R1"].reference]
    assert r1 == r1 | {
        "referral_received_date": "2026-01-05",
        "source_of_referral": "B1",
        "source_of_referral_local": "self",
        "first_assessment_date": "2026-01-12",
        "first_treatment_date": "2026-02-02",
        "second_treatment_date": "2026-02-09",
        "discharge_date": "2026-02-23",
        "end_code": "46",
        "phq9_first": "15",
        "phq9_last": "5",
        "gad7_first": "12",
        "gad7_last": "4",
        "case_at_start": "Y",
        "finished_treatment": "Y",
        "recovery": "Y",
        "reliable_improvement": "Y",
        "reliable_recovery": "Y",
        "reliable_deterioration": "N",
        "attended_sessions": "3",
        "appointments": "2026-02-02:5;2026-02-09:5;2026-02-16:3;2026-02-23:5",
    }
    r2 = by_reference[refs["R2"].reference]
    assert (r2["source_of_referral"], r2["case_at_start"], r2["recovery"]) == ("A1", "N", "")
    assert (r2["reliable_improvement"], r2["reliable_deterioration"]) == ("N", "Y")
    assert r2["appointments"] == "2026-03-02:5;2026-03-09:5;2026-03-16:2"
    r3 = by_reference[refs["R3"].reference]
    assert (r3["source_of_referral"], r3["end_code"], r3["discharge_date"]) == ("M6", "", "")
    assert (r3["phq9_first"], r3["gad7_first"], r3["case_at_start"]) == ("12", "", "")
    r6 = by_reference[refs["R6"].reference]
    assert (r6["end_code"], r6["discharge_date"]) == ("11", "2026-01-21")
    r7 = by_reference[refs["R7"].reference]
    # Finished, but one pair of scores: no outcome flags.
    assert (r7["finished_treatment"], r7["recovery"], r7["reliable_improvement"]) == ("Y", "", "")
    r4 = by_reference[refs["R4"].reference]
    assert (r4["first_assessment_date"], r4["finished_treatment"], r4["appointments"]) == (
        "",
        "N",
        "",
    )


def test_downloading_the_data_set_is_an_audit_event_with_its_range(client, coordinator, world):
    client.force_login(coordinator)
    read_csv(client.get(reverse("reporting-dataset-csv"), range_params(PERIOD)))
    export = AuditEvent.objects.get(action=AuditEvent.Action.DATASET_EXPORT)
    assert export.user == coordinator and export.service_id == coordinator.service_id
    assert export.detail == {"from": "2026-01-05", "to": "2026-03-29"}
    # The request's own event too, as for every staff page.
    assert AuditEvent.objects.filter(view="reporting-dataset-csv", status=200).count() == 1


def test_another_services_staff_see_only_their_own(client, other_staff, world):
    client.force_login(other_staff)
    rows = read_csv(client.get(reverse("reporting-dataset-csv"), range_params(PERIOD)))
    assert len(rows) == 2  # the header and their own one referral
    page = client.get(reverse("reporting-report"), range_params(PERIOD)).content.decode()
    assert "1 referral received, 100% of them self-referrals." in page
    assert "Avery Full" not in page and "Casey Elsewhere" in page


@pytest.mark.parametrize("who", ["assessor", "therapist_user"])
def test_clinicians_are_refused_and_not_shown_the_link(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(reverse("reporting-report")).status_code == 403
    assert client.get(reverse("reporting-dataset-csv")).status_code == 403
    assert reverse("reporting-report") not in client.get(reverse("staff-home")).content.decode()


def test_the_menu_links_to_the_reports_for_the_office(client, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("staff-home")).content.decode()
    assert re.search(r'href="/staff/reports/">Reports</a>', page)


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_written_as_text(
    client, coordinator, service
):
    from tests import factories

    factories.TherapistFactory(service=service, display_name='=HYPERLINK("http://x","y")')
    client.force_login(coordinator)
    rows = read_csv(client.get(reverse("reporting-caseload-csv"), range_params(PERIOD)))
    assert rows[1][0] == '\'=HYPERLINK("http://x","y")'
