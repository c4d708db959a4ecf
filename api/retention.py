"""The API's part of the retention schedule (common.retention; docs/security.md,
"Retention").

`api.idempotency_keys`: each write made with an Idempotency-Key (api.IdempotentWrite: ids
and a hash of the body, never its text) is kept only as long as a caller could retry it,
`RETENTION_API_IDEMPOTENCY_DAYS` (30) after the write; the write itself is in the record
and on the audit trail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from api.models import IdempotentWrite
from common import retention


def idempotency_keys_delete(now: datetime, batch_size: int) -> int:
    cutoff = now - timedelta(days=settings.RETENTION_API_IDEMPOTENCY_DAYS)
    batch = list(
        IdempotentWrite.objects.filter(created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    return IdempotentWrite.objects.filter(pk__in=batch).delete()[0]


def register() -> None:
    retention.register(
        name="api.idempotency_keys",
        action="stored Idempotency-Keys of API writes deleted",
        remove=idempotency_keys_delete,
    )
