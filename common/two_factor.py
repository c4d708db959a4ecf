"""Two-factor sign-in for every member of staff (docs/security.md, "Two-factor sign-in").

After the password, a member gives a 6-digit code from an authenticator app (a django-otp
TOTP device) or one of their recovery codes (a static device, each code single use). A
member with no confirmed authenticator sets one up first: a key shown as text and as a QR
code, confirmed with a code, then ten recovery codes shown once. A session is "verified"
once it has passed that step (django-otp's middleware reads it from the session on each
request); every staff page, the admin site and the session-authenticated API ask for it.

Wrong codes: each device waits 1, 2, 4, 8 ... seconds after a wrong code before it checks
another (django-otp's throttling), and a session that gets TWO_FACTOR_ATTEMPTS_LIMIT wrong
codes in a row is signed out.

A service admin can reset another member's two-factor sign-in (`two_factor_reset`): the
devices go, the member's sessions end, and they set up again at their next sign-in.
"""

from __future__ import annotations

import logging
import math
import secrets
from base64 import b32encode
from dataclasses import dataclass, field

import qrcode
import qrcode.image.svg
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from common.models import User

logger = logging.getLogger("threshold.security")

# Sent after a reset with member, by, reason and address: the audit app records it (common
# knows no app, so the audit listens rather than being called).
two_factor_was_reset = Signal()

APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
RECOVERY_CODES = 10
RECOVERY_CODE_LENGTH = 10
# Lower-case letters and digits a person cannot misread for one another (no 0/o, 1/l/i).
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# How many wrong codes in a row this session has given (reset by a right one).
SESSION_WRONG_CODES = "_two_factor_wrong_codes"

EMPTY = "Enter the 6-digit code from your authenticator app, or one of your recovery codes."
NOT_A_CODE = (
    "Enter the 6-digit code from your authenticator app (numbers only), or a recovery code "
    "(10 letters and numbers)."
)
WRONG_APP_CODE = (
    "That code is not right, or it has run out. Enter the code your authenticator app "
    "shows now: each code works once, for about 30 seconds."
)
WRONG_RECOVERY_CODE = (
    "That recovery code is not right, or it has already been used. Each recovery code works once."
)
NO_RECOVERY_CODES = (
    "You have no recovery codes left. Enter the code from your authenticator app, or ask a "
    "service admin to reset your two-factor sign-in."
)
WAIT = "Too many wrong codes. Wait {wait}, then enter the code your app shows then."
SETUP_EMPTY = "Enter the 6-digit code your authenticator app shows for Threshold."
SETUP_NOT_A_CODE = "Enter the 6 digits your authenticator app shows, with no letters."
SETUP_WRONG = (
    "That code does not match the key. Check the app added the key shown here (scan the QR "
    "code again if unsure), then enter the code it shows now."
)
ALREADY_SET_UP = "Two-factor sign-in is already set up for this account."
RESET_OWN = "You cannot reset your own two-factor sign-in. Ask another service admin to reset it."


def is_verified(user) -> bool:
    """Signed in and past the code step in this session (django-otp's middleware)."""
    check = getattr(user, "is_verified", None)
    return bool(getattr(user, "is_authenticated", False) and callable(check) and check())


