"""Idempotency-Key for the REST API's writes, as the partner's referral POST honours it
(intake/api.py): at most 64 printable ASCII characters; a repeat by the same account with the
same key and the same body answers 200 with what the first call made or changed, the current
state of it, and does nothing again; the same key with another body or another record is a
409; no key, no replay.

The key's row is inserted in the write's own transaction before the write: a concurrent twin
waits on the unique index, then finds the first one's row and replays it; a write that is
refused rolls its key back with it, so the key can be used again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions

from api.models import IdempotentWrite
from common.api_errors import Conflict
from intake.api import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_RE, KEY_INVALID

KEY_REUSED = "This key was already used for a different request. Use a new key for a new request."

KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    {"type": "string", "maxLength": 64, "pattern": "^[\\x20-\\x7e]*$"},
    OpenApiParameter.HEADER,
    required=False,
    description="At most 64 printable ASCII characters (a UUID is ideal). A repeat with the "
    "same key and body answers 200 with what the first call did, and does nothing again.",
)


@dataclass(frozen=True)
class Outcome:
    """What a write made or changed (its public id), its status, and small facts (never
    text) its answer gives beside the record."""

    result: UUID
    status: int
    facts: dict = field(default_factory=dict)


def given_key(request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if len(key) > 64 or not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise exceptions.ValidationError({IDEMPOTENCY_HEADER: [KEY_INVALID]})
    return key


def _fingerprint(operation: str, target: UUID, body) -> str:
    text = json.dumps([operation, str(target), body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def write_once(request, *, operation: str, target: UUID, write: Callable[[], Outcome]) -> Outcome:
    """Run `write` (which calls the owning app's service) once per Idempotency-Key."""
    key = given_key(request)
    if not key:
        return write()
    fingerprint = _fingerprint(operation, target, request.data)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = IdempotentWrite.objects.create(
                    user=request.user,
                    key=key,
                    operation=operation,
                    target=target,
                    fingerprint=fingerprint,
                )
        except IntegrityError:
            row = IdempotentWrite.objects.get(user=request.user, key=key)
            if (row.operation, row.target, row.fingerprint) != (operation, target, fingerprint):
                raise Conflict({IDEMPOTENCY_HEADER: [KEY_REUSED]}) from None
            return Outcome(result=row.result, status=200, facts=row.facts)
        outcome = write()
        row.result, row.facts = outcome.result, outcome.facts
        row.save(update_fields=["result", "facts"])
        return outcome
