"""Reads over therapists for staff pages, scoped to the user's service."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from allocation.models import Therapist
from common.selectors import scope_to_service


def therapist_list(*, user) -> QuerySet[Therapist]:
    return scope_to_service(Therapist.objects.all(), user).annotate(slot_count=Count("slots"))


def therapist_for_user(*, user) -> Therapist | None:
    return (
        scope_to_service(Therapist.objects.all(), user)
        .filter(user=user)
        .prefetch_related("slots__site")
        .first()
    )
