"""The client portal's own rows: sign-in links and portal sessions.

Both hold only hashes of their secrets (SHA-256 of 256 random bits: a fast hash is enough for
a random secret of that size), so nothing in the database, a backup or the outbox can sign
anyone in. A portal session is its own row and its own cookie, apart from the staff's Django
session: it never signs anyone in to a staff page, and a staff sign-in never opens the portal.
"""

from __future__ import annotations

from django.db import models

from common.models import BaseModel


class SignInLink(BaseModel):
    """A client's request for a sign-in link, and the link sent for it.

    The token is issued when the message is sent (`portal.services.portal_link_address`), and
    only its hash is kept; a second send (a retry, a staff resend) issues a new token and the
    earlier one stops working."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.CASCADE, related_name="portal_links"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["referral", "created_at"])]


class PortalSession(BaseModel):
    """A client signed in to the portal, for one referral, through one channel."""

    class Ended(models.TextChoices):
        SIGNED_OUT = "signed_out", "Signed out"
        IDLE = "idle", "Not used for a while"
        EXPIRED = "expired", "Reached its time limit"
        CHANNEL_WITHDRAWN = "channel_withdrawn", "Agreement to the sign-in channel withdrawn"

    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.CASCADE, related_name="portal_sessions"
    )
    link = models.ForeignKey(SignInLink, on_delete=models.SET_NULL, null=True, blank=True)
    channel = models.CharField(max_length=8, choices=SignInLink.Channel.choices)
    key_hash = models.CharField(max_length=64, unique=True)
    last_seen_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=24, choices=Ended.choices, blank=True)

    class Meta:
        indexes = [models.Index(fields=["referral", "created_at"])]
