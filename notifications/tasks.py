"""Celery tasks for notifications: thin, idempotent, given a UUID, never an object.

`dispatch` is what the outbox calls on commit and what the sweeper calls again; the tasks
re-read the row and do nothing if someone else has it or it is finished. Risk alerts use
their own task name, routed to the "urgent" queue (CELERY_TASK_ROUTES) and its own worker.
"""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.conf import settings

logger = logging.getLogger("threshold.notifications")

# Publishing must not hold up the request that committed: with the broker down, give up
# quickly. The row stays queued and the sweeper publishes it when the broker is back.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}


def dispatch(public_id: uuid.UUID, *, urgent: bool = False) -> None:
    """Ask a worker to deliver this notification. Never raises: the outbox has the row."""
    task = deliver_urgent if urgent else deliver
    try:
        task.apply_async(args=[str(public_id)], retry_policy=PUBLISH_RETRY_POLICY)
    except Exception:  # the broker is unreachable, or (embedded mode) the task itself failed
        logger.warning(
            "notification %s: could not publish for delivery; the outbox sweeper will",
            public_id,
            exc_info=True,
        )
        _dispatch_forget(public_id)


def _dispatch_forget(public_id: uuid.UUID) -> None:
    from notifications.models import Notification

    try:
        # So the very next sweep picks it up, rather than one after the re-dispatch delay.
        Notification.objects.filter(public_id=public_id, status="queued").update(dispatched_at=None)
    except Exception:
        logger.warning("notification %s: could not mark for the sweeper", public_id)


def _deliver(task, notification_id: str) -> str:
    from notifications import sending

    try:
        return sending.notification_deliver(public_id=uuid.UUID(notification_id)).value
    except sending.DeliveryDeferred as deferred:
        if task.request.is_eager:
            # Embedded mode has no broker to hold a retry; the row is due again at
            # send_after and `manage.py notifications_sweep` (or beat) picks it up.
            return sending.Outcome.DEFERRED.value
        raise task.retry(
            countdown=deferred.retry_in, max_retries=settings.NOTIFICATIONS_MAX_ATTEMPTS
        ) from None


@shared_task(bind=True, name="notifications.deliver", acks_late=True, ignore_result=True)
def deliver(self, notification_id: str) -> str:
    return _deliver(self, notification_id)


@shared_task(bind=True, name="notifications.deliver_urgent", acks_late=True, ignore_result=True)
def deliver_urgent(self, notification_id: str) -> str:
    return _deliver(self, notification_id)


@shared_task(name="notifications.outbox_sweep", ignore_result=True)
def outbox_sweep() -> int:
    from notifications import sweeps

    return sweeps.outbox_sweep()


@shared_task(name="notifications.reminders_sweep", ignore_result=True)
def reminders_sweep() -> dict:
    from notifications import sweeps

    return {
        "waiting_checkins": sweeps.waiting_checkins_queue(),
        "appointment_reminders": sweeps.appointment_reminders_queue(),
    }
