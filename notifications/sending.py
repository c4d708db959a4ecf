"""Delivery: the state machine that takes one queued message to sent, or to a reason why not.

`notification_deliver` is what a worker runs for one row. It claims the row with a
conditional UPDATE (of two workers, exactly one wins; a claim whose lease ran out is taken
over and counted), cancels a reminder that events have overtaken, addresses the message now
(`notifications/addressing.py`), sends it through `notifications/delivery.py` and records the
outcome in one UPDATE conditional on its claim. A passing error puts the row back in the
queue with a backoff (`retry_delay`) and raises `DeliveryDeferred`; anything else fails it
onto the staff follow-up list. See docs/notifications.md for the exactly-once argument.
"""

from __future__ import annotations

import enum
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications import delivery, kinds, letters, rendering
from notifications.addressing import Undeliverable, address, render_context
from notifications.models import Letter, Notification, NotificationEvent
from notifications.outbox import event_record

logger = logging.getLogger("threshold.notifications")

Status = Notification.Status
Event = NotificationEvent.Event

# The kinds that announce an appointment: a reminder follows the latest of them.
APPOINTMENT_KINDS = ("assessment_invitation", "allocation")


class Outcome(enum.StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEFERRED = "deferred"
    NOT_CLAIMED = "not_claimed"


class DeliveryDeferred(Exception):
    """A passing problem: the row is back in the queue, due again in `retry_in` seconds."""

    def __init__(self, retry_in: int, error: str):
        super().__init__(error)
        self.retry_in = retry_in
        self.error = error


def notification_deliver(*, public_id: uuid.UUID) -> Outcome:
    """Deliver one notification, if it is due and nobody else is delivering it.

    Idempotent: a second call (a duplicate task, a redelivery after a worker died) finds the
    row claimed or finished and does nothing. Raises DeliveryDeferred after a passing error,
    with the row back in the queue for a later attempt.
    """
    notification = _claim(public_id)
    if notification is None:
        return Outcome.NOT_CLAIMED
    if isinstance(notification, Outcome):
        return notification
    try:
        return _deliver_claimed(notification)
    except DeliveryDeferred:
        raise
    except Exception as error:
        if delivery.is_transient(error):
            return _defer(notification, error)
        # Not a named passing error: retrying blindly could loop for ever. Fail it and let
        # a person look. The log has where it happened, not the error's text, which can
        # carry an address or the client's words (staff see the whole reason on the row).
        logger.error(
            "notification %s failed: unexpected %s\n%s",
            _ids(notification),
            delivery.log_summary(error),
            delivery.log_frames(error),
        )
        _close(
            notification,
            Status.FAILED,
            reason="Could not be sent because of an unexpected problem: "
            + delivery.describe(error),
            follow_up=True,
            event=Event.FAILED,
            error=delivery.describe(error),
        )
        return Outcome.FAILED


def _claim(public_id: uuid.UUID) -> Notification | Outcome | None:
    """Take the row for this worker: a conditional UPDATE on the state just read, so of two
    workers at it together exactly one succeeds. None when it is not ours to send."""
    now = timezone.now()
    row = (
        Notification.objects.select_related("service", "referral", "referral__client", "staff_user")
        .filter(public_id=public_id)
        .first()
    )
    if row is None:
        return None
    if row.status == Status.QUEUED and row.send_after <= now:
        condition = Q(status=Status.QUEUED, send_after=row.send_after)
        interrupted = False
    elif row.status == Status.SENDING and row.lease_until and row.lease_until < now:
        # The worker that held it died or hung past its lease: the attempt was interrupted.
        condition = Q(status=Status.SENDING, claim_token=row.claim_token)
        interrupted = True
    else:
        return None
    if interrupted and row.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
        # Something about this message stops workers mid-send every time: stop trying.
        closed = (
            Notification.objects.filter(pk=row.pk)
            .filter(condition)
            .update(
                status=Status.FAILED,
                status_reason=f"Delivery was interrupted {row.attempts} times; stopped trying.",
                last_error="Interrupted (worker stopped while sending)",
                lease_until=None,
                closed_at=now,
                follow_up_needed=True,
                updated_at=now,
            )
        )
        if closed:
            event_record(row.pk, Event.FAILED, "Interrupted too many times")
            return Outcome.FAILED
        return None
    claim = {
        "status": Status.SENDING,
        "claim_token": uuid.uuid4(),
        "lease_until": now + timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS),
        "attempts": row.attempts + 1,
        "updated_at": now,
    }
    if not Notification.objects.filter(pk=row.pk).filter(condition).update(**claim):
        return None  # another worker got there first
    for name, value in claim.items():
        setattr(row, name, value)
    if interrupted:
        event_record(
            row.pk, Event.INTERRUPTED, "The previous attempt stopped part-way; trying again."
        )
    return row


