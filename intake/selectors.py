"""Reads over referrals for staff pages; every one is scoped to the user's service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from common.selectors import scope_to_service
from intake.models import Referral

WAIT_WARNING = timedelta(weeks=6)
WAIT_BREACH = timedelta(weeks=18)


def referral_list(*, user, status: str | None = None) -> QuerySet[Referral]:
    referrals = scope_to_service(Referral.objects.select_related("client"), user)
    if status:
        referrals = referrals.filter(status=status)
    return referrals.order_by("received_at")


def referral_get(*, user, public_id: UUID) -> Referral:
    """The referral, or Referral.DoesNotExist when it is not the user's service's."""
    return referral_list(user=user).get(public_id=public_id)


@dataclass(frozen=True)
class WaitingCounts:
    awaiting_assessment: int
    awaiting_allocation: int
    over_6_weeks: int
    over_18_weeks: int


def referral_waiting_counts(*, user) -> WaitingCounts:
    now = timezone.now()
    waiting = [
        Referral.Status.SUBMITTED,
        Referral.Status.ASSESSMENT_BOOKED,
        Referral.Status.AWAITING_ALLOCATION,
    ]
    counts = scope_to_service(Referral.objects.all(), user).aggregate(
        awaiting_assessment=Count("id", filter=Q(status=Referral.Status.SUBMITTED)),
        awaiting_allocation=Count("id", filter=Q(status=Referral.Status.AWAITING_ALLOCATION)),
        over_6_weeks=Count("id", filter=Q(status__in=waiting, received_at__lte=now - WAIT_WARNING)),
        over_18_weeks=Count("id", filter=Q(status__in=waiting, received_at__lte=now - WAIT_BREACH)),
    )
    return WaitingCounts(**counts)
