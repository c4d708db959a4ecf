"""Delivery: consent read at the moment of sending, the preferred agreed channel first,
named passing errors retried with backoff up to a ceiling, everything else failed for a
person to follow up, and a message claimed by one worker only."""

from __future__ import annotations

import smtplib
import socket
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from intake.models import Referral
from intake.services import consent_withdraw
from notifications import delivery, letters, sending
from notifications.models import Letter, Notification, NotificationEvent
from notifications.outbox import notification_queue
from notifications.sending import DeliveryDeferred, Outcome
from tests.notifications.people import make_referral
from tests.support.services import require_postgres

pytestmark = pytest.mark.django_db

Status = Notification.Status


def deliver(notification) -> Outcome:
    return sending.notification_deliver(public_id=notification.public_id)


def reload(notification) -> Notification:
    return Notification.objects.get(pk=notification.pk)


def test_email_goes_to_the_preferred_channel_with_a_stable_message_id(referral):
    notification = notification_queue(kind="acknowledgement", referral=referral)

    assert deliver(notification) == Outcome.SENT

    [message] = mail.outbox
    assert message.to == ["sam.client@example.org"]
    assert message.extra_headers["Message-ID"] == f"<{notification.public_id}@threshold.invalid>"
    assert message.alternatives[0][1] == "text/html"
    row = reload(notification)
    assert row.status == Status.SENT and row.channel == "email" and row.attempts == 1
    assert row.message_id == message.extra_headers["Message-ID"]
    # Kept exactly as sent:
    assert row.subject == message.subject and row.body_text == message.body
    assert row.body_html == message.alternatives[0][0]
    assert row.sent_at is not None
    assert not row.events.exists()  # a clean first-time send needs no history beyond the row


def test_a_client_who_prefers_texts_gets_a_text(service, sms_outbox):
    referral = make_referral(service, agreed=("email", "sms"), preferred="sms")
    notification = notification_queue(kind="acknowledgement", referral=referral)

    deliver(notification)

    assert mail.outbox == []
    [text] = sms_outbox
    assert text["phone_number"] == "+447700900123"
    assert text["reference"] == str(notification.public_id)
    row = reload(notification)
    assert row.channel == "sms" and row.sms_text == text["body"]


def test_a_client_who_agreed_only_to_letters_gets_a_letter_for_the_print_batch(service):
    referral = make_referral(service, agreed=("letter",))
    notification = notification_queue(kind="acknowledgement", referral=referral)

    deliver(notification)

    row = reload(notification)
    assert row.status == Status.SENT and row.channel == "letter"
    assert row.to_address.startswith("Sam Rivers\n4 Orchard Row")
    letter = Letter.objects.get(notification=row)
    assert letter.batch is None and letter.page_count == 1
    assert "We have received your referral" in letters.pdf_text(bytes(letter.pdf))


def test_consent_withdrawn_after_queueing_is_respected_when_sending(referral, sms_outbox):
    notification = notification_queue(kind="acknowledgement", referral=referral)
    # Queued while email was agreed; the client then says no more email.
    consent_withdraw(client=referral.client, topic="contact_email", via="staff")

    deliver(notification)

    assert mail.outbox == []
    assert reload(notification).channel == "sms"
    assert len(sms_outbox) == 1


def test_no_agreed_channel_means_not_sent_with_a_reason_and_a_task_for_staff(service):
    referral = make_referral(service, agreed=("email",))
    notification = notification_queue(kind="acknowledgement", referral=referral)
    consent_withdraw(client=referral.client, topic="contact_email", via="staff")

    assert deliver(notification) == Outcome.SUPPRESSED

    assert mail.outbox == []
    row = reload(notification)
    assert row.status == Status.SUPPRESSED
    assert "has not agreed" in row.status_reason
    assert row.follow_up_needed and row.followed_up_at is None


def test_phone_only_asks_staff_to_call_and_says_whether_a_voicemail_is_allowed(service):
    referral = make_referral(service, agreed=("phone",), safe_contact_times="weekday evenings")
    notification = notification_queue(kind="assessment_invitation", referral=referral)

    deliver(notification)

    row = reload(notification)
    assert row.status == Status.SUPPRESSED and row.follow_up_needed
    assert "phone calls only" in row.status_reason
    assert "Do not leave a voicemail" in row.status_reason
    assert "weekday evenings" in row.status_reason


def test_an_ending_letter_is_never_sent_by_text(service, sms_outbox):
    referral = make_referral(service, agreed=("sms",))
    notification = notification_queue(kind="ending", referral=referral)

    deliver(notification)

    assert sms_outbox == []
    row = reload(notification)
    assert row.status == Status.SUPPRESSED
    assert "email or letter" in row.status_reason and "text message" in row.status_reason


