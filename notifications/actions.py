"""Staff actions on one message: cancel it, send it again, record what was done about it.

Each is atomic and conditional on the row's state, so two people acting at once do one
thing: a message is cancelled only while still queued, a resend is a new row whose key two
simultaneous presses compute alike, and a follow-up is recorded once. What does not apply
now raises `NotificationActionError`, whose words the page shows. Print batches, the other
staff action, are `notifications/printing.py`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, NotificationEvent
from notifications.outbox import event_record, idempotency_key, insert

Status = Notification.Status
Event = NotificationEvent.Event


class NotificationActionError(Exception):
    """A staff action that does not apply to this notification now (shown to the user)."""


@transaction.atomic
def notification_cancel(*, notification: Notification, user, reason: str = "") -> Notification:
    """Cancel a message that has not gone yet. One being sent cannot be called back."""
    now = timezone.now()
    cancelled = Notification.objects.filter(pk=notification.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED,
        status_reason=f"Cancelled by staff. {reason}".strip(),
        closed_at=now,
        updated_at=now,
    )
    if not cancelled:
        raise NotificationActionError("Only a message that is still queued can be cancelled.")
    event_record(notification.pk, Event.CANCELLED, reason or "Cancelled by staff", by=user)
    notification.refresh_from_db()
    return notification


@transaction.atomic
def notification_resend(*, notification: Notification, user, reason: str) -> Notification:
    """Send a message again, as a new notification that records who asked and why.

    Consent is checked again when the new one is sent. Two people pressing "resend" at the
    same moment make one new message, not two (they compute the same key).
    """
    reason = (reason or "").strip()
    if not reason:
        raise NotificationActionError("Say why the message is being sent again.")
    if notification.is_open:
        raise NotificationActionError("This message has not finished yet; it cannot be resent.")
    original = notification.resend_of or notification
    number = original.resends.count() + 1
    occurrence = f"{original.occurrence}/resend-{number}"
    key = idempotency_key(
        kind=original.kind,
        referral=original.referral,
        recipient=original.recipient,
        occurrence=occurrence,
        staff_user=original.staff_user,
    )
    resent = insert(
        Notification(
            service_id=original.service_id,
            referral=original.referral,
            staff_user=original.staff_user,
            kind=original.kind,
            recipient=original.recipient,
            occurrence=occurrence[:100],
            idempotency_key=key,
            context=original.context,
            urgent=original.urgent,
            send_after=timezone.now(),
            appointment_at=original.appointment_at,
            resend_of=original,
            requested_by=user,
            request_reason=reason,
        )
    )
    event_record(notification.pk, Event.RESEND, reason, by=user)
    _follow_up_resolve(notification, user=user, note=f"Resent: {reason}")
    return resent


@transaction.atomic
def notification_follow_up_record(*, notification: Notification, user, note: str) -> Notification:
    """Record what a person did about a failed or suppressed message (e.g. phoned)."""
    note = (note or "").strip()
    if not note:
        raise NotificationActionError("Say what was done.")
    if not _follow_up_resolve(notification, user=user, note=note):
        raise NotificationActionError("This message is not waiting for follow-up.")
    notification.refresh_from_db()
    return notification


def _follow_up_resolve(notification: Notification, *, user, note: str) -> bool:
    now = timezone.now()
    done = Notification.objects.filter(
        pk=notification.pk, follow_up_needed=True, followed_up_at__isnull=True
    ).update(followed_up_at=now, followed_up_by=user, follow_up_note=note, updated_at=now)
    if done:
        event_record(notification.pk, Event.FOLLOWED_UP, note, by=user)
    return bool(done)
