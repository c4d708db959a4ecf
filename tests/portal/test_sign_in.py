"""Getting in: a sign-in link sent only to a channel the client agreed to, through the outbox,
single use and short-lived; the same answer whether or not anything matched; rate limits per
address and per reference; a clear page for every bad link, never a 500."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intake.services import consent_withdraw
from notifications import actions, sending
from notifications.models import Notification
from portal.models import PortalSession, SignInLink
from tests.notifications.people import make_referral
from tests.portal.conftest import ask, deliver_links, emailed_token, sign_in, token_from

pytestmark = pytest.mark.django_db

Status = Notification.Status


def normalised(html: str) -> str:
    """A page without what differs on every response anyway (the CSP nonce, CSRF token)."""
    html = re.sub(r'nonce="[^"]*"', 'nonce=""', html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def answer(client: Client, *args, **kwargs) -> tuple[int, str, str]:
    response = ask(client, *args, **kwargs)
    page = client.get(response.url) if response.status_code == 302 else response
    return response.status_code, response.get("Location", ""), normalised(page.text)


def test_a_matching_request_sends_a_link_by_email_through_the_outbox(client, referral):
    response = ask(client, referral)

    assert response.status_code == 302 and response.url == reverse("portal-link-sent")
    [row] = Notification.objects.filter(kind="portal_sign_in_link")
    assert row.referral == referral and row.status == Status.QUEUED
    assert deliver_links() == [sending.Outcome.SENT]
    [message] = mail.outbox
    assert message.to == ["sam.client@example.org"]
    token = emailed_token()
    link = SignInLink.objects.get()
    # Only the hash is kept; the outbox keeps the message with the token removed.
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row.refresh_from_db()
    assert row.status == Status.SENT and row.channel == "email"
    assert token not in row.body_text + row.body_html and "[code removed]" in row.body_text
    assert link.expires_at - link.issued_at == timedelta(minutes=30)


def test_no_table_holds_the_token(client, referral):
    ask(client, referral)
    deliver_links()
    token = emailed_token()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE "
            "table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb')"
        )
        columns = cursor.fetchall()
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s', [f"%{token}%"]
            )
            assert cursor.fetchone()[0] == 0, f"{table}.{column} holds the token"


def test_a_link_goes_by_text_when_the_client_chooses_texts(client, referral, sms_outbox):
    sign_in(client, referral, channel="sms", sms_outbox=sms_outbox)

    assert mail.outbox == []
    [text] = sms_outbox
    assert text["phone_number"] == "+447700900123"
    row = Notification.objects.get(kind="portal_sign_in_link")
    assert row.channel == "sms" and "[code removed]" in row.sms_text
    assert PortalSession.objects.get().channel == "sms"


def test_the_answer_is_the_same_whatever_was_found(service, sms_outbox):
    referral = make_referral(service, agreed=("email",), preferred="email")
    matching = answer(Client(), referral)
    unknown = answer(Client(), "TH-2345-6789")
    wrong_dob = answer(Client(), referral, dob=date(1991, 5, 17))
    not_agreed = answer(Client(), referral, channel="sms")  # has a mobile, never agreed to texts
    lowercase_unknown = answer(Client(), "th-bcdf-ghjk")

    assert matching == unknown == wrong_dob == not_agreed == lowercase_unknown
    assert matching[0] == 302
    # Only the first one sent anything.
    assert Notification.objects.filter(kind="portal_sign_in_link").count() == 1
    deliver_links()
    assert len(mail.outbox) == 1 and sms_outbox == []


def test_a_link_is_never_sent_by_a_channel_withdrawn_before_sending(client, referral):
    ask(client, referral)
    consent_withdraw(client=referral.client, topic="contact_email", via="staff")

    assert deliver_links() == [sending.Outcome.SUPPRESSED]
    assert mail.outbox == []
    row = Notification.objects.get(kind="portal_sign_in_link")
    assert row.status == Status.SUPPRESSED and not row.follow_up_needed
    # And never by another channel instead.
    assert row.channel == ""


def test_the_link_works_once(client, referral):
    token = sign_in(client, referral)

    again = Client().post(reverse("portal-sign-in", kwargs={"token": token}))

    assert again.status_code == 410
    assert "already been used" in again.text and "Ask for a new link" in again.text
    assert PortalSession.objects.count() == 1


def test_opening_the_link_does_not_spend_it(client, referral):
    ask(client, referral)
    deliver_links()
    token = emailed_token()
    url = reverse("portal-sign-in", kwargs={"token": token})

    for _ in range(3):  # a mail scanner, then the person, then a refresh
        page = Client().get(url)
        assert page.status_code == 200 and "Sign in" in page.text

    assert client.post(url).status_code == 302


def test_an_expired_link_says_so(client, referral):
    ask(client, referral)
    deliver_links()
    token = emailed_token()
    SignInLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    for response in (
        client.get(reverse("portal-sign-in", kwargs={"token": token})),
        client.post(reverse("portal-sign-in", kwargs={"token": token})),
    ):
        assert response.status_code == 410
        assert "has expired" in response.text and "30 minutes" in response.text
    assert not PortalSession.objects.exists()


def test_a_link_for_a_channel_withdrawn_after_sending_no_longer_signs_in(client, referral):
    ask(client, referral)
    deliver_links()
    consent_withdraw(client=referral.client, topic="contact_email", via="staff")

    response = client.post(reverse("portal-sign-in", kwargs={"token": emailed_token()}))

    assert response.status_code == 410 and "told us not to contact you" in response.text
    assert not PortalSession.objects.exists()


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "A" * 43,
        "x" * 5000,
        "%00",
        "😀😀",
        "..%2F..%2Fstaff",
        "' OR 1=1 --",
    ],
)
def test_a_tampered_link_gets_a_clear_page_never_a_500(client, referral, token):
    ask(client, referral)
    deliver_links()
    for method in (client.get, client.post):
        response = method(f"/portal/sign-in/{token}/")
        assert response.status_code in (404, 410)
        assert "cannot be used" in response.text
        assert "Rivers" not in response.text and referral.reference not in response.text


def test_a_resend_issues_a_new_link_and_the_old_one_stops_working(client, referral, coordinator):
    ask(client, referral)
    deliver_links()
    first = emailed_token()
    row = Notification.objects.get(kind="portal_sign_in_link")
    resent = actions.notification_resend(notification=row, user=coordinator, reason="Asked again")
    sending.notification_deliver(public_id=resent.public_id)
    second = token_from(mail.outbox[-1].body)

    assert first != second
    assert client.post(reverse("portal-sign-in", kwargs={"token": first})).status_code == 404
    assert client.post(reverse("portal-sign-in", kwargs={"token": second})).status_code == 302


def test_a_request_answered_by_a_form_error_keeps_what_was_typed(client, referral):
    response = client.post(
        reverse("portal-start"),
        {
            "reference": "TH-NOPE",
            "date_of_birth_day": "31",
            "date_of_birth_month": "2",
            "date_of_birth_year": "1990",
        },
    )

    assert response.status_code == 400
    page = response.text
    assert "There is a problem" in page
    assert "Enter your referral reference as it was given to you" in page
    assert "Date of birth must be a real date" in page
    assert "Select email or text message" in page
    assert 'value="TH-NOPE"' in page and 'value="31"' in page
    assert not Notification.objects.filter(kind="portal_sign_in_link").exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"reference": "\x00"},
        {"reference": "TH-2345-6789", "date_of_birth_year": "99999999999999999999"},
        {"reference": "TH-2345-6789", "channel": "letter"},
        {"reference": "x" * 10000},
    ],
)
def test_hostile_requests_get_form_errors_not_500s(client, fields):
    data = {
        "reference": "",
        "date_of_birth_day": "1",
        "date_of_birth_month": "1",
        "date_of_birth_year": "1990",
        "channel": "email",
        **fields,
    }
    assert client.post(reverse("portal-start"), data).status_code == 400


def test_requests_are_limited_per_address(settings, referral, service):
    settings.RATE_PORTAL_PER_ADDRESS = "2/h"
    other = make_referral(service, agreed=("email",), email="other@example.org")
    browser = Client(REMOTE_ADDR="198.51.100.7")
    assert ask(browser, referral).status_code == 302
    assert ask(browser, "TH-2345-6789").status_code == 302

    refused = ask(browser, other)

    assert refused.status_code == 429
    assert "Too many tries" in refused.text and int(refused["Retry-After"]) > 0
    assert "116 123" in refused.text and "NHS 111" in refused.text
    assert Notification.objects.filter(kind="portal_sign_in_link").count() == 1
    # Another address is not held back.
    assert ask(Client(REMOTE_ADDR="198.51.100.8"), other).status_code == 302


def test_requests_are_limited_per_reference_whether_or_not_it_exists(settings, referral):
    settings.RATE_PORTAL_PER_REFERENCE = "2/h"
    for reference in (referral.reference, "TH-2345-6789"):
        for n in range(2):
            assert ask(Client(REMOTE_ADDR=f"198.51.100.{n + 10}"), reference).status_code == 302
        refused = ask(Client(REMOTE_ADDR="198.51.100.99"), reference)
        assert refused.status_code == 429
    assert Notification.objects.filter(kind="portal_sign_in_link").count() == 2


def test_sign_ins_are_limited_per_address(settings, referral):
    settings.RATE_PORTAL_SIGN_IN_PER_ADDRESS = "3/h"
    browser = Client(REMOTE_ADDR="198.51.100.20")
    for n in range(3):
        assert browser.post(f"/portal/sign-in/guess-{n}/").status_code == 404

    refused = browser.post("/portal/sign-in/guess-4/")

    assert refused.status_code == 429 and "Too many tries" in refused.text


def test_another_services_client_is_found_by_reference_too(client, other_service):
    """One portal serves every service on the site: the reference says which."""
    referral = make_referral(other_service, agreed=("email",))
    ask(client, referral)
    assert deliver_links() == [sending.Outcome.SENT]
    assert mail.outbox[0].to == ["sam.client@example.org"]
