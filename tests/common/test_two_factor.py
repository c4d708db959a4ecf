"""Two-factor sign-in (docs/security.md, "Two-factor sign-in"): the code step after the
password, setting up an authenticator with recovery codes, throttled guessing, the admin
site and session API held to a verified session, and a service admin's reset.

(Every staff page sending an unverified session to the code step is in
tests/common/test_roles_by_view.py, account "unverified".)
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from common import roles, two_factor
from tests import factories
from tests.support.two_factor import (
    authenticator_for,
    current_code,
    next_code,
    sign_in_unverified,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
CODE_STEP = reverse("staff-two-factor")
SETUP = reverse("staff-two-factor-setup")


def _password(client, user, next_url=""):
    url = reverse("staff-login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"username": user.username, "password": PASSWORD})


def _code(client, code, next_url="/staff/"):
    return client.post(CODE_STEP, {"code": code, "next": next_url})


def _time_passes(device, seconds=3600):
    """As if the throttle's wait had passed since the last wrong code."""
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=seconds)
    )


def _home_is_open(client) -> bool:
    return client.get(reverse("staff-home")).status_code == 200


# The code step.


def test_the_password_alone_leads_to_the_code_step_not_the_staff_pages(client, assessor):
    authenticator_for(assessor)
    response = _password(client, assessor)
    assert response["Location"] == f"{CODE_STEP}?next=/staff/"

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Enter your code" in page.text
    # No staff header or links for a session not yet verified.
    assert reverse("staff-referral-list") not in page.text
    home = client.get(reverse("staff-home"))
    assert home.status_code == 302 and home["Location"].startswith(f"{CODE_STEP}?")


def test_the_right_code_opens_the_staff_pages_and_goes_where_it_was_going(client, assessor):
    device = authenticator_for(assessor)
    _password(client, assessor, next_url=reverse("staff-referral-list"))
    before = client.cookies["sessionid"].value

    response = _code(client, current_code(device), next_url=reverse("staff-referral-list"))

    assert response.status_code == 302 and response["Location"] == reverse("staff-referral-list")
    assert client.get(reverse("staff-referral-list")).status_code == 200
    # A new session key once the code is given, as at the password.
    assert client.cookies["sessionid"].value != before


def test_a_code_step_never_sends_anyone_to_another_site(client, assessor):
    device = authenticator_for(assessor)
    _password(client, assessor)
    response = _code(client, current_code(device), next_url="https://example.com/")
    assert response["Location"] == reverse("staff-home")


def test_a_wrong_code_says_so_and_keeps_the_session_unverified(client, assessor):
    device = authenticator_for(assessor)
    right = current_code(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    _password(client, assessor)

    response = _code(client, wrong)

    assert response.status_code == 400
    assert "That code is not right, or it has run out" in response.text
    assert "There is a problem" in response.text
    assert not _home_is_open(client)


def test_an_expired_code_is_refused(client, assessor):
    device = authenticator_for(assessor)
    _password(client, assessor)
    response = _code(client, current_code(device, at=time.time() - 5 * 60))
    assert response.status_code == 400
    assert "it has run out" in response.text
    assert not _home_is_open(client)


def test_a_code_works_once(client, assessor):
    device = authenticator_for(assessor)
    code = next_code(device)
    _password(client, assessor)
    assert _code(client, code).status_code == 302
    client.post(reverse("staff-logout"))

    again = Client()
    _password(again, assessor)
    response = _code(again, code)

    assert response.status_code == 400
    assert "each code works once" in response.text
    assert not _home_is_open(again)


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("", two_factor.EMPTY),
        ("12345", two_factor.NOT_A_CODE),
        ("12a456", two_factor.NOT_A_CODE),
    ],
)
def test_something_that_is_not_a_code_gets_its_own_error(client, assessor, typed, error):
    authenticator_for(assessor)
    _password(client, assessor)
    response = _code(client, typed)
    assert response.status_code == 400
    assert error in response.text.replace("&#x27;", "'")
    assert response.context["form"]["code"].value() == typed  # what was typed is kept


def test_wrong_codes_are_throttled_then_the_session_is_signed_out(client, assessor, settings):
    settings.TWO_FACTOR_ATTEMPTS_LIMIT = 3
    device = authenticator_for(assessor)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    _password(client, assessor)

    assert "it has run out" in _code(client, wrong).text
    # At once again: the device waits before it checks another code, even the right one.
    throttled = _code(client, current_code(device))
    assert throttled.status_code == 400
    assert "Too many wrong codes. Wait 1 second," in throttled.text
    assert not _home_is_open(client)

    ended = _code(client, wrong)
    assert ended.status_code == 302 and ended["Location"] == reverse("staff-login")
    page = client.get(ended["Location"])
    assert "signed out after 3 wrong codes in a row" in page.text
    assert client.get(CODE_STEP)["Location"].startswith(reverse("staff-login"))


