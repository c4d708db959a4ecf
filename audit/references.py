"""Referral references for the audit page, from the app that owns referrals.

Events keep a referral's public id, not its reference, so recording costs no query and an
event outlives the referral. The page searches and shows references through two functions
intake registers in its `AppConfig.ready()` (the audit imports no app above it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

# (service id, reference typed) -> public ids of that service's referrals with it.
_ids_for_reference: Callable[[int, str], list[UUID]] = lambda service_id, reference: []  # noqa: E731
# public ids -> {public id: reference} for those that still exist.
_references_for_ids: Callable[[Iterable[UUID]], dict[UUID, str]] = lambda ids: {}  # noqa: E731


def register(
    *,
    ids_for_reference: Callable[[int, str], list[UUID]],
    references_for_ids: Callable[[Iterable[UUID]], dict[UUID, str]],
) -> None:
    global _ids_for_reference, _references_for_ids
    _ids_for_reference = ids_for_reference
    _references_for_ids = references_for_ids


def ids_for_reference(service_id: int, reference: str) -> list[UUID]:
    return _ids_for_reference(service_id, reference)


def references_for_ids(ids: Iterable[UUID]) -> dict[UUID, str]:
    ids = {i for i in ids if i is not None}
    return _references_for_ids(ids) if ids else {}
