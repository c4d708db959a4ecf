"""Save and come back later: drafts held server-side, reached by a single-use code.

A draft has two codes, each random and stored only as its hash: the one shown on screen
when it is saved, and (when the person gave an email address and agreed to email) one
issued at the moment the resume email is sent, through the notifications outbox. Nothing
stored, in the database, the outbox or the task queue, can recreate either code: the outbox
keeps the email as sent with the code removed. A second send of the email (a retry, a staff
resend) issues a fresh emailed code, and the earlier one stops working. Whichever code is
used first opens the draft and uses it up.

The emailed link carries its code after "#", which a browser never sends to the server, so
no web server or proxy log records it; the page fills the form from it, and only the POST
that follows uses the code.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common.client_address import client_address
from intake import selectors
from intake.models import ReferralDraft
from intake.references import ALPHABET
from notifications.kinds import AtSend

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
    return client_address(request)


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


def _new_code() -> str:
    chars = [secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)]
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
    code = _new_code()
    draft = ReferralDraft.objects.create(
        data=data, expires_at=timezone.now() + DRAFT_LIFETIME, token_hash=_hash(code)
    )
    emailed = bool(consented_email(contact)) and draft_resume_link_queue(draft=draft)
    return SavedDraft(code=code, expires_at_iso=draft.expires_at.isoformat(), emailed=emailed)


RESUME_LINK_KIND = "draft_resume_link"


def draft_resume_link_queue(*, draft: ReferralDraft) -> bool:
    """The resume email into the outbox, in the caller's transaction; once per draft. The
    row holds the draft's id only: the address and the code are read and issued when it is
    sent (`draft_resume_link_address`)."""
    from notifications.outbox import notification_queue

    service = selectors.self_referral_service()
    if service is None:
        return False
    notification_queue(
        kind=RESUME_LINK_KIND,
        recipient="client",
        service=service,
        occurrence=str(draft.public_id),
        context={"draft": str(draft.public_id)},
    )
    return True


def draft_resume_link_address(*, context: dict) -> AtSend:
    """For the outbox, at the moment of sending: where the resume email goes, and a fresh
    code for it. Only the code's hash is kept (replacing any earlier emailed code's), so a
    retried or repeated send issues a new code and the previous email's stops working."""
    now = timezone.now()
    draft = ReferralDraft.objects.filter(public_id=context.get("draft")).first()
    if draft is None:
        return AtSend(cancel="Not needed: the saved referral no longer exists.")
    if draft.used_at is not None:
        return AtSend(cancel="Not needed: the saved referral has already been opened.")
    if draft.expires_at <= now:
        return AtSend(cancel="Not needed: the saved referral has expired.")
    email = _draft_email(draft)
    if not email:
        return AtSend()
    code = _new_code()
    issued = ReferralDraft.objects.filter(pk=draft.pk, used_at__isnull=True).update(
        link_code_hash=_hash(code), updated_at=now
    )
    if not issued:
        return AtSend(cancel="Not needed: the saved referral has already been opened.")
    return AtSend(
        email=email,
        values={"code": code, "expires_at": timezone.localtime(draft.expires_at)},
        secrets=(code,),
    )


@transaction.atomic
def draft_resume(*, code: str, client_key: str) -> dict:
    """The saved wizard data for a code, which is then used up."""
    if _limited("resume", client_key, RESUME_LIMIT):
        raise DraftRateLimited
    digest = _hash(code)
    draft = (
        ReferralDraft.objects.select_for_update()
        .filter(Q(token_hash=digest) | Q(link_code_hash=digest))
        .first()
    )
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


def _draft_email(draft: ReferralDraft) -> str:
    """The email address in the draft's contact page, if they agreed to email."""
    contact = {}
    step_data = draft.data.get("step_data", {}).get("contact", {})
    for key, value in step_data.items():
        name = key.split("-", 1)[-1]
        contact[name] = value[0] if isinstance(value, list) and value else value
    return consented_email(contact)


def drafts_purge() -> int:
    """Delete drafts that have expired or were used more than a day ago."""
    now = timezone.now()
    expired = ReferralDraft.objects.filter(expires_at__lte=now)
    used = ReferralDraft.objects.filter(used_at__lte=now - timedelta(days=1))
    count = expired.delete()[0] + used.delete()[0]
    return count
