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

from common import roles
from common.errors import ServiceError

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


def _integration_q():
    """An integration account: the partner's (its role), or a named one (User.is_integration)."""
    from django.db.models import Q

    return Q(groups__name=roles.PARTNER_REFERRER) | Q(is_integration=True)


def integration_accounts(*, user) -> list:
    """The user's service's integration accounts (the partner's, and named ones acting with a
    staff role), by username, at most ACCOUNTS_SHOWN, each with its newest TOKENS_SHOWN
    tokens prefetched as `tokens` and its roles as `roles_held`."""
    from django.contrib.auth import get_user_model
    from django.db.models import Prefetch

    if not user.service_id:
        return []
    return list(
        get_user_model()
        .objects.filter(_integration_q(), service_id=user.service_id)
        .distinct()
        .order_by("username")
        .prefetch_related(
            Prefetch(
                "api_tokens",
                queryset=ApiToken.objects.order_by("-created_at", "-id")[:TOKENS_SHOWN],
                to_attr="tokens",
            ),
            "groups",
        )[:ACCOUNTS_SHOWN]
    )


def integration_account_get(*, user, public_id):
    """One integration account of the user's service, or None."""
    from django.contrib.auth import get_user_model

    if not user.service_id:
        return None
    return (
        get_user_model()
        .objects.filter(_integration_q(), service_id=user.service_id, public_id=public_id)
        .distinct()
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


# --- Named integration accounts, and audited issue and revoke -----------------------------------
# The token page (intake/token_views.py) and `manage.py api_token` change tokens through these,
# so each issue and revoke is on the audit trail whoever did it.

# The roles a service admin may give an integration account from the page: the partner's, and
# the staff roles that read no clinical text (a clinician's role for a system, which would read
# the clinical record, is the operator's decision: manage.py api_token).
INTEGRATION_ROLES = (roles.PARTNER_REFERRER, roles.COORDINATOR, roles.SERVICE_ADMIN)
USERNAME_TAKEN = "That username is already taken. Choose another, such as the system's name."


class IntegrationAccountError(ServiceError):
    """An integration account that cannot be added as asked."""


def _audit(action: str, *, account, by, request, detail: dict) -> None:
    from audit import services as audit

    audit.record(
        action=action,
        user=by,
        request=request,
        obj=account,
        detail=detail,
        service_id=account.service_id,
    )


@transaction.atomic
def integration_account_add(*, by, username: str, role: str, request=None):
    """A named integration account of `by`'s service acting with `role` (one of
    INTEGRATION_ROLES): no usable password, and never a staff page (common.access)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import IntegrityError

    from audit.models import AuditEvent

    if role not in INTEGRATION_ROLES:
        raise IntegrationAccountError("Select the role the system acts with", field="role")
    users = get_user_model()
    if users.objects.filter(username__iexact=username).exists():
        raise IntegrationAccountError(USERNAME_TAKEN, field="username")
    try:
        with transaction.atomic():
            account = users(username=username, service_id=by.service_id, is_integration=True)
            account.set_unusable_password()
            account.save()
    except IntegrityError:  # a twin added at the same moment
        raise IntegrationAccountError(USERNAME_TAKEN, field="username") from None
    account.groups.add(Group.objects.get_or_create(name=role)[0])
    _audit(
        AuditEvent.Action.INTEGRATION_ADD,
        account=account,
        by=by,
        request=request,
        detail={"role": role},
    )
    return account


@transaction.atomic
def api_token_issue_audited(
    *, account, name: str, days: int | None = None, by=None, request=None, via: str = "page"
) -> IssuedToken:
    """Issue a token (api_token_issue) with its event on the audit trail: who, for which
    account, the token's prefix, and from where (the page or manage.py)."""
    from audit.models import AuditEvent

    issued = api_token_issue(user=account, name=name, days=days)
    _audit(
        AuditEvent.Action.API_TOKEN_ISSUE,
        account=account,
        by=by,
        request=request,
        detail={"token": issued.token.prefix, "via": via},
    )
    return issued


@transaction.atomic
def api_token_revoke_audited(*, token: ApiToken, by=None, request=None, via: str = "page"):
    """Revoke a token (api_token_revoke) with its event on the audit trail; revoking one
    already revoked changes nothing and records nothing."""
    from audit.models import AuditEvent

    locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if locked.revoked_at is not None:
        return locked
    token = api_token_revoke(token=locked)
    _audit(
        AuditEvent.Action.API_TOKEN_REVOKE,
        account=token.user,
        by=by,
        request=request,
        detail={"token": token.prefix, "via": via},
    )
    return token