def test_after_the_wait_the_right_code_is_taken(client, assessor):
    device = authenticator_for(assessor)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    _password(client, assessor)
    _code(client, wrong)
    _time_passes(device)

    assert _code(client, current_code(device)).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
    assert _home_is_open(client)


# Recovery codes.


def test_a_recovery_code_signs_in_once(client, assessor):
    authenticator_for(assessor)
    codes = two_factor.recovery_codes_issue(user=assessor)
    assert len(codes) == 10 and len(set(codes)) == 10
    _password(client, assessor)

    # Typed as shown, or without the dash, in capitals: the same code.
    assert _code(client, codes[0].upper().replace("-", " ")).status_code == 302
    assert _home_is_open(client)
    client.post(reverse("staff-logout"))

    again = Client()
    _password(again, assessor)
    response = _code(again, codes[0])
    assert response.status_code == 400
    assert "already been used. Each recovery code works once." in response.text
    assert StaticToken.objects.filter(device__user=assessor).count() == 9


def test_with_no_recovery_codes_left_the_error_says_what_to_do(client, assessor):
    authenticator_for(assessor)
    _password(client, assessor)
    response = _code(client, "abcde-fghjk")
    assert response.status_code == 400
    assert "no recovery codes left" in response.text


# Setting up an authenticator.


