"""The audit trail: one append-only row per staff read or write of a client's data
(docs/security.md, "Audit").

A row holds ids, names of pages and actions, a status and an address: never anything
typed about a client. The one free text, the reason a member of staff gave for a resend or
an override, is encrypted at rest. Rows point at the member of staff and the service
without database constraints and never cascade: nothing done elsewhere can change or
remove them. On PostgreSQL a trigger (django-pgtrigger's Protect) refuses every UPDATE and
DELETE; only the retention schedule deletes, inside `pgtrigger.ignore` (audit/retention.py).
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone

from common.encryption import EncryptedTextField
from common.models import Service

APPEND_ONLY = "append_only"


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        # From the request's method: GET and HEAD read, everything else writes.
        READ = "read", "Read"
        WRITE = "write", "Write"
        # Recorded by the code that does them, beside the request's own event.
        EXPORT = "export", "Export of the audit trail"
        # The reporting data-set return: a row per referral (reporting/views.py).
        DATASET_EXPORT = "dataset_export", "Data-set return downloaded"
        RESEND = "resend", "Message resent"
        OVERRIDE = "override", "Therapist chosen instead of the proposal"
        BULK_ACCEPT = "bulk_accept", "Proposal accepted in bulk"
        TWO_FACTOR_RESET = "two_factor_reset", "Two-factor sign-in reset"
        # API integrations (intake.api_tokens): from the token page or manage.py api_token.
        INTEGRATION_ADD = "integration_add", "Integration account added"
        API_TOKEN_ISSUE = "api_token_issue", "API token issued"
        API_TOKEN_REVOKE = "api_token_revoke", "API token revoked"
        # The client, through the portal (their pages are READ and WRITE, with no user).
        PORTAL_SIGN_IN = "portal_sign_in", "Client signed in to the portal"

    at = models.DateTimeField(default=timezone.now)
    service = models.ForeignKey(
        Service,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # The client address as common.client_address finds it; empty when unknown.
    address = models.CharField(max_length=45, blank=True)
    action = models.CharField(max_length=30, choices=Action.choices)
    # The URL name of the page or API endpoint; empty for an event recorded by code.
    view = models.CharField(max_length=100, blank=True)
    method = models.CharField(max_length=10, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    # What the event is about: a kind ("referral", "message", "allocation") and its public id.
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # The referral the object belongs to, when known (a plain id: it outlives the referral).
    referral_id = models.UUIDField(null=True, blank=True)
    # Other ids and slugs from the address (a flag's id, a message kind), or an export's
    # filters: never free text about a client.
    detail = models.JSONField(default=dict, blank=True)
    reason = EncryptedTextField(blank=True, default="")

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["service", "-at"], name="audit_service_at"),
            models.Index(fields=["service", "referral_id", "-at"], name="audit_service_referral"),
            models.Index(fields=["service", "user", "-at"], name="audit_service_user"),
            models.Index(fields=["service", "object_id"], name="audit_service_object"),
            models.Index(fields=["at"], name="audit_at"),
        ]
        triggers = [
            pgtrigger.Protect(name=APPEND_ONLY, operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def by_client(self) -> bool:
        """Done by the client themselves, through the portal."""
        return self.user_id is None and (
            self.action == self.Action.PORTAL_SIGN_IN or self.detail.get("by") == "client"
        )
