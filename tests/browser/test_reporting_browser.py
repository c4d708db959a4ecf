"""The service report in a browser: reached from the menu, every chart drawn with its table,
a bad range refused with its errors; no policy violation and no axe violation, with
JavaScript and without it."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import factories
from tests.browser.conftest import assert_accessible, sign_in, watch_console
from tests.reporting.conftest import DNA, A, allocate, assess, at, flag, referral, score, treat

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date


def a_season(service, coordinator, therapist):
    """A few referrals through the year so every chart has something to draw."""
    today = dt.date.today()
    start = today - dt.timedelta(days=120)
    profile = factories.TherapistFactory(service=service, display_name="Morgan Example", capacity=3)
    for n in range(6):
        day = start + dt.timedelta(days=9 * n)
        r = referral(service, day, ("self", "gp", "partner")[n % 3], "ended")
        assess(r, day + dt.timedelta(days=5 + 6 * n), phq9=12 + n, gad7=9 + n)
        sessions = [(day + dt.timedelta(days=40 + 7 * k), (A, A, DNA, A)[k]) for k in range(4)]
        treat(r, therapist, sessions, ended_on=sessions[-1][0], end_reason="completed")
        score(r, "phq9", max(0, 12 + n - 7 * (n % 2)), sessions[-1][0])
        score(r, "gad7", max(0, 9 + n - 5 * (n % 2)), sessions[-1][0])
        flag(r, *_times(day, n), by=coordinator)
    waiting = referral(service, today - dt.timedelta(days=20), "self", "allocated")
    allocate(waiting, profile, coordinator)


def _times(day, n):
    raised = at(day, 9)
    return raised, (None if n == 0 else raised + dt.timedelta(hours=n * 7))


@pytest.mark.parametrize("javascript", [True, False])
def test_the_report_reads_well_and_refuses_a_bad_range(
    browser, live_server, settings, service, coordinator, therapist_user, javascript
):
    a_season(service, coordinator, therapist_user)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1024, "height": 900},
        java_script_enabled=javascript,
    )
    page = context.new_page()
    watch_console(page, live_server.url)
    try:
        sign_in(page, live_server, coordinator)
        page.goto("/staff/")
        page.click("header >> text=Reports")
        assert page.title().startswith("Service report")
        assert page.locator("svg.th-chart[role=img]").count() == 7
        assert page.locator("table.nhsuk-table").count() == 7
        assert "Download the data-set return for this range (CSV)" in page.content()
        if javascript:
            assert_accessible(page, "reporting-report")

        page.fill("#id_from_date_day", "31")
        page.fill("#id_from_date_month", "12")
        page.fill("#id_to_date_day", "1")
        page.fill("#id_to_date_month", "1")
        page.fill("#id_to_date_year", "2020")
        page.click("button:has-text('Show the report')")
        assert page.title().startswith("Error: ")
        assert "The end date must be the same as or after the start date" in page.content()
        assert page.input_value("#id_to_date_year") == "2020"
        assert page.locator("svg.th-chart").count() == 0
        if javascript:
            assert_accessible(page, "reporting-report-errors")
    finally:
        violations = list(page.th_csp_violations)
        context.close()
    assert not violations, violations
