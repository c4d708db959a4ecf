"""Fixtures for the portal tests: a client who agreed to email and texts, and helpers that
ask for a sign-in link, send it through the outbox as a worker would, and sign in."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

import django_ratelimit.core
import pytest
from django.core import mail
from django.urls import reverse

from notifications import sending, sms
from notifications.models import Notification
from portal.services import COOKIE_NAME
from tests.notifications.people import make_referral

DOB = date(1990, 5, 17)
LINK = re.compile(r"https?://[^\s\"<]+/portal/sign-in/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def _clock_held_still(monkeypatch):
    """The rate limits' counting windows are fixed ones: hold their clock still."""
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: 1_800_000_000))


@pytest.fixture
def sms_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def referral(service):
    """Sam, who agreed to email, texts and letters, and prefers email."""
    return make_referral(service, agreed=("email", "sms", "letter"), preferred="email")


def ask(client, referral_or_reference, *, dob: date = DOB, channel: str = "email", **extra):
    reference = getattr(referral_or_reference, "reference", referral_or_reference)
    return client.post(
        reverse("portal-start"),
        {
            "reference": reference,
            "date_of_birth_day": str(dob.day),
            "date_of_birth_month": str(dob.month),
            "date_of_birth_year": str(dob.year),
            "channel": channel,
        },
        **extra,
    )


def deliver_links() -> list:
    """Send every queued sign-in link, as a worker would."""
    queued = Notification.objects.filter(
        kind="portal_sign_in_link", status=Notification.Status.QUEUED
    )
    return [sending.notification_deliver(public_id=row.public_id) for row in queued]


def token_from(text: str) -> str:
    [token] = LINK.findall(text)
    return token


def emailed_token() -> str:
    return token_from(mail.outbox[-1].body)


def sign_in(client, referral, *, channel: str = "email", sms_outbox=None) -> str:
    """Ask for a link, send it, follow it: the client is signed in. The token is returned."""
    assert ask(client, referral, channel=channel).status_code == 302
    deliver_links()
    token = token_from(sms_outbox[-1]["body"]) if channel == "sms" else emailed_token()
    response = client.post(reverse("portal-sign-in", kwargs={"token": token}))
    assert response.status_code == 302 and response.url == reverse("portal-home")
    assert client.cookies[COOKIE_NAME].value
    return token


@pytest.fixture
def signed_in(client, referral):
    sign_in(client, referral)
    return client