def _ids(notification: Notification) -> str:
    """How a notification is named in logs: ids only, never an address or free text."""
    referral = notification.referral.public_id if notification.referral_id else "-"
    channel = notification.channel or "-"
    return f"{notification.public_id} ({notification.kind}, {channel}, referral {referral})"


def _deliver_claimed(notification: Notification) -> Outcome:
    if kinds.spec(notification.kind).at_send:
        return _deliver_at_send(notification)
    irrelevant = _no_longer_needed(notification)
    if irrelevant:
        _close(notification, Status.CANCELLED, reason=irrelevant, event=Event.CANCELLED)
        return Outcome.CANCELLED
    plan = address(notification)
    if isinstance(plan, Undeliverable):
        _close(
            notification,
            Status.SUPPRESSED,
            reason=plan.reason,
            follow_up=plan.follow_up,
            event=Event.SUPPRESSED,
        )
        return Outcome.SUPPRESSED
    notification.channel = plan.channel  # for the log, should it fail
    ctx = render_context(notification, plan.recipient)
    sent: dict[str, Any] = {"channel": plan.channel, "to_address": plan.to_address}
    if plan.channel == kinds.EMAIL:
        subject, text, html = rendering.render_email(ctx)
        sent.update(subject=subject, body_text=text, body_html=html)
        sent["message_id"] = delivery.send_email(
            public_id=notification.public_id,
            to=plan.to_address,
            subject=subject,
            text=text,
            html=html,
        )
        # The narrow window: the server has the message, our commit has not happened yet.
        _mark_sent(notification, sent)
    elif plan.channel == kinds.SMS:
        body = rendering.render_sms(ctx)
        sent.update(sms_text=body)
        sent["provider_reference"] = delivery.send_sms(
            public_id=notification.public_id, phone_number=plan.to_address, body=body
        )
        _mark_sent(notification, sent)
    else:
        html = rendering.render_letter_html(ctx)
        pdf, pages = letters.render_pdf(html)
        sent.update(subject=rendering.render_subject(ctx), body_html=html)
        # Nothing leaves the building until staff print the batch, so storing the letter
        # and marking it sent in one transaction is exactly once.
        _mark_sent(notification, sent, letter=(pdf, pages))
    return Outcome.SENT


def _deliver_at_send(notification: Notification) -> Outcome:
    """A kind its app addresses now (a saved draft's resume link, a portal sign-in link): the
    app gives the address (an email, or a mobile for a text) and any one-time secret; the
    message carries the secret, the stored copy does not."""
    supplied = kinds.at_send(notification.kind, context=notification.context)
    if supplied.cancel:
        _close(notification, Status.CANCELLED, reason=supplied.cancel, event=Event.CANCELLED)
        return Outcome.CANCELLED
    if not (supplied.email or supplied.sms):
        _close(
            notification,
            Status.SUPPRESSED,
            reason="Not sent: no email address or mobile number that we were allowed to use.",
            follow_up=kinds.spec(notification.kind).follow_up_if_undeliverable,
            event=Event.SUPPRESSED,
        )
        return Outcome.SUPPRESSED

    def kept(content: str) -> str:
        for secret in supplied.secrets:
            content = content.replace(secret, kinds.SECRET_REMOVED)
        return content

    if supplied.sms:
        notification.channel = kinds.SMS
        who = rendering.Recipient(name="", address_lines=(), phone=supplied.sms)
        ctx = render_context(notification, who)
        ctx["c"] = {**ctx["c"], **supplied.values}
        body = rendering.render_sms(ctx)
        reference = delivery.send_sms(
            public_id=notification.public_id, phone_number=supplied.sms, body=body
        )
        _mark_sent(
            notification,
            {
                "channel": kinds.SMS,
                "to_address": supplied.sms,
                "provider_reference": reference,
                "sms_text": kept(body),
            },
        )
        return Outcome.SENT
    notification.channel = kinds.EMAIL
    who = rendering.Recipient(name="", address_lines=(), email=supplied.email)
    ctx = render_context(notification, who)
    ctx["c"] = {**ctx["c"], **supplied.values}
    subject, text, html = rendering.render_email(ctx)
    message_id = delivery.send_email(
        public_id=notification.public_id, to=supplied.email, subject=subject, text=text, html=html
    )

    _mark_sent(
        notification,
        {
            "channel": kinds.EMAIL,
            "to_address": supplied.email,
            "message_id": message_id,
            "subject": kept(subject),
            "body_text": kept(text),
            "body_html": kept(html),
        },
    )
    return Outcome.SENT


