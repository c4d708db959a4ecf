"""Referral references for the audit page (audit/references.py), registered in
`IntakeConfig.ready()`."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from audit import references
from intake.models import Referral


def ids_for_reference(service_id: int, reference: str) -> list[UUID]:
    return list(
        Referral.objects.filter(
            service_id=service_id, reference__iexact=reference.strip()
        ).values_list("public_id", flat=True)[:10]
    )


def references_for_ids(ids: Iterable[UUID]) -> dict[UUID, str]:
    return dict(
        Referral.objects.filter(public_id__in=list(ids)).values_list("public_id", "reference")
    )


def register() -> None:
    references.register(ids_for_reference=ids_for_reference, references_for_ids=references_for_ids)
