"""Reads shared by every app: what a member of staff may see."""

from __future__ import annotations

from django.db.models import QuerySet


def scope_to_service(queryset: QuerySet, user) -> QuerySet:
    """Only rows of the user's own service; nothing for anyone without a service.

    Every staff-facing selector starts here, so a missing filter is a missing call that a
    test of the access matrix notices, not a silent leak.
    """
    if not getattr(user, "is_authenticated", False) or not user.service_id:
        return queryset.none()
    return queryset.filter(service_id=user.service_id)
