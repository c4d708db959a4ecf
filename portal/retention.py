"""The portal's part of the retention schedule (common.retention; docs/security.md,
"Retention").

`portal.sign_ins`: sign-in links and portal sessions are security logs (who asked, when,
by which channel, when a session began and ended), not care records. They are deleted
`RETENTION_PORTAL_SIGN_IN_DAYS` (2 years) after they were made, like partner API token
uses. They hold no secret (hashes only) and no health information.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from common import retention
from portal.models import PortalSession, SignInLink


def sign_ins_delete(now: datetime, batch_size: int) -> int:
    cutoff = now - timedelta(days=settings.RETENTION_PORTAL_SIGN_IN_DAYS)
    sessions = list(
        PortalSession.objects.filter(created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    done = PortalSession.objects.filter(pk__in=sessions, created_at__lt=cutoff).delete()[0]
    links = list(
        SignInLink.objects.filter(created_at__lt=cutoff)
        .exclude(portalsession__created_at__gte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[: max(batch_size - done, 0)]
    )
    return done + SignInLink.objects.filter(pk__in=links).delete()[0]


def register() -> None:
    retention.register(
        name="portal.sign_ins",
        action="sign-in links and portal sessions deleted",
        remove=sign_ins_delete,
    )
