"""The retention schedule: what is removed, when, and why (docs/security.md, "Retention").

Common knows no app, so each app that owns records with a retention period registers one
function per category here, in its `AppConfig.ready()` (as message kinds are registered
with `notifications.kinds`). The nightly beat task (`common.tasks.retention_run`) calls
them all through this registry.

A category's function removes (deletes, anonymises or clears, as its owner decides) at
most `batch_size` records whose period ended before `now`, and returns how many it
handled. It must be idempotent: a record already removed is never counted again, so a
category is finished when a call returns fewer than `batch_size`. Logs carry the category
and counts only, never anything about a person.

Audit events are a category too (`audit.events`, audit/retention.py), deleted after
`RETENTION_AUDIT_YEARS`: the one deletion their append-only table allows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Category:
    name: str
    # What happens to a record at the end of its period, in a few words (for the logs
    # and docs): "deleted", "message bodies cleared", ...
    action: str
    # (now, batch_size) -> how many records were removed in this batch.
    remove: Callable[[datetime, int], int]


_categories: dict[str, Category] = {}


def register(*, name: str, action: str, remove: Callable[[datetime, int], int]) -> None:
    """Add a category; registering the same name again replaces it (a reloaded app)."""
    _categories[name] = Category(name=name, action=action, remove=remove)


def categories() -> tuple[Category, ...]:
    return tuple(sorted(_categories.values(), key=lambda category: category.name))


def retention_run(
    *, now: datetime | None = None, batch_size: int = 500, max_batches: int = 20
) -> dict[str, int]:
    """Run every category in bounded batches, each batch in its own transaction, until a
    batch comes back short or `max_batches` is reached (the rest waits for the next run).
    One category failing is logged and does not stop the others."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for category in categories():
        total = 0
        try:
            for _ in range(max_batches):
                with transaction.atomic():
                    done = category.remove(now, batch_size)
                total += done
                if done < batch_size:
                    break
        except Exception:
            logger.exception("retention: category %s failed after %d", category.name, total)
        counts[category.name] = total
        logger.info("retention: %s %s: %d", category.name, category.action, total)
    return counts
