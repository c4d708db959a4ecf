"""Sent messages lose their rendered bodies after their period; the fact of sending stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import retention
from notifications.models import Notification

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _sent(referral, *, sent_at, kind="acknowledgement", status=Notification.Status.SENT):
    return Notification.objects.create(
        service=referral.service,
        referral=referral,
        kind=kind,
        recipient="duty_inbox" if kind == "risk_alert" else "client",
        occurrence=str(sent_at.timestamp()) + kind + status,
        idempotency_key=f"{kind}-{status}-{sent_at.timestamp()}",
        status=status,
        channel="email",
        to_address="client@example.org",
        subject="Your referral",
        body_text="Dear client",
        body_html="<p>Dear client</p>",
        sms_text="Hello",
        sent_at=sent_at,
    )


def test_a_sent_body_is_kept_within_its_period_and_cleared_after(referral, settings):
    settings.RETENTION_MESSAGE_BODY_DAYS = 90
    now = timezone.now()
    inside = _sent(referral, sent_at=now - timedelta(days=90) + DAY)
    past = _sent(referral, sent_at=now - timedelta(days=90) - DAY)

    assert retention.message_bodies_clear(now, 100) == 1

    inside.refresh_from_db()
    past.refresh_from_db()
    assert inside.body_text and inside.body_html and inside.sms_text
    assert (past.body_text, past.body_html, past.sms_text) == ("", "", "")
    # The fact of sending stays.
    assert past.status == Notification.Status.SENT
    assert (past.kind, past.channel, past.subject) == ("acknowledgement", "email", "Your referral")
    assert past.sent_at is not None and past.to_address
    # Idempotent.
    assert retention.message_bodies_clear(now, 100) == 0


def test_clinical_correspondence_and_unsent_messages_keep_their_bodies(referral, settings):
    now = timezone.now()
    old = now - timedelta(days=400)
    kept = [
        _sent(referral, sent_at=old, kind="gp_letter"),
        _sent(referral, sent_at=old, kind="risk_alert"),
        _sent(referral, sent_at=old, status=Notification.Status.FAILED),
    ]

    assert retention.message_bodies_clear(now, 100) == 0
    for row in kept:
        row.refresh_from_db()
        assert row.body_text == "Dear client"


def test_bodies_are_cleared_in_bounded_batches(referral):
    now = timezone.now()
    for days in range(5):
        _sent(referral, sent_at=now - timedelta(days=200 + days))

    assert retention.message_bodies_clear(now, 2) == 2
    assert retention.message_bodies_clear(now, 2) == 2
    assert retention.message_bodies_clear(now, 2) == 1
    assert retention.message_bodies_clear(now, 2) == 0