def _no_longer_needed(notification: Notification) -> str:
    """A reminder or check-in that events have overtaken is cancelled, not sent."""
    referral = notification.referral
    if referral is None:
        return ""
    # The registering app knows its referral's states (waiting, withdrawn, ended).
    still_needed = kinds.spec(notification.kind).no_longer_needed
    overtaken = still_needed(referral) if still_needed is not None else ""
    if overtaken:
        return overtaken
    if notification.kind == "appointment_reminder":
        source = notification.context.get("source")
        newer = (
            Notification.objects.filter(
                referral=referral, kind__in=APPOINTMENT_KINDS, appointment_at__isnull=False
            )
            .exclude(status__in=[Status.CANCELLED, Status.FAILED, Status.SUPPRESSED])
            .order_by("-created_at", "-id")
            .values_list("public_id", flat=True)
            .first()
        )
        if source and newer and str(newer) != source:
            return "Not needed: the appointment was rearranged."
        if notification.appointment_at and notification.appointment_at <= timezone.now():
            return "Not needed: the appointment time has passed."
    return ""


def _mark_sent(
    notification: Notification, sent: dict[str, Any], letter: tuple[bytes, int] | None = None
) -> None:
    """Record the outcome in one UPDATE (a letter: with its stored PDF, in one transaction).
    The row itself says when and how it went; no separate event is written."""
    if letter is None:
        _record_sent(notification, sent)
        return
    with transaction.atomic():
        if _record_sent(notification, sent):
            pdf, pages = letter
            Letter.objects.create(
                notification_id=notification.pk,
                service_id=notification.service_id,
                pdf=pdf,
                page_count=pages,
            )


def _record_sent(notification: Notification, sent: dict[str, Any]) -> bool:
    now = timezone.now()
    updated = Notification.objects.filter(
        pk=notification.pk, status=Status.SENDING, claim_token=notification.claim_token
    ).update(
        status=Status.SENT, sent_at=now, lease_until=None, last_error="", updated_at=now, **sent
    )
    if not updated:
        # Our lease ran out and another worker took over: it records the outcome (and, for
        # a letter, stores its own copy; we must not store a second).
        logger.warning("notification %s: lost its claim before recording", notification.pk)
    return bool(updated)


def _defer(notification: Notification, error: BaseException) -> Outcome:
    text = delivery.describe(error)
    attempts = notification.attempts
    if attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
        _close(
            notification,
            Status.FAILED,
            reason=f"Gave up after {attempts} attempts. Last problem: {text}",
            follow_up=True,
            event=Event.FAILED,
            error=text,
        )
        return Outcome.FAILED
    retry_in = retry_delay(attempts, urgent=notification.urgent)
    now = timezone.now()
    due = now + timedelta(seconds=retry_in)
    Notification.objects.filter(
        pk=notification.pk, status=Status.SENDING, claim_token=notification.claim_token
    ).update(
        status=Status.QUEUED,
        send_after=due,
        # The retry task is due then; the sweeper steps in only if that task is lost.
        dispatched_at=due,
        lease_until=None,
        last_error=text,
        updated_at=now,
    )
    event_record(
        notification.pk, Event.DEFERRED, f"{text} (attempt {attempts}; next in {retry_in}s)"
    )
    raise DeliveryDeferred(retry_in, text)


def retry_delay(attempts: int, *, urgent: bool = False) -> int:
    """Exponential backoff: base, 2 x base, 4 x base ..., capped. Risk alerts retry sooner."""
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    if urgent:
        base = max(1, base // 5)
    return int(min(settings.NOTIFICATIONS_RETRY_MAX_SECONDS, base * 2 ** max(0, attempts - 1)))


def _close(
    notification: Notification,
    status: str,
    *,
    reason: str,
    event: str,
    follow_up: bool = False,
    error: str = "",
) -> None:
    now = timezone.now()
    with transaction.atomic():
        Notification.objects.filter(
            pk=notification.pk, status=Status.SENDING, claim_token=notification.claim_token
        ).update(
            status=status,
            status_reason=reason,
            last_error=error or F("last_error"),
            lease_until=None,
            closed_at=now,
            follow_up_needed=follow_up,
            updated_at=now,
        )
        event_record(notification.pk, event, reason)
    level = logging.ERROR if status == Status.FAILED else logging.INFO
    # The reason can name an address or the client's safe times to call: staff see it on
    # the row; the log names the message only.
    logger.log(level, "notification %s %s", _ids(notification), status)
