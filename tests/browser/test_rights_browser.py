"""The office's rights request pages and the service admin's token pages in a browser: a
restriction recorded from the referral page (errors first, text kept), its banner, and a
token issued and revoked; no policy violation and no axe violation on any of them."""

from __future__ import annotations

import pytest
from django.utils import timezone

from common import roles
from intake.api_tokens import ApiToken
from intake.models import RightsRequest
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_recording_a_restriction_and_working_it(page, live_server, service, coordinator):
    referral = factories.ReferralFactory(client__service=service)
    sign_in(page, live_server, coordinator)
    page.goto(f"/staff/referrals/{referral.public_id}/")
    page.click("text=Record a request to correct or restrict the record")
    page.fill("#id_details", "Please stop using my record while my complaint is looked at")
    page.click("button:has-text('Record the request')")
    chosen = "Choose whether the client asks for a copy, a correction or a restriction"
    assert chosen in page.content()
    assert page.input_value("#id_details").startswith("Please stop using my record")
    assert page.title().startswith("Error: ")
    assert_accessible(page, "rights-request-new-errors")

    page.check("input[name=kind][value=restriction]")
    page.check("input[name=source][value=phone]")
    today = timezone.localdate()
    page.fill("#id_received_on_day", str(today.day))
    page.fill("#id_received_on_month", str(today.month))
    page.fill("#id_received_on_year", str(today.year))
    page.click("button:has-text('Record the request')")
    assert RightsRequest.objects.filter(kind="restriction").exists()
    assert "The use of this record is restricted" in page.content()
    assert_accessible(page, "rights-request-detail-restriction")

    page.goto("/staff/rights-requests/")
    assert "Restriction in force" in page.content()
    assert_accessible(page, "rights-task-list")


def test_issuing_and_revoking_a_token(page, live_server, service, service_admin):
    account = factories.UserFactory(
        username="orchard-surgery", service=service, roles=[roles.PARTNER_REFERRER]
    )
    sign_in(page, live_server, service_admin)
    page.goto("/staff/")
    page.click("text=Partner API tokens")
    assert_accessible(page, "api-token-list-empty")
    page.click("text=Issue a token")
    page.click("button:has-text('Issue the token')")
    assert "Enter what the token is for" in page.content()
    assert_accessible(page, "api-token-issue-errors")
    page.fill("#id_name", "Orchard Surgery referrals")
    page.click("button:has-text('Issue the token')")
    token = ApiToken.objects.get(user=account)
    key = page.inner_text(".th-token-key")
    assert key.startswith(token.prefix)
    assert_accessible(page, "api-token-issued")

    page.goto("/staff/api-tokens/")
    assert key not in page.content()
    page.click("td a:has-text('Revoke')")
    assert_accessible(page, "api-token-revoke-confirm")
    page.click("button:has-text('Revoke the token')")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "is revoked" in page.content()
