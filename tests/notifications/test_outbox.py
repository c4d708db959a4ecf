"""Queueing: a row in the caller's transaction, one per key, published only on commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications import kinds, sweeps
from notifications.models import Notification
from notifications.outbox import notification_queue
from notifications.publisher import publisher
from tests.notifications.people import make_referral

pytestmark = pytest.mark.django_db


def test_queueing_writes_a_queued_row_keyed_by_kind_referral_and_occurrence(referral):
    with transaction.atomic():
        notification = notification_queue(kind="acknowledgement", referral=referral)

    row = Notification.objects.get(pk=notification.pk)
    assert row.status == Notification.Status.QUEUED
    assert row.idempotency_key == f"acknowledgement:{referral.public_id}:1"
    assert row.service_id == referral.service_id
    assert row.recipient == "client"
    assert row.attempts == 0 and row.channel == ""  # the channel is chosen when it is sent


def test_the_same_key_twice_returns_the_existing_row_and_dispatches_once(
    referral, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        first = notification_queue(kind="acknowledgement", referral=referral)
        second = notification_queue(
            kind="acknowledgement", referral=referral, context={"ignored": True}
        )

    assert first.pk == second.pk
    assert second.context == {}  # the existing row is returned unchanged
    assert Notification.objects.count() == 1
    assert len(callbacks) == 1


def test_delivery_is_published_only_when_the_callers_transaction_commits(
    referral, django_capture_on_commit_callbacks, monkeypatch
):
    published = []
    monkeypatch.setattr(
        "notifications.tasks.dispatch", lambda public_id, urgent=False: published.append(public_id)
    )
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notification = notification_queue(kind="acknowledgement", referral=referral)
        assert published == []  # nothing leaves while the transaction is open
    assert publisher.flush()
    assert published == [notification.public_id]  # once the capture plays the commit


def test_a_rolled_back_caller_leaves_no_row_and_publishes_nothing(
    referral, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notification_queue(kind="acknowledgement", referral=referral)
        raise RuntimeError("the referral could not be saved")

    assert callbacks == []
    assert not Notification.objects.exists()


def test_a_risk_alert_can_never_be_addressed_to_the_client(referral):
    with pytest.raises(ValueError, match="never to the client"):
        notification_queue(kind="risk_alert", referral=referral, recipient="client")
    # And the database refuses it too, whatever code path tries.
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            service=referral.service,
            referral=referral,
            kind="risk_alert",
            recipient="client",
            occurrence="1",
            idempotency_key="sneaky",
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "pigeon_post"}, "unknown notification kind"),
        ({"kind": "gp_letter", "recipient": "client"}, "goes to gp"),
        ({"kind": "acknowledgement", "occurrence": ""}, "occurrence"),
        ({"kind": "acknowledgement", "context": {"when": object()}}, "JSON serializable"),
    ],
)
def test_bad_requests_fail_in_the_caller_not_later_in_a_worker(referral, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        notification_queue(referral=referral, **kwargs)


def test_a_risk_alert_to_a_named_member_of_staff_is_its_own_message(referral, assessor):
    to_inbox = notification_queue(kind="risk_alert", referral=referral, recipient="duty_inbox")
    to_person = notification_queue(
        kind="risk_alert", referral=referral, recipient="staff", staff_user=assessor
    )

    assert to_inbox.pk != to_person.pk
    assert to_inbox.urgent and to_person.urgent
    assert to_inbox.idempotency_key == f"risk_alert:{referral.public_id}:1"


def test_a_message_scheduled_for_later_waits_for_the_sweeper(
    referral, django_capture_on_commit_callbacks, monkeypatch
):
    published = []
    monkeypatch.setattr(
        "notifications.tasks.dispatch", lambda public_id, urgent=False: published.append(public_id)
    )
    later = timezone.now() + timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = notification_queue(
            kind="questionnaire_reminder", referral=referral, send_after=later
        )

    assert callbacks == []
    assert sweeps.outbox_sweep() == 0
    assert sweeps.outbox_sweep(now=later + timedelta(seconds=1)) == 1
    assert published == [notification.public_id]


def test_appointment_time_is_kept_for_reminders(referral):
    at = timezone.now() + timedelta(days=5)

    notification = notification_queue(
        kind="assessment_invitation", referral=referral, context={"appointment_at": at}
    )

    notification.refresh_from_db()
    assert notification.appointment_at == at
    stored = kinds.parse_context(notification.context)["appointment_at"]
    assert abs(stored - at) < timedelta(milliseconds=1)


@pytest.mark.skipif(not settings.EMBEDDED, reason="embedded mode only; workers cover the rest")
def test_embedded_mode_delivers_in_process_once_the_transaction_commits(
    service, django_capture_on_commit_callbacks
):
    referral = make_referral(service, agreed=("email",))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notification_queue(kind="acknowledgement", referral=referral)

    assert len(mail.outbox) == 1
    assert Notification.objects.get().status == Notification.Status.SENT
