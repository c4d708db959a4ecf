"""Partner API tokens: hashed at rest, revocable, expiring, each use recorded.

A key is `thr_` and 43 random URL-safe characters (256 bits). The service keeps its
SHA-256 (enough for a random secret of that size: nothing to guess, so no slow hash) and
its first 12 characters, the prefix, which names the token in lists and commands without
being able to use it. The key itself is shown once, when it is issued.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

KEY_START = "thr_"
PREFIX_LENGTH = 12
LIST_LIMIT = 500


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _default_expiry():
    return timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, or who holds it.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_default_expiry)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_address = models.CharField(max_length=45, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"


class ApiTokenUse(models.Model):
    """One row per authenticated request: append-only, never updated."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="uses")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    address = models.CharField(max_length=45)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.method} {self.path} at {self.at:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # shown once; never stored


@transaction.atomic
def api_token_issue(*, user, name: str, days: int | None = None) -> IssuedToken:
    key = KEY_START + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:PREFIX_LENGTH],
        key_hash=key_hash(key),
        expires_at=timezone.now() + timedelta(days=days or settings.API_TOKEN_DAYS),
    )
    return IssuedToken(token=token, key=key)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token now; revoking it again keeps the first time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_authenticate(*, key: str, address: str, method: str, path: str) -> ApiToken | None:
    """The live token for a key, with this use recorded; None for any key that may not be used
    (unknown, expired, revoked, or its account closed), without saying which."""
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=key_hash(key), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    address = address[:45]
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_address=address)
    ApiTokenUse.objects.create(
        token=token, at=now, address=address, method=method[:10], path=path[:200]
    )
    token.last_used_at, token.last_used_address = now, address
    return token


def api_tokens_list(*, username: str | None = None):
    """Tokens, newest first, at most LIST_LIMIT."""
    tokens = ApiToken.objects.select_related("user")
    if username:
        tokens = tokens.filter(user__username=username)
    return tokens[:LIST_LIMIT]


def api_tokens_live(*, user):
    """The account's tokens that can be used now."""
    return ApiToken.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


# --- The service admin's page (intake/token_views.py) ------------------------------------------

ACCOUNTS_SHOWN = 50
TOKENS_SHOWN = 20


def integration_accounts(*, user) -> list:
    """The user's service's integration accounts (partner referrer role), by username, at
    most ACCOUNTS_SHOWN, each with its newest TOKENS_SHOWN tokens prefetched as `tokens`."""
    from django.contrib.auth import get_user_model
    from django.db.models import Prefetch

    from common import roles

    if not user.service_id:
        return []
    return list(
        get_user_model()
        .objects.filter(service_id=user.service_id, groups__name=roles.PARTNER_REFERRER)
        .distinct()
        .order_by("username")
        .prefetch_related(
            Prefetch(
                "api_tokens",
                queryset=ApiToken.objects.order_by("-created_at", "-id")[:TOKENS_SHOWN],
                to_attr="tokens",
            )
        )[:ACCOUNTS_SHOWN]
    )


def integration_account_get(*, user, public_id):
    """One integration account of the user's service, or None."""
    from django.contrib.auth import get_user_model

    from common import roles

    if not user.service_id:
        return None
    return (
        get_user_model()
        .objects.filter(
            service_id=user.service_id,
            groups__name=roles.PARTNER_REFERRER,
            public_id=public_id,
        )
        .first()
    )


def api_token_get(*, user, token_id: int) -> ApiToken | None:
    """One token of an account of the user's service, or None."""
    if not user.service_id:
        return None
    return (
        ApiToken.objects.select_related("user")
        .filter(pk=token_id, user__service_id=user.service_id)
        .first()
    )
