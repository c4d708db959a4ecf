"""Allocation's answers to what intake tells it (intake/signals.py), connected in
AllocationConfig.ready(). Each runs inside intake's transaction and calls only allocation's
services."""

from __future__ import annotations

from allocation import services
from intake.models import Referral


def referral_submitted(sender, *, referral: Referral, **kwargs) -> None:
    # Proposals depend on who is waiting: they are out of date, but a new referral is not
    # ready for a therapist yet, so no run is queued.
    services.proposals_refresh(service_id=referral.service_id, reason="a new referral arrived")


def referral_status_changed(sender, *, referral: Referral, status: str, **kwargs) -> None:
    if status == Referral.Status.AWAITING_ALLOCATION:
        services.proposals_refresh(
            service_id=referral.service_id,
            reason="a referral became ready for allocation",
            run=True,
        )
