"""Two-factor sign-in in real headless Chromium: setting up an authenticator (the QR code is
inline SVG, so the strict Content-Security-Policy is checked on it), the recovery codes
page, the code step with a wrong code then a recovery code, and a service admin's reset.
Every page must pass axe-core with no console error or CSP violation (tests/browser)."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.browser.conftest import assert_accessible, sign_in
from tests.support.two_factor import authenticator_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


def _password(page, user) -> None:
    page.goto("/staff/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()


def _submit(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_setting_up_then_signing_in_with_a_recovery_code(page, assessor):
    _password(page, assessor)
    page.wait_for_url("**/staff/login/set-up/**")
    assert page.locator(".th-qr-code svg").is_visible()
    assert_accessible(page, "two-factor/01-set-up")

    # A wrong code first: the error summary names it, and the key stays the same.
    key = page.locator("#setup-key").inner_text().replace(" ", "")
    page.fill("#id_code", "000000" if totp(b32decode(key)) != 0 else "111111")
    _submit(page, "Confirm and continue")
    assert "That code does not match the key" in page.locator(".nhsuk-error-summary").inner_text()
    assert page.locator("#setup-key").inner_text().replace(" ", "") == key
    assert_accessible(page, "two-factor/02-set-up-wrong-code")

    TOTPDevice.objects.filter(user=assessor).update(throttling_failure_timestamp=None)
    page.fill("#id_code", f"{totp(b32decode(key)):06d}")
    _submit(page, "Confirm and continue")
    assert page.get_by_role("heading", name="Save your recovery codes").is_visible()
    codes = re.findall(r"[a-z2-9]{5}-[a-z2-9]{5}", page.locator(".th-recovery-codes").inner_text())
    assert len(codes) == 10
    assert_accessible(page, "two-factor/03-recovery-codes")
    with page.expect_navigation():
        page.get_by_role("link", name="I have saved my recovery codes").click()
    assert page.url.endswith("/staff/")

    page.context.clear_cookies()
    _password(page, assessor)
    page.wait_for_url("**/staff/login/code/**")
    assert_accessible(page, "two-factor/04-code")
    page.fill("#id_code", codes[0])
    _submit(page, "Continue")
    assert page.url.endswith("/staff/"), page.content()


def test_a_service_admin_resets_a_members_two_factor_sign_in(
    page, live_server, service_admin, assessor
):
    authenticator_for(assessor)
    sign_in(page, live_server, service_admin)
    page.goto("/staff/")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("Reset two-factor sign-in for")).first.click()
    assert_accessible(page, "two-factor/05-reset")
    _submit(page, "Reset two-factor sign-in")  # no reason: refused, with the error
    assert "Enter why you are resetting" in page.locator(".nhsuk-error-summary").inner_text()
    assert_accessible(page, "two-factor/06-reset-no-reason")
    page.fill("#id_reason", "Phone replaced")
    _submit(page, "Reset two-factor sign-in")
    assert "Two-factor sign-in reset" in page.content()
    assert not TOTPDevice.objects.filter(user=assessor).exists()
