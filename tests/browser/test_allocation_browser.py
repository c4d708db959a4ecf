"""Allocation pages in real headless Chromium, with axe-core (WCAG 2.2 AA) on each: the
waiting list, a run's progress updating by itself (and reloading itself without
JavaScript), a proposal accepted, another therapist chosen, caseloads and profiles."""

from __future__ import annotations

import pytest

from allocation import services
from allocation.models import Allocation, ProposalRun
from intake.models import Referral
from tests.allocation.conftest import (
    make_ada,
    make_sites,
    make_therapist,
    make_waiting,
    run_queued,
)
from tests.browser.conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def submit(page, label) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=label).click()


@pytest.fixture
def held_back(monkeypatch):
    """Runs stay queued until the test runs them (as a worker would, later)."""
    monkeypatch.setattr(services, "_publish", lambda run_id: None)


@pytest.fixture
def sites(service):
    return make_sites(service)


@pytest.fixture
def ada(service, sites):
    return make_ada(service, sites)


@pytest.fixture
def waiting_list(service, sites, ada):
    make_therapist(
        service,
        [sites["Northgate"]],
        [(0, "10:00", sites["Northgate"]), (2, "14:00", None)],
        display_name="Ben Hart",
        gender="male",
        capacity=2,
    )
    return [
        make_waiting(service, weeks=20, risk="medium", language="Polish"),
        make_waiting(
            service,
            weeks=8,
            therapist_gender="male",
            therapist_gender_strength="requirement",
            availability=["mon_morning", "wed_afternoon"],
        ),
        make_waiting(service, weeks=2, availability=["sat_morning"]),
    ]


def test_coordinator_works_out_proposals_and_allocates(
    page, live_server, coordinator, waiting_list, held_back
):
    first, second, third = waiting_list
    sign_in(page, live_server, coordinator)
    page.goto("/staff/allocation/")
    assert "No proposals have been worked out yet" in page.content()
    assert_accessible(page, "60-allocation-waiting-list-before")

    submit(page, "Work out proposals for everyone waiting")
    assert "/staff/allocation/runs/" in page.url
    assert page.locator("#run-status").inner_text().startswith("Queued")
    assert_accessible(page, "61-allocation-run-queued")
    page.evaluate("window.stillHere = true")  # gone if the page reloads
    run_queued()
    page.locator("#run-status").get_by_text("See the proposals").wait_for(timeout=15_000)
    assert page.evaluate("window.stillHere") is True  # updated in place, not reloaded
    status = " ".join(page.locator("#run-status").inner_text().split())
    assert status.startswith("Done") and "Referrals considered 3" in status
    assert_accessible(page, "62-allocation-run-done")

    page.goto("/staff/allocation/")
    content = page.content()
    assert "Past 18 weeks" in content and "Past 6 weeks" in content
    assert "No match yet" in content and "Ada Lewis" in content and "Ben Hart" in content
    assert_accessible(page, "63-allocation-waiting-list-proposals")
    page.select_option("#id_wait", "18")
    submit(page, "Apply filters")
    assert first.reference in page.content() and second.reference not in page.content()
    assert_accessible(page, "64-allocation-waiting-list-filtered")

    page.goto(f"/staff/allocation/referrals/{first.public_id}/")
    assert "Why this match" in page.content() and "speaks Polish" in page.content()
    assert_accessible(page, "65-allocation-proposal")
    page.fill("#id_first_appointment_day", "31")
    page.fill("#id_first_appointment_month", "2")
    submit(page, "Accept this proposal")
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert_accessible(page, "66-allocation-proposal-errors")
    page.fill("#id_first_appointment_day", "")
    page.fill("#id_first_appointment_month", "")
    page.fill("#id_first_appointment_year", "")
    submit(page, "Accept this proposal")
    assert "is allocated to Ada Lewis" in page.content()
    first.refresh_from_db()
    assert first.status == Referral.Status.ALLOCATED

    page.goto(f"/staff/allocation/referrals/{third.public_id}/")
    assert "No match yet" in page.content() and "What would help" in page.content()
    assert_accessible(page, "67-allocation-no-match")
    page.get_by_role("link", name="Choose a therapist yourself").click()
    page.wait_for_load_state()
    # Nobody has a slot on a Saturday morning: Ben, with a free place, is behind "other".
    content = " ".join(page.locator("main").inner_text().split())
    assert "What this client asked for" in content and "Sat morning" in content
    assert "Showing 1 of 1 therapist with a free place and a free slot" in content
    hidden = " ".join(page.locator("main").text_content().split())
    assert "Lacks: no slot in the client's available times" in hidden
    assert not page.get_by_role("group", name="Ben Hart").is_visible()
    assert_accessible(page, "68-allocation-choose")
    page.select_option("#id_place", "remote")
    submit(page, "Apply filters")
    assert "place=remote" in page.url and "Showing 1 of 1" in page.content()
    page.get_by_label("Only therapists with a free slot in the client's available times").check()
    submit(page, "Apply filters")
    assert "No therapist matches these filters" in page.content()
    assert_accessible(page, "68-allocation-choose-filtered")
    page.get_by_role("link", name="Clear filters").first.click()
    page.wait_for_load_state()
    page.get_by_text("Other therapists with a free place (1)").click()
    ben = page.get_by_role("group", name="Ben Hart")
    assert ben.is_visible() and "Not in the client's times" in ben.inner_text()
    assert_accessible(page, "68-allocation-choose-open")
    submit(page, "Allocate to this therapist")
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert_accessible(page, "69-allocation-choose-errors")
    page.get_by_text("Other therapists with a free place (1)").click()
    page.get_by_role("group", name="Ben Hart").get_by_label("Monday 10:00").check()
    page.fill("#id_reason", "The client can do a Monday morning after all, by phone")
    submit(page, "Allocate to this therapist")
    assert Allocation.objects.get(referral=third).override_reason.startswith("The client can")

    # The second client requires a man, on a Monday morning or Wednesday afternoon: Ben
    # fits everything with the Wednesday slot left; Ada is full.
    page.goto(f"/staff/allocation/referrals/{second.public_id}/choose/")
    ben = page.get_by_role("group", name="Ben Hart")
    assert "gender requirement (male) met" in ben.inner_text()
    assert "Fits everything this client asked for (1)" in page.content()
    assert_accessible(page, "69-allocation-choose-fits")

    page.goto(f"/staff/allocation/referrals/{second.public_id}/")
    submit(page, "Put on hold")
    assert_accessible(page, "70-allocation-hold-errors")