def test_gp_letter_needs_the_clients_agreement(service):
    referral = make_referral(service, agreed=("email",))
    notification = notification_queue(kind="gp_letter", referral=referral, recipient="gp")

    deliver(notification)

    row = reload(notification)
    assert row.status == Status.SUPPRESSED
    assert "not agreed to us telling their GP" in row.status_reason
    assert not row.follow_up_needed  # the right outcome, nothing to chase
    assert not Letter.objects.exists()


def test_gp_letter_with_agreement_goes_by_post_to_the_practice(service):
    referral = make_referral(service, agreed=("gp",))
    notification = notification_queue(kind="gp_letter", referral=referral, recipient="gp")

    deliver(notification)

    row = reload(notification)
    assert row.status == Status.SENT and row.channel == "letter"
    assert row.to_address.startswith("Orchard Surgery\n1 High Street")
    text = letters.pdf_text(bytes(row.letter.pdf))
    assert "Dear colleague" in text and "Sam Rivers" in text


def test_risk_alert_goes_to_the_duty_inbox_and_never_to_the_client(service, sms_outbox):
    referral = make_referral(service, agreed=("email", "sms", "letter"), preferred="sms")
    alert = notification_queue(
        kind="risk_alert",
        referral=referral,
        recipient="duty_inbox",
        context={"reasons": ["Answered 'no' to 'Are you safe right now?'"]},
    )

    deliver(alert)

    [message] = mail.outbox
    assert message.to == [service.duty_inbox_email]
    assert "URGENT" in message.subject
    assert sms_outbox == [] and not Letter.objects.exists()
    assert reload(alert).to_address == service.duty_inbox_email


def test_delivering_twice_sends_once(referral):
    notification = notification_queue(kind="acknowledgement", referral=referral)

    assert deliver(notification) == Outcome.SENT
    assert deliver(notification) == Outcome.NOT_CLAIMED

    assert len(mail.outbox) == 1
    assert reload(notification).attempts == 1


def test_passing_errors_are_retried_with_backoff_then_fail_at_the_ceiling(
    referral, settings, monkeypatch
):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30

    def disconnected(**kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(delivery, "send_email", disconnected)
    notification = notification_queue(kind="acknowledgement", referral=referral)

    waits = []
    for _ in range(2):
        with pytest.raises(DeliveryDeferred) as deferred:
            deliver(notification)
        waits.append(deferred.value.retry_in)
        row = reload(notification)
        assert row.status == Status.QUEUED and "unexpectedly closed" in row.last_error
        # Not due yet: a redelivered task does nothing until the backoff has passed.
        assert deliver(notification) == Outcome.NOT_CLAIMED
        Notification.objects.filter(pk=row.pk).update(send_after=timezone.now())

    assert deliver(notification) == Outcome.FAILED
    assert waits == [30, 60]
    row = reload(notification)
    assert row.status == Status.FAILED and row.attempts == 3
    assert "Gave up after 3 attempts" in row.status_reason
    assert row.follow_up_needed
    assert deliver(notification) == Outcome.NOT_CLAIMED  # no endless loop


def test_risk_alerts_retry_sooner(settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 900
    assert [sending.retry_delay(n) for n in (1, 2, 3, 6, 9)] == [30, 60, 120, 900, 900]
    assert sending.retry_delay(1, urgent=True) == 6


def test_an_smtp_server_refusing_permanently_fails_at_once(referral, email_to_sink):
    email_to_sink.rcpt_reply = "550 5.1.1 No such mailbox here"
    notification = notification_queue(kind="acknowledgement", referral=referral)

    assert deliver(notification) == Outcome.FAILED

    row = reload(notification)
    assert row.status == Status.FAILED and row.attempts == 1
    assert "550" in row.last_error and "No such mailbox" in row.last_error
    assert row.follow_up_needed


def test_an_smtp_server_saying_try_later_is_retried(referral, email_to_sink):
    email_to_sink.data_reply = "451 4.3.0 Mail server busy, try again later"
    notification = notification_queue(kind="acknowledgement", referral=referral)

    with pytest.raises(DeliveryDeferred):
        deliver(notification)

    row = reload(notification)
    assert row.status == Status.QUEUED and "451" in row.last_error


def test_an_smtp_server_that_is_down_is_retried_then_handed_to_staff(referral, settings):
    """Nothing listening on the mail port: each attempt is deferred with the backoff, and at
    the retry ceiling the message fails and is on the follow-up list; never lost, no loop."""
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    notification = notification_queue(kind="acknowledgement", referral=referral)

    for attempt in (1, 2):
        with pytest.raises(DeliveryDeferred) as deferred:
            deliver(notification)
        row = reload(notification)
        assert row.status == Status.QUEUED and row.attempts == attempt
        assert deferred.value.retry_in == sending.retry_delay(attempt)
        Notification.objects.filter(pk=row.pk).update(send_after=timezone.now())  # time passes

    assert deliver(notification) == Outcome.FAILED
    row = reload(notification)
    assert row.follow_up_needed and "Gave up after 3 attempts" in row.status_reason
    assert "Connection refused" in row.last_error


def test_a_real_smtp_server_receives_the_message_once(referral, email_to_sink):
    notification = notification_queue(kind="acknowledgement", referral=referral)

    deliver(notification)

    [received] = email_to_sink.received()
    assert received["Message-ID"] == f"<{notification.public_id}@threshold.invalid>"
    assert received["Subject"] == "We have received your referral"
    assert received.is_multipart()


def test_an_unexpected_error_fails_the_message_without_retrying(referral, monkeypatch):
    def broken(ctx):
        raise KeyError("template context went missing")

    monkeypatch.setattr("notifications.rendering.render_email", broken)
    notification = notification_queue(kind="acknowledgement", referral=referral)

    assert deliver(notification) == Outcome.FAILED

    row = reload(notification)
    assert row.status == Status.FAILED and row.follow_up_needed
    assert "unexpected problem" in row.status_reason


def test_an_interrupted_attempt_is_taken_over_once_its_lease_has_run_out(referral):
    notification = notification_queue(kind="acknowledgement", referral=referral)
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.SENDING,
        attempts=1,
        lease_until=timezone.now() - timedelta(seconds=1),
    )

    assert deliver(notification) == Outcome.SENT

    row = reload(notification)
    assert row.attempts == 2
    assert row.events.filter(event=NotificationEvent.Event.INTERRUPTED).exists()
    assert len(mail.outbox) == 1


def test_a_live_lease_is_left_alone(referral):
    notification = notification_queue(kind="acknowledgement", referral=referral)
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.SENDING, attempts=1, lease_until=timezone.now() + timedelta(minutes=2)
    )

    assert deliver(notification) == Outcome.NOT_CLAIMED
    assert mail.outbox == []