def has_authenticator(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@dataclass(frozen=True)
class CodeCheck:
    device: TOTPDevice | StaticDevice | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.device is not None and not self.error


def _clean(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _refused_for_now(device) -> str:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return ""
    locked_until = (data or {}).get("locked_until")
    seconds = 1
    if locked_until is not None:
        seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
    return WAIT.format(wait="1 second" if seconds == 1 else f"{seconds} seconds")


@transaction.atomic
def two_factor_check(*, user: User, code: str) -> CodeCheck:
    """Check a code given at sign-in: 6 digits against the authenticator app, anything else
    against the recovery codes (a recovery code that matches is used up). The device row
    is locked, so one code cannot be spent twice by two requests at once."""
    cleaned = _clean(code)
    if not cleaned:
        return CodeCheck(error=EMPTY)
    if cleaned.isdigit() and len(cleaned) == 6:
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .order_by("pk")
            .first()
        )
        wrong = WRONG_APP_CODE
    elif len(cleaned) == RECOVERY_CODE_LENGTH and cleaned.isalnum():
        device = (
            StaticDevice.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None or not device.token_set.exists():
            return CodeCheck(error=NO_RECOVERY_CODES)
        wrong = WRONG_RECOVERY_CODE
    else:
        return CodeCheck(error=NOT_A_CODE)
    if device is None:
        return CodeCheck(error=WRONG_APP_CODE)
    waiting = _refused_for_now(device)
    if waiting:
        return CodeCheck(error=waiting)
    if device.verify_token(cleaned):
        return CodeCheck(device=device)
    return CodeCheck(error=wrong)


def wrong_code_count(session) -> int:
    """Count one more wrong code in this session; the view signs it out at the limit."""
    count = int(session.get(SESSION_WRONG_CODES, 0)) + 1
    session[SESSION_WRONG_CODES] = count
    return count


def authenticator_pending(*, user: User) -> TOTPDevice:
    """The authenticator being set up: the same key on every showing of the setup page
    until it is confirmed (so a refresh after scanning does not change it)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def setup_key(device: TOTPDevice) -> str:
    """The key as a person types it into an app: base32, in groups of four."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def qr_code_svg(text: str) -> str:
    """A QR code as inline SVG markup: paths only, no styles or scripts (the CSP is strict)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=12)
    svg = image.to_string(encoding="unicode")
    return svg.replace("<svg ", '<svg role="img" aria-label="QR code holding the setup key" ', 1)


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice | None = None
    recovery_codes: list[str] = field(default_factory=list)
    error: str = ""


@transaction.atomic
def two_factor_enrol(*, user: User, code: str) -> Enrolment:
    """Confirm the pending authenticator with a code it shows, and issue recovery codes."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return Enrolment(error=ALREADY_SET_UP)
    cleaned = _clean(code)
    if not cleaned:
        return Enrolment(error=SETUP_EMPTY)
    if not (cleaned.isdigit() and len(cleaned) == 6):
        return Enrolment(error=SETUP_NOT_A_CODE)
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("pk")
        .first()
    )
    if device is None:
        return Enrolment(error=SETUP_WRONG)
    waiting = _refused_for_now(device)
    if waiting:
        return Enrolment(error=waiting)
    if not device.verify_token(cleaned):
        return Enrolment(error=SETUP_WRONG)
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return Enrolment(device=device, recovery_codes=recovery_codes_issue(user=user))


def _recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))


def recovery_code_display(code: str) -> str:
    half = RECOVERY_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


@transaction.atomic
def recovery_codes_issue(*, user: User) -> list[str]:
    """Ten new single-use recovery codes, replacing any the member had. Returned for
    showing once; the dash shown in each is optional when typed."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return [recovery_code_display(code) for code in codes]


@dataclass(frozen=True)
class DemoAuthenticator:
    key: str
    uri: str


@transaction.atomic
def authenticator_issue(*, user: User) -> DemoAuthenticator:
    """A confirmed authenticator with a new key, replacing any the member had: for seeding
    demo staff (demo/services.py), whose key is printed so it can be added to an app."""
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=True)
    return DemoAuthenticator(key=setup_key(device), uri=device.config_url)


class ResetRefused(Exception):
    pass


@transaction.atomic
def two_factor_reset(*, member: User, by: User, reason: str, address: str = "") -> None:
    """A service admin resets another member's two-factor sign-in: their authenticator and
    recovery codes are removed and every session they have ends; at their next sign-in
    they set it up again. Recorded by `_record_reset`."""
    if member.pk == by.pk:
        raise ResetRefused(RESET_OWN)
    if member.service_id is None or member.service_id != by.service_id:
        raise ResetRefused("This member of staff is not in your service.")
    TOTPDevice.objects.filter(user=member).delete()
    StaticDevice.objects.filter(user=member).delete()
    member.sessions_ended_at = timezone.now()
    member.save(update_fields=["sessions_ended_at"])
    _record_reset(member=member, by=by, reason=reason, address=address)


def _record_reset(*, member: User, by: User, reason: str, address: str) -> None:
    # The audit trail keeps the reason (encrypted); the security log the fact, ids only.
    two_factor_was_reset.send(sender=User, member=member, by=by, reason=reason, address=address)
    logger.warning(
        "two-factor reset: member=%s by=%s service=%s",
        member.public_id,
        by.public_id,
        member.service_id,
    )
