"""Sweeps run by beat: the outbox's safety net, and messages that come from time passing.

`outbox_sweep` publishes again what the broker may have lost (rows due but left queued,
rows whose sender's lease ran out) and, after too many re-publishes without the message
going, fails it onto the staff follow-up list, so a stuck risk alert reaches a person.
`waiting_checkins_queue` (every 6 weeks of waiting) and `appointment_reminders_queue`
(about 2 days before an announced appointment) queue through the outbox like any caller;
their keys make a second sweep queue nothing new.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone

from notifications import kinds, tasks
from notifications.models import Notification, NotificationEvent
from notifications.outbox import event_record, idempotency_key, notification_queue
from notifications.sending import APPOINTMENT_KINDS

logger = logging.getLogger("threshold.notifications")

Status = Notification.Status
Event = NotificationEvent.Event


def outbox_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Publish again what the broker may have lost: rows due but left queued well after
    their last dispatch, and rows whose sender's lease ran out. Returns how many.

    A row whose lease ran out is picked up at every sweep (at most once per re-dispatch
    delay) until it is sent, fails or is handed to staff: its re-publish can be lost too
    (Redis restarted without persistence, the worker killed again). Each re-publish is
    recorded; after NOTIFICATIONS_MAX_ATTEMPTS of them without the message going, the
    sweeper stops, fails it and puts it on the follow-up list, so a stuck risk alert
    reaches a person."""
    now = now or timezone.now()
    stale_dispatch = now - timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_SECONDS)
    not_recently = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale_dispatch)
    due = Q(status=Status.QUEUED, send_after__lte=now) & not_recently
    abandoned = Q(status=Status.SENDING, lease_until__lt=now) & (
        not_recently | Q(dispatched_at__lt=F("lease_until"))
    )
    rows = list(
        Notification.objects.filter(due | abandoned)
        .order_by("-urgent", "send_after", "id")
        .values_list("pk", "public_id", "urgent", "status", "lease_until")[:limit]
    )
    if not rows:
        return 0
    stuck = {pk: lease for pk, _, _, status, lease in rows if status == Status.SENDING}
    republished = dict(
        NotificationEvent.objects.filter(notification_id__in=list(stuck), event=Event.REPUBLISHED)
        .values("notification_id")
        .annotate(n=Count("id"))
        .values_list("notification_id", "n")
    )
    given_up = {pk for pk in stuck if republished.get(pk, 0) >= settings.NOTIFICATIONS_MAX_ATTEMPTS}
    for pk in given_up:
        _abandoned_hand_over(pk, lease_until=stuck[pk], times=republished[pk], now=now)
    to_publish = [row for row in rows if row[0] not in given_up]
    if not to_publish:
        return 0
    Notification.objects.filter(pk__in=[row[0] for row in to_publish]).update(dispatched_at=now)
    NotificationEvent.objects.bulk_create(
        [
            NotificationEvent(
                notification_id=pk,
                at=now,
                event=Event.REPUBLISHED,
                detail="The attempt in progress stopped and its lease ran out; published again.",
            )
            for pk, *_ in to_publish
            if pk in stuck
        ]
    )
    for _, public_id, urgent, _, _ in to_publish:
        tasks.dispatch(public_id, urgent=urgent)
    logger.info("outbox sweep: dispatched %d notifications", len(to_publish))
    return len(to_publish)


def _abandoned_hand_over(pk: int, *, lease_until: datetime, times: int, now: datetime) -> None:
    """Fail a row that re-publishing has not got sent, and put it on the follow-up list.
    Conditional on the lease just read: a worker that has claimed it meanwhile keeps it."""
    reason = (
        f"Sending stopped part-way and the message was re-published {times} times without "
        "being sent; stopped trying. Please make sure it reaches its recipient."
    )
    with transaction.atomic():
        closed = Notification.objects.filter(
            pk=pk, status=Status.SENDING, lease_until=lease_until
        ).update(
            status=Status.FAILED,
            status_reason=reason,
            last_error="Interrupted, and not taken up again after re-publishing",
            lease_until=None,
            closed_at=now,
            follow_up_needed=True,
            updated_at=now,
        )
        if closed:
            event_record(pk, Event.FAILED, reason)
    if closed:
        logger.error("notification %s failed: re-published %d times, not sent", pk, times)


CHECKIN_EVERY = timedelta(weeks=6)
REMINDER_BEFORE = timedelta(hours=48)
REMINDER_AT_LEAST = timedelta(hours=3)


def waiting_checkins_queue(*, now: datetime | None = None) -> int:
    """A "still waiting" message at 6 weeks of waiting, and every 6 weeks after that."""
    now = now or timezone.now()
    waiting = kinds.referrals_waiting(before=now - CHECKIN_EVERY)
    candidates = []
    for referral in waiting.iterator(chunk_size=500):
        weeks = int((now - referral.received_at) / CHECKIN_EVERY) * 6
        candidates.append((referral, weeks))
    keys = {
        idempotency_key(
            kind="waiting_checkin", referral=r, recipient="client", occurrence=f"week-{w}"
        ): (r, w)
        for r, w in candidates
    }
    existing = set(
        Notification.objects.filter(idempotency_key__in=list(keys)).values_list(
            "idempotency_key", flat=True
        )
    )
    queued = 0
    send_after = kinds.daytime(now)
    for key, (referral, weeks) in keys.items():
        if key in existing:
            continue
        with transaction.atomic():
            notification_queue(
                kind="waiting_checkin",
                referral=referral,
                occurrence=f"week-{weeks}",
                context={"weeks_waiting": weeks},
                send_after=send_after,
            )
        queued += 1
    return queued


def appointment_reminders_queue(*, now: datetime | None = None) -> int:
    """A reminder about 2 days before each appointment an invitation or allocation letter
    announced, unless it was rearranged since (the latest letter wins)."""
    now = now or timezone.now()
    # Each referral's latest appointment letter (not cancelled, failed or suppressed), read
    # in the same query as the announcements rather than once per announcement.
    latest = (
        Notification.objects.filter(referral_id=OuterRef("referral_id"), kind__in=APPOINTMENT_KINDS)
        .exclude(status__in=[Status.CANCELLED, Status.FAILED, Status.SUPPRESSED])
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    announced = (
        Notification.objects.filter(
            kind__in=APPOINTMENT_KINDS,
            status=Status.SENT,
            appointment_at__gt=now + REMINDER_AT_LEAST,
            appointment_at__lte=now + REMINDER_BEFORE,
            recipient=kinds.CLIENT,
        )
        .annotate(latest_id=Subquery(latest))
        .filter(pk=F("latest_id"))
        .select_related("referral", "referral__service")
        .order_by("referral_id", "-created_at")
    )
    queued = 0
    for source in announced:
        send_after = kinds.daytime(now)
        if send_after > source.appointment_at - REMINDER_AT_LEAST:
            send_after = now
        occurrence = timezone.localtime(source.appointment_at).strftime("%Y%m%dT%H%M")
        context = {
            key: source.context.get(key)
            for key in ("location", "video_link", "by_phone")
            if source.context.get(key)
        }
        with transaction.atomic():
            notification_queue(
                kind="appointment_reminder",
                referral=source.referral,
                occurrence=occurrence,
                context={
                    **context,
                    "appointment_at": source.appointment_at,
                    "source": str(source.public_id),
                },
                send_after=send_after,
            )
        queued += 1
    return queued
