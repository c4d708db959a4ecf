"""Removing a planned break: the reason counts its characters as they are typed, and a
reason too long comes back with a clear error and the text kept, with no axe violations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from common import roles
from intake.models import Referral
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in
from therapy import services as therapy_services

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_too_long_reason_to_remove_a_break_is_kept_with_its_error(
    page, live_server, service, coordinator
):
    therapist = factories.UserFactory(username="frankie", service=service, roles=[roles.THERAPIST])
    referral = factories.ReferralFactory(
        client__service=service, status=Referral.Status.AWAITING_ALLOCATION
    )
    start = timezone.localdate() - timedelta(weeks=2)
    therapy_services.therapy_start(
        referral=referral, therapist=therapist, started_on=start, user=coordinator
    )
    therapy_services.session_plan_save(
        referral=referral,
        user=therapist,
        values={
            "length": "open_ended",
            "session_count": None,
            "sessions_per_week": 1,
            "regular_times": [{"weekday": start.weekday(), "time": "10:00"}],
            "mode": "video",
            "site": None,
            "room": "",
            "starts_on": start,
            "ends_on": None,
            "review_dates": [],
            "ending_plan": "",
            "couch_discussed": "",
            "measures_every_sessions": 4,
            "repeat_measures": ["phq9", "gad7"],
        },
        reason="",
    )
    breaks_on = start + timedelta(weeks=5)
    plan = therapy_services.session_plan_break_add(
        referral=referral,
        user=therapist,
        starts_on=breaks_on,
        ends_on=breaks_on + timedelta(days=6),
        kind="service_closure",
    )
    field = f"#remove-{plan.breaks[0]['id']}-reason"
    sign_in(page, live_server, therapist)
    page.goto(f"/staff/referrals/{referral.public_id}/plan/")
    reason = "The clinic stays open after all. " * 10
    page.fill(field, reason)
    assert "too many" in page.locator(f"{field}-info").inner_text() or "You have" in (
        page.locator(".nhsuk-character-count__status").first.inner_text()
    )
    page.click("button:has-text('Remove this break')")
    assert "The reason must be 300 characters or fewer" in page.content()
    assert page.input_value(field) == reason
    assert page.title().startswith("Error: ")
    assert_accessible(page, "68-plan-break-remove-error")
