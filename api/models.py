"""The REST API's own record: the Idempotency-Key of each write that carried one
(api/idempotency.py), so a retry answers with what the first call did instead of doing it
twice."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotentWrite(models.Model):
    """One write made with an Idempotency-Key: which operation on which record, a hash of
    the body, and what it made or changed. Ids and a hash only: never the body's text."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    # The endpoint's URL name and the id in its address.
    operation = models.CharField(max_length=60)
    target = models.UUIDField()
    fingerprint = models.CharField(max_length=64)
    # The record the write made or changed, and small facts its answer gave (never text).
    result = models.UUIDField(null=True, blank=True)
    facts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="api_write_one_use_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.target} ({self.created_at:%Y-%m-%d %H:%M})"