def _key(page) -> str:
    return re.search(r'id="setup-key">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")


def test_a_member_with_no_authenticator_sets_one_up_then_saves_recovery_codes(client, assessor):
    response = _password(client, assessor)
    assert client.get(response["Location"])["Location"] == f"{SETUP}?next=/staff/"

    page = client.get(f"{SETUP}?next=/staff/")
    assert page.status_code == 200
    key = _key(page)
    assert len(key) == 32
    svg = re.search(r'<svg role="img".*?</svg>', page.text, re.S).group(0)
    assert "style" not in svg and "<script" not in svg
    assert 'aria-label="QR code holding the setup key"' in svg
    # The same key on a second look (a refresh after scanning changes nothing).
    assert _key(client.get(SETUP)) == key
    assert not _home_is_open(client)

    device = TOTPDevice.objects.get(user=assessor)
    assert not device.confirmed
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    refused = client.post(SETUP, {"code": wrong, "next": "/staff/"})
    assert refused.status_code == 400
    assert "That code does not match the key" in refused.text
    assert _key(refused) == key
    _time_passes(device)

    done = client.post(SETUP, {"code": current_code(device), "next": "/staff/"})

    assert done.status_code == 200
    assert "Save these codes now" in done.text and "shown only this once" in done.text
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", done.text)
    assert len(codes) == 10
    assert _home_is_open(client)
    device.refresh_from_db()
    assert device.confirmed
    assert StaticDevice.objects.get(user=assessor).token_set.count() == 10
    # Setting up again is not on offer once it is done: the code step is asked for instead.
    assert client.get(SETUP)["Location"].startswith(reverse("staff-home"))

    later = Client()
    _password(later, assessor)
    assert later.get(SETUP)["Location"].startswith(f"{CODE_STEP}?")
    assert _code(later, codes[3]).status_code == 302
    assert _home_is_open(later)


def test_setting_up_gives_clear_errors(client, assessor):
    _password(client, assessor)
    client.get(SETUP)
    empty = client.post(SETUP, {"code": ""})
    assert empty.status_code == 400 and two_factor.SETUP_EMPTY in empty.text
    letters = client.post(SETUP, {"code": "abc123"})
    assert letters.status_code == 400 and two_factor.SETUP_NOT_A_CODE in letters.text


def test_the_code_steps_are_for_signed_in_staff_only(client, service):
    assert client.get(CODE_STEP)["Location"].startswith(reverse("staff-login"))
    assert client.get(SETUP)["Location"].startswith(reverse("staff-login"))
    partner = factories.UserFactory(service=service, roles=[roles.PARTNER_REFERRER])
    sign_in_unverified(client, partner)
    assert client.get(CODE_STEP).status_code == 403
    assert client.get(SETUP).status_code == 403


# Signing out, the admin site and the API.


def test_signing_out_ends_the_verified_session(client, assessor):
    client.force_login(assessor)
    assert _home_is_open(client)
    client.post(reverse("staff-logout"))
    assert client.get(reverse("staff-home"))["Location"].startswith(reverse("staff-login"))


def test_the_admin_site_needs_a_verified_session(client, service):
    admin = factories.UserFactory(username="root", service=service, is_staff=True)
    admin.is_superuser = True
    admin.save()
    authenticator_for(admin)

    anonymous = client.get("/admin/", follow=True)
    assert anonymous.redirect_chain[-1][0].startswith(reverse("staff-login"))

    sign_in_unverified(client, admin)
    unverified = client.get("/admin/", follow=True)
    assert unverified.redirect_chain[-1][0].startswith(f"{CODE_STEP}?next=/admin/")
    assert client.get("/admin/common/user/").status_code == 302

    verified = Client()
    verified.force_login(admin)
    assert verified.get("/admin/").status_code == 200
    assert verified.get("/admin/common/user/").status_code == 200


def test_a_verified_member_who_is_not_admin_staff_is_refused_the_admin_site(client, assessor):
    client.force_login(assessor)
    assert client.get("/admin/", follow=True).status_code == 403


def test_the_session_api_needs_a_verified_session(client, service):
    """A session that has only the password is nobody to the API."""
    partner = factories.UserFactory(service=service, roles=[roles.PARTNER_REFERRER])
    url = reverse("api-referrals")
    sign_in_unverified(client, partner)
    assert client.post(url, {}, content_type="application/json").status_code == 401

    verified = Client()
    verified.force_login(partner)
    # Past authentication and permission: the empty referral is what is refused.
    assert verified.post(url, {}, content_type="application/json").status_code == 400


# A service admin's reset.


def _reset_url(member) -> str:
    return reverse("staff-two-factor-reset", args=[member.public_id])


def test_a_service_admin_resets_a_members_two_factor_sign_in(
    client, service_admin, assessor, caplog
):
    authenticator_for(assessor)
    two_factor.recovery_codes_issue(user=assessor)
    members_session = Client()
    members_session.force_login(assessor)
    assert _home_is_open(members_session)
    client.force_login(service_admin)
    home = client.get(reverse("staff-home"))
    assert _reset_url(assessor) in home.text

    page = client.get(_reset_url(assessor))
    assert page.status_code == 200 and "Reset two-factor sign-in" in page.text
    with caplog.at_level(logging.WARNING, logger="threshold.security"):
        response = client.post(_reset_url(assessor), {"reason": "Phone lost on the train"})

    assert response.status_code == 302
    assert "Two-factor sign-in reset" in client.get(response["Location"]).text
    assert not TOTPDevice.objects.filter(user=assessor).exists()
    assert not StaticDevice.objects.filter(user=assessor).exists()
    # Their session has ended (not merely lost its verification).
    ended = members_session.get(reverse("staff-home"))
    assert ended["Location"].startswith(reverse("staff-login"))
    # The record: ids only, never the reason's free text.
    [record] = [r for r in caplog.records if r.name == "threshold.security"]
    assert str(assessor.public_id) in record.getMessage()
    assert str(service_admin.public_id) in record.getMessage()
    assert "train" not in record.getMessage()
    # At the next sign-in, they set up again.
    fresh = Client()
    _password(fresh, assessor)
    assert fresh.get(CODE_STEP)["Location"].startswith(f"{SETUP}?")
    # The admin's own session carries on.
    assert _home_is_open(client)


def test_a_reset_needs_a_reason(client, service_admin, assessor):
    device = authenticator_for(assessor)
    client.force_login(service_admin)
    response = client.post(_reset_url(assessor), {"reason": "  "})
    assert response.status_code == 400
    assert "Enter why you are resetting" in response.text
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_a_service_admin_cannot_reset_their_own_in_the_same_step(client, service_admin):
    client.force_login(service_admin)
    device = TOTPDevice.objects.get(user=service_admin)
    page = client.get(_reset_url(service_admin))
    assert "You cannot reset your own two-factor sign-in" in page.text
    response = client.post(_reset_url(service_admin), {"reason": "new phone"})
    assert response.status_code == 400
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    with pytest.raises(two_factor.ResetRefused):
        two_factor.two_factor_reset(member=service_admin, by=service_admin, reason="x")


def test_a_service_admin_cannot_reset_another_services_staff(client, service_admin, other_staff):
    device = authenticator_for(other_staff)
    client.force_login(service_admin)
    assert client.get(_reset_url(other_staff)).status_code == 404
    assert client.post(_reset_url(other_staff), {"reason": "x"}).status_code == 404
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_only_a_service_admin_may_reset(client, coordinator, assessor):
    device = authenticator_for(assessor)
    client.force_login(coordinator)
    assert client.post(_reset_url(assessor), {"reason": "x"}).status_code == 403
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
