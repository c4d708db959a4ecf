"""Writes for the common app."""

from __future__ import annotations

from datetime import datetime

from common.models import Heartbeat


def heartbeat_record(*, token: str, worker: str) -> Heartbeat:
    # get_or_create: a redelivered heartbeat (worker died before acking) writes one row.
    heartbeat, _ = Heartbeat.objects.get_or_create(token=token, defaults={"worker": worker})
    return heartbeat


def heartbeats_purge(*, older_than: datetime) -> int:
    deleted, _ = Heartbeat.objects.filter(seen_at__lt=older_than).delete()
    return deleted
