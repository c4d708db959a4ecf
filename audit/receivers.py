"""Events that the base layer announces rather than records itself (common knows no app)."""

from __future__ import annotations

from audit import services
from audit.models import AuditEvent
from common import two_factor


def _two_factor_reset(sender, *, member, by, reason, address, **kwargs) -> None:
    services.record(
        action=AuditEvent.Action.TWO_FACTOR_RESET,
        user=by,
        obj=member,
        reason=reason,
        address=address,
    )


def register() -> None:
    two_factor.two_factor_was_reset.connect(_two_factor_reset, dispatch_uid="audit-2fa-reset")
