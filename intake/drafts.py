"""Save and come back later: drafts held server-side, reached by a single-use code.

The client holds only the code (shown on screen, and emailed as a link when they gave an
email address and agreed to email). We store its hash, and the code can be recomputed only
with the server's secret key, so no copy of it travels through the task queue.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from intake.models import ReferralDraft
from intake.references import ALPHABET

DRAFT_LIFETIME = timedelta(days=7)
SAVED_SESSION_KEY = "referral_draft_saved"
SAVE_LIMIT = (10, 3600)  # saves per client per hour
RESUME_LIMIT = (10, 900)  # resume attempts per client per 15 minutes
CODE_LENGTH = 12


class DraftRateLimited(Exception):
    pass


class DraftUnavailable(Exception):
    """The code is unknown, expired or already used; the message says which."""


@dataclass(frozen=True)
class SavedDraft:
    code: str
    expires_at_iso: str
    emailed: bool

    def as_dict(self) -> dict:
        return {"code": self.code, "expires_at": self.expires_at_iso, "emailed": self.emailed}


def new_submission_key() -> str:
    return f"wizard:{uuid.uuid4()}"


def client_key(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def _limited(action: str, key: str, limit: tuple[int, int]) -> bool:
    count, window = limit
    cache_key = f"draft-{action}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    if cache.add(cache_key, 1, timeout=window):
        return False
    try:
        return cache.incr(cache_key) > count
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window)
        return False


def _code_for(draft: ReferralDraft) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(),
        f"referral-draft:{draft.public_id}:{draft.nonce}".encode(),
        hashlib.sha256,
    ).digest()
    chars = [ALPHABET[b % len(ALPHABET)] for b in digest[:CODE_LENGTH]]
    return "-".join("".join(chars[i : i + 4]) for i in range(0, CODE_LENGTH, 4))


def normalise_code(code: str) -> str:
    compact = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def consented_email(contact: dict) -> str:
    return contact.get("email", "") if contact.get("email_ok") == "yes" else ""


@transaction.atomic
def draft_save(*, data: dict, contact: dict, client_key: str) -> SavedDraft:
    if _limited("save", client_key, SAVE_LIMIT):
        raise DraftRateLimited
    draft = ReferralDraft(
        data=data,
        nonce=secrets.token_hex(16),
        expires_at=timezone.now() + DRAFT_LIFETIME,
        token_hash="pending",
    )
    draft.token_hash = _hash(_code_for(draft))
    draft.save()
    email = consented_email(contact)
    if email:
        from intake.tasks import draft_resume_link_send

        public_id = str(draft.public_id)
        transaction.on_commit(lambda: draft_resume_link_send.delay(public_id))
    return SavedDraft(
        code=_code_for(draft),
        expires_at_iso=draft.expires_at.isoformat(),
        emailed=bool(email),
    )


@transaction.atomic
def draft_resume(*, code: str, client_key: str) -> dict:
    """The saved wizard data for a code, which is then used up."""
    if _limited("resume", client_key, RESUME_LIMIT):
        raise DraftRateLimited
    draft = ReferralDraft.objects.select_for_update().filter(token_hash=_hash(code)).first()
    if draft is None:
        raise DraftUnavailable(
            "We could not find a saved referral with that code. Check the code and try again"
        )
    if draft.used_at is not None:
        raise DraftUnavailable(
            "That code has already been used. Each code works once: if you saved again "
            "after using it, use the newest code"
        )
    if draft.expires_at <= timezone.now():
        raise DraftUnavailable(
            "That code has expired. Saved referrals are kept for 7 days; please start again"
        )
    draft.used_at = timezone.now()
    draft.save(update_fields=["used_at", "updated_at"])
    return draft.data


def draft_resume_message(draft: ReferralDraft) -> tuple[str, str] | None:
    """(email address, code) for the resume email, or None if email is not agreed."""
    contact = {}
    step_data = draft.data.get("step_data", {}).get("contact", {})
    for key, value in step_data.items():
        name = key.split("-", 1)[-1]
        contact[name] = value[0] if isinstance(value, list) and value else value
    email = consented_email(contact)
    return (email, _code_for(draft)) if email else None


def drafts_purge() -> int:
    """Delete drafts that have expired or were used more than a day ago."""
    now = timezone.now()
    expired = ReferralDraft.objects.filter(expires_at__lte=now)
    used = ReferralDraft.objects.filter(used_at__lte=now - timedelta(days=1))
    count = expired.delete()[0] + used.delete()[0]
    return count
