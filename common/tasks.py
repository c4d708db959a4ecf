"""Worker liveness: a heartbeat row written through the real broker and worker."""

import secrets
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from common import retention, services


@shared_task(name="common.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat(token: str | None = None) -> None:
    services.heartbeat_record(
        token=token or secrets.token_hex(16), worker=worker_heartbeat.request.hostname or "eager"
    )


@shared_task(name="common.tasks.heartbeats_purge", ignore_result=True)
def heartbeats_purge() -> None:
    services.heartbeats_purge(older_than=timezone.now() - timedelta(days=7))


@shared_task(name="common.tasks.retention_run", ignore_result=True)
def retention_run() -> dict[str, int]:
    """The retention schedule (common.retention): every registered category, bounded."""
    return retention.retention_run(
        batch_size=settings.RETENTION_BATCH_SIZE, max_batches=settings.RETENTION_MAX_BATCHES
    )
