"""Reads shared by every app: what a member of staff may see."""

from __future__ import annotations

from django.db.models import Count, QuerySet


def scope_to_service(queryset: QuerySet, user) -> QuerySet:
    """Only rows of the user's own service; nothing for anyone without a service.

    Every staff-facing selector starts here, so a missing filter is a missing call that a
    test of the access matrix notices, not a silent leak.
    """
    if not getattr(user, "is_authenticated", False) or not user.service_id:
        return queryset.none()
    return queryset.filter(service_id=user.service_id)


STAFF_SHOWN = 200


def staff_active(*, user) -> tuple[list, int]:
    """The active staff of the user's service, by name, at most STAFF_SHOWN of them, and how
    many there are in all (the service admin's home page)."""
    from common.models import User

    limit = STAFF_SHOWN
    members = scope_to_service(User.objects.filter(is_active=True), user)
    shown = list(members.prefetch_related("groups").order_by("last_name", "first_name")[:limit])
    total = len(shown) if len(shown) < limit else members.count()
    return shown, total


def counts_by_referral(model, referral_ids: list[int], **row_filter) -> dict[int, int]:
    """{referral id: number of rows of `model` matching the filter} for one page's
    referrals, in one query (open flags on a list page, for instance)."""
    return dict(
        model.objects.filter(referral_id__in=referral_ids, **row_filter)
        .order_by()
        .values("referral_id")
        .annotate(n=Count("id"))
        .values_list("referral_id", "n")
    )