def test_a_message_interrupted_again_and_again_is_failed_not_looped(referral, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    notification = notification_queue(kind="acknowledgement", referral=referral)
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.SENDING, attempts=3, lease_until=timezone.now() - timedelta(seconds=1)
    )

    assert deliver(notification) == Outcome.FAILED

    row = reload(notification)
    assert row.status == Status.FAILED and "interrupted 3 times" in row.status_reason
    assert mail.outbox == []


def test_a_check_in_for_someone_no_longer_waiting_is_cancelled_not_sent(referral):
    notification = notification_queue(kind="waiting_checkin", referral=referral)
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.ALLOCATED)

    assert deliver(notification) == Outcome.CANCELLED

    assert mail.outbox == []
    row = reload(notification)
    assert row.status == Status.CANCELLED and "No longer waiting" in row.status_reason
    assert not row.follow_up_needed


def test_a_text_too_long_for_two_parts_goes_by_the_next_agreed_channel(service, sms_outbox):
    referral = make_referral(service, agreed=("sms", "email"), preferred="sms")
    notification = notification_queue(
        kind="assessment_invitation",
        referral=referral,
        context={
            "appointment_at": timezone.now() + timedelta(days=7),
            "location": "The Annexe, " + "Long Corridor, " * 20 + "Millbrook",
        },
    )

    deliver(notification)

    assert sms_outbox == []
    assert reload(notification).channel == "email"


@pytest.mark.services
def test_two_workers_delivering_the_same_message_at_once_send_it_once(
    transactional_db, service, email_to_sink
):
    require_postgres()
    referral = make_referral(service, agreed=("email",))
    notification = notification_queue(kind="acknowledgement", referral=referral)
    email_to_sink.delay_before_accept = 0.5  # both are in flight at the same time
    outcomes = []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            outcomes.append(deliver(notification))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == [Outcome.NOT_CLAIMED, Outcome.SENT]
    assert email_to_sink.message_ids() == {f"<{notification.public_id}@threshold.invalid>": 1}


def test_one_smtp_connection_carries_several_messages_and_an_error_starts_afresh(
    service, email_to_sink
):
    notifications = [
        notification_queue(kind="acknowledgement", referral=make_referral(service))
        for _ in range(3)
    ]
    for notification in notifications:
        deliver(notification)
    assert len(email_to_sink.received()) == 3
    assert email_to_sink.connections == 1  # no new handshake per message

    email_to_sink.rcpt_reply = "550 5.1.1 No such mailbox"
    refused = notification_queue(kind="acknowledgement", referral=make_referral(service))
    assert deliver(refused) == Outcome.FAILED
    email_to_sink.rcpt_reply = None
    deliver(notification_queue(kind="acknowledgement", referral=make_referral(service)))

    assert email_to_sink.connections == 2
    assert len(email_to_sink.received()) == 4
