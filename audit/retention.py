"""The audit trail's part of the retention schedule (common.retention; docs/security.md,
"Audit" and "Retention").

`audit.events`: an event is deleted `RETENTION_AUDIT_YEARS` (20) after it was recorded.
This is the only deletion the append-only table allows: the trigger that refuses every
UPDATE and DELETE is set aside for this one statement (`pgtrigger.ignore`, which lasts
for the statement's transaction on this connection only).
"""

from __future__ import annotations

from datetime import datetime

import pgtrigger
from django.conf import settings

from audit.models import APPEND_ONLY, AuditEvent
from common import retention

TRIGGER = f"audit.AuditEvent:{APPEND_ONLY}"


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year - years, day=28)


def audit_events_remove(now: datetime, batch_size: int) -> int:
    cutoff = years_before(now, settings.RETENTION_AUDIT_YEARS)
    ids = list(
        AuditEvent.objects.filter(at__lt=cutoff)
        .order_by("at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    if ids:
        with pgtrigger.ignore(TRIGGER):
            AuditEvent.objects.filter(pk__in=ids).delete()
    return len(ids)


def register() -> None:
    retention.register(name="audit.events", action="deleted", remove=audit_events_remove)
