"""The portal session: its own cookie and row, apart from staff sign-in; ended at once by
signing out, by running out (idle or absolute) and by withdrawing the channel signed in by."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intake.models import ConsentRecord
from intake.services import consent_withdraw
from portal.models import PortalSession, SignInLink
from portal.services import COOKIE_NAME
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.django_db


def home(client):
    return client.get(reverse("portal-home"))


def assert_sent_to_sign_in(response, reason: str):
    assert response.status_code == 302
    assert response.url == f"{reverse('portal-start')}?ended={reason}"


def test_signed_in_the_client_sees_their_referral(signed_in, referral):
    page = home(signed_in)
    assert page.status_code == 200
    assert referral.reference in page.text and "Sign out" in page.text


def test_nobody_signed_in_is_sent_to_ask_for_a_link(client):
    response = home(client)
    assert_sent_to_sign_in(response, "none")
    page = client.get(response.url)
    assert "Please sign in to see your referral" in page.text


def test_signing_out_ends_the_session_on_the_server(signed_in):
    cookie = signed_in.cookies[COOKIE_NAME].value

    response = signed_in.post(reverse("portal-sign-out"))

    assert_sent_to_sign_in(response, "signed_out")
    assert "You have signed out." in signed_in.get(response.url).text
    session = PortalSession.objects.get()
    assert session.ended_at is not None and session.end_reason == "signed_out"
    # The old cookie, copied or replayed, opens nothing.
    replay = Client()
    replay.cookies[COOKIE_NAME] = cookie
    assert_sent_to_sign_in(home(replay), "signed_out")


def test_a_session_not_used_for_30_minutes_ends(signed_in):
    PortalSession.objects.update(last_seen_at=timezone.now() - timedelta(minutes=30, seconds=1))

    response = home(signed_in)

    assert_sent_to_sign_in(response, "idle")
    assert "had not used the portal for 30 minutes" in signed_in.get(response.url).text
    assert PortalSession.objects.get().end_reason == "idle"


def test_a_session_in_use_carries_on(signed_in):
    PortalSession.objects.update(last_seen_at=timezone.now() - timedelta(minutes=29))
    assert home(signed_in).status_code == 200
    seen = PortalSession.objects.get().last_seen_at
    assert timezone.now() - seen < timedelta(seconds=5)


def test_a_session_ends_two_hours_after_signing_in_however_busy(signed_in):
    PortalSession.objects.update(created_at=timezone.now() - timedelta(hours=2))

    response = home(signed_in)

    assert_sent_to_sign_in(response, "expired")
    assert "signed in for 2 hours" in signed_in.get(response.url).text


def test_withdrawing_the_sign_in_channel_in_the_portal_ends_access_at_once(signed_in):
    cookie = signed_in.cookies[COOKIE_NAME].value
    response = signed_in.post(
        reverse("portal-choice-change", kwargs={"topic": "contact_email"}), {"decision": "no"}
    )

    assert_sent_to_sign_in(response, "channel_withdrawn")
    assert "told us not to contact you the way your sign-in link was sent" in (
        signed_in.get(response.url).text
    )
    assert_sent_to_sign_in(home(signed_in), "none")  # the cookie is gone
    replay = Client()
    replay.cookies[COOKIE_NAME] = cookie
    assert_sent_to_sign_in(home(replay), "channel_withdrawn")


def test_withdrawing_the_channel_any_other_way_ends_access_at_the_next_page(signed_in, referral):
    consent_withdraw(client=referral.client, topic=ConsentRecord.Topic.CONTACT_EMAIL, via="staff")
    assert_sent_to_sign_in(home(signed_in), "channel_withdrawn")


def test_withdrawing_another_channel_does_not_end_the_session(signed_in):
    response = signed_in.post(
        reverse("portal-choice-change", kwargs={"topic": "contact_sms"}), {"decision": "no"}
    )
    assert response.status_code == 302 and home(signed_in).status_code == 200


def test_a_staff_sign_in_never_opens_the_portal(client, coordinator):
    client.force_login(coordinator)
    assert_sent_to_sign_in(home(client), "none")


def test_a_portal_session_never_opens_a_staff_page(signed_in):
    for url in ("/staff/", "/staff/referrals/", "/staff/messages/"):
        response = signed_in.get(url)
        assert response.status_code == 302 and response.url.startswith("/staff/login/")


def test_the_portal_cookie_is_only_sent_to_the_portal(signed_in):
    cookie = signed_in.cookies[COOKIE_NAME]
    assert cookie["path"] == "/portal/" and cookie["httponly"] and cookie["samesite"] == "Lax"


def test_a_made_up_cookie_opens_nothing(client, referral):
    sign_in(Client(), referral)
    client.cookies[COOKIE_NAME] = "made-up"
    assert_sent_to_sign_in(home(client), "none")


def test_an_unknown_reason_in_the_address_shows_nothing(client):
    page = client.get(reverse("portal-start") + "?ended=<script>alert(1)</script>")
    assert page.status_code == 200 and "alert(1)" not in page.text


def test_sign_ins_are_deleted_two_years_on_by_the_retention_schedule(signed_in):
    from common.retention import retention_run

    assert retention_run()["portal.sign_ins"] == 0
    old = timezone.now() - timedelta(days=731)
    PortalSession.objects.update(created_at=old)
    SignInLink.objects.update(created_at=old)

    assert retention_run()["portal.sign_ins"] == 2
    assert not PortalSession.objects.exists() and not SignInLink.objects.exists()