def test_run_page_reloads_itself_without_javascript(browser, live_server, coordinator, service):
    run = ProposalRun.objects.create(service=service, trigger="coordinator")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, coordinator)
        page.goto(f"/staff/allocation/runs/{run.public_id}/")
        assert "Stop reloading this page" in page.content()
        with page.expect_navigation(timeout=10_000):
            pass  # the <meta http-equiv="refresh"> reloads it within 5 seconds
        page.get_by_role("link", name="Stop reloading this page").click()
        page.wait_for_load_state()
        assert "auto=off" in page.url and "Stop reloading" not in page.content()
    finally:
        context.close()


def test_caseloads_and_profiles_are_accessible(page, live_server, service_admin, waiting_list, ada):
    sign_in(page, live_server, service_admin)
    page.goto("/staff/therapists/")
    assert "Ada Lewis" in page.content() and "Free weekly sessions" in page.content()
    assert_accessible(page, "71-therapist-caseloads")
    page.get_by_role("link", name="Ada Lewis").click()
    page.wait_for_load_state()
    assert_accessible(page, "72-therapist-profile")
    page.get_by_role("link", name="Change the profile").click()
    page.wait_for_load_state()
    page.fill("#id_capacity", "lots")
    submit(page, "Save")
    assert "Weekly sessions must be a whole number" in page.content()
    assert_accessible(page, "73-therapist-profile-errors")
    page.goto(f"/staff/therapists/{ada.public_id}/slots/add/")
    page.select_option("#id_weekday", "1")
    page.fill("#id_start", "18:30")
    page.get_by_label("Remote (video or phone)").check()
    submit(page, "Add the slot")
    assert "This overlaps the Tuesday 18:00" in page.content()
    assert_accessible(page, "74-therapist-slot-errors")
    page.goto(f"/staff/therapists/{ada.public_id}/leave/add/")
    submit(page, "Save")
    assert_accessible(page, "75-therapist-leave-errors")
