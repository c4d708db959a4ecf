"""The Content-Security-Policy in real Chromium: the check every browser test makes (see
conftest.py) does catch a violation, and the pages with their own inline content or their
own policy (the admin, the API's pages, an email in its frame, a saved referral's link) work
under it with none."""

from __future__ import annotations

import pytest

from notifications import sending
from notifications.outbox import notification_queue
from tests import factories
from tests.browser.conftest import sign_in
from tests.notifications.people import make_referral

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_blocked_inline_style_is_caught(page):
    page.goto("/")
    page.evaluate(
        "() => { const s = document.createElement('style');"
        " s.textContent = 'body { color: red }'; document.head.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert any("style-src" in v for v in page.th_csp_violations), page.th_csp_violations
    page.th_csp_violations.clear()  # seen: let the fixture's own check pass


def test_the_admin_and_the_api_pages_work_without_violations(page, live_server, service):
    root = factories.UserFactory(username="root", service=service, is_staff=True, is_superuser=True)
    sign_in(page, live_server, root)
    for path in ("/admin/", "/admin/intake/referral/", "/admin/common/user/add/"):
        assert page.goto(path).status == 200, path
    page.goto("/api/docs/")
    page.locator(".swagger-ui .info").wait_for(timeout=15_000)
    # DRF's browsable page (a refusal: the API is for integration accounts), drawn in full.
    assert page.goto("/api/v1/referrals/").status == 403
    assert page.locator(".response-info").is_visible()
    assert page.th_csp_violations == []


def test_an_email_shows_styled_in_its_frame(page, live_server, service, coordinator):
    referral = make_referral(service, agreed=("email",), preferred="email")
    notification = notification_queue(kind="acknowledgement", referral=referral)
    sending.notification_deliver(public_id=notification.public_id)
    sign_in(page, live_server, coordinator)

    page.goto(f"/staff/messages/{notification.public_id}/")
    page.locator("summary", has_text="as the recipient saw it").click()
    frame = page.frame_locator('iframe[title="Email as sent"]')
    frame.locator("body").get_by_text("With best wishes").wait_for()
    page.goto(f"/staff/referrals/{referral.public_id}/messages/preview/acknowledgement/")
    page.frame_locator('iframe[title="Email preview"]').locator("body").get_by_text(
        "With best wishes"
    ).wait_for()
    assert page.th_csp_violations == []


def test_a_saved_referrals_link_fills_in_its_code(page, service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    page.goto("/refer/resume/#ABCD-EFGH-JKMN")
    assert page.locator("#id_code").input_value() == "ABCD-EFGH-JKMN"
    assert page.locator("#from-link").is_visible()
    assert page.th_csp_violations == []
