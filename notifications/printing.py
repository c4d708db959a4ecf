"""Print batches: gathering the letters not yet printed into one PDF, and handing it out.

Letters are stored when they are "sent" (`notifications/sending.py`); nothing leaves the
building until a member of staff prints a batch. `print_batch_create` locks the letters it
gathers (two people pressing at once make one batch; a letter is in exactly one) and reads
consent again, holding back and putting on the follow-up list a letter whose client has
since withdrawn agreement. `print_batch_download` records who first downloaded it, and when.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications import kinds, letters
from notifications.kinds import ContactOptions
from notifications.models import Letter, Notification, NotificationEvent, PrintBatch
from notifications.outbox import event_record

Status = Notification.Status
Event = NotificationEvent.Event


def print_batch_create(*, user) -> PrintBatch | None:
    """Gather every letter not yet printed into one batch (one PDF), once.

    Letters are locked while they are gathered, so two people pressing the button at once
    make one batch, and a letter is in exactly one batch. Consent is read again now: a
    letter whose client has since withdrawn agreement to letters (or to telling the GP) is
    held back and put on the follow-up list instead of being printed.
    """
    if not user.service_id:
        return None
    with transaction.atomic():
        pending = list(
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(service_id=user.service_id, batch__isnull=True, held_back_reason="")
            .select_related("notification", "notification__referral")
            .order_by("created_at", "id")
        )
        printable = []
        contacts = kinds.contacts_options(
            client_ids=list(
                {
                    letter.notification.referral.client_id
                    for letter in pending
                    if letter.notification.referral is not None
                }
            )
        )
        for letter in pending:
            reason = _letter_consent_gone(letter.notification, contacts)
            if reason:
                _letter_hold_back(letter, reason)
            else:
                printable.append(letter)
        if not printable:
            return None
        pdf, pages = letters.merge_for_printing([bytes(letter.pdf) for letter in printable])
        batch = PrintBatch.objects.create(
            service_id=user.service_id,
            created_by=user,
            letter_count=len(printable),
            page_count=pages,
            pdf=pdf,
        )
        Letter.objects.filter(pk__in=[letter.pk for letter in printable]).update(
            batch=batch, updated_at=timezone.now()
        )
        NotificationEvent.objects.bulk_create(
            [
                NotificationEvent(
                    notification_id=letter.notification_id,
                    event=Event.BATCHED,
                    detail=f"Print batch of {batch.created_at:%d %B %Y %H:%M}",
                    by=user,
                )
                for letter in printable
            ]
        )
    return batch


def _letter_consent_gone(notification: Notification, contacts: dict[int, ContactOptions]) -> str:
    if notification.referral is None or notification.recipient not in (kinds.CLIENT, kinds.GP):
        return ""
    held = kinds.restricted(notification.referral)
    if held:
        return held.replace("Not sent", "Not printed", 1)
    contact = contacts[notification.referral.client_id]
    if notification.recipient == kinds.GP and not contact.gp_share_ok:
        return "Not printed: the client withdrew agreement to us telling their GP."
    if notification.recipient == kinds.CLIENT and not contact.letters_ok:
        return "Not printed: the client withdrew agreement to letters at home."
    return ""


def _letter_hold_back(letter: Letter, reason: str) -> None:
    now = timezone.now()
    Letter.objects.filter(pk=letter.pk).update(held_back_reason=reason, updated_at=now)
    Notification.objects.filter(pk=letter.notification_id).update(
        status=Status.SUPPRESSED,
        status_reason=reason,
        closed_at=now,
        follow_up_needed=True,
        updated_at=now,
    )
    event_record(letter.notification_id, Event.HELD_BACK, reason)


def print_batch_download(*, batch: PrintBatch, user) -> bytes:
    """The batch's PDF; the first download (who and when) and every later one are recorded."""
    now = timezone.now()
    PrintBatch.objects.filter(pk=batch.pk, first_downloaded_at__isnull=True).update(
        first_downloaded_at=now, first_downloaded_by=user
    )
    PrintBatch.objects.filter(pk=batch.pk).update(download_count=F("download_count") + 1)
    return bytes(batch.pdf)
