"""Notifications' part of the retention schedule (common.retention; docs/security.md,
"Retention").

`notifications.message_bodies`: a message sent more than `RETENTION_MESSAGE_BODY_DAYS`
ago keeps the fact of sending (kind, recipient, channel, address, subject, times, status
and its events) and loses its rendered body: the email's text and HTML and the text
message. The kinds in `RETENTION_MESSAGE_BODY_KEEP_KINDS` (clinical correspondence such as
the letter to the GP, the ending letter and risk alerts) keep their bodies, as part of the
clinical record, for as long as the referral is kept. Messages not sent (queued, failed,
suppressed, cancelled) are left alone: staff may still need to act on them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from common import retention
from notifications.models import Notification


def _bodies_due(now: datetime):
    cutoff = now - timedelta(days=settings.RETENTION_MESSAGE_BODY_DAYS)
    return (
        Notification.objects.filter(status=Notification.Status.SENT, sent_at__lt=cutoff)
        .exclude(kind__in=settings.RETENTION_MESSAGE_BODY_KEEP_KINDS)
        .filter(~Q(body_text="") | ~Q(body_html="") | ~Q(sms_text=""))
    )


def message_bodies_clear(now: datetime, batch_size: int) -> int:
    ids = list(_bodies_due(now).order_by("pk").values_list("pk", flat=True)[:batch_size])
    # Re-checked in the UPDATE itself, so a second run at once clears nothing twice.
    return _bodies_due(now).filter(pk__in=ids).update(body_text="", body_html="", sms_text="")


def notifications_delete_for_referrals(*, referral_ids: list[int]) -> int:
    """For intake, when a referral that never became a clinical record reaches the end of
    its period: its messages go with it. Inside the caller's transaction."""
    rows = Notification.objects.filter(referral_id__in=referral_ids)
    # A resend points at the message it repeats; both go, so unlink them first.
    rows.exclude(resend_of=None).update(resend_of=None)
    Notification.objects.filter(resend_of__referral_id__in=referral_ids).update(resend_of=None)
    return rows.delete()[0]


def register() -> None:
    retention.register(
        name="notifications.message_bodies",
        action="message bodies cleared",
        remove=message_bodies_clear,
    )
