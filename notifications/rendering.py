"""Turning a notification into what its recipient reads: email (HTML and plain text), SMS
text and the HTML of a printed letter (made into a PDF by notifications.letters).

Every kind has one `.html` template with `subject`, `heading` and `body` blocks. It extends a
frame chosen here (`frame` in the context): the email frame, the letter frame, or a frame
that prints only the subject. So email and letter share their wording, and a kind's text
is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone

from notifications import kinds

FRAMES = {
    "subject": "notifications/frames/subject.txt",
    "email": "notifications/frames/email.html",
    "letter": "notifications/frames/letter.html",
}

# SMS: a text that fits in two message parts. GSM-7 carries 160 characters in one part and
# 306 in two (153 each); any other character switches the text to UCS-2 (70, or 134 in two).
SMS_LIMIT_GSM = 306
SMS_LIMIT_UCS2 = 134
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def sms_length(text: str) -> tuple[int, str]:
    """(length in the encoding a phone will use, encoding name)."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text):
        return sum(2 if char in _GSM_EXTENDED else 1 for char in text), "gsm7"
    return len(text), "ucs2"


def sms_fits(text: str) -> bool:
    length, encoding = sms_length(text)
    return 0 < length <= (SMS_LIMIT_GSM if encoding == "gsm7" else SMS_LIMIT_UCS2)


@dataclass(frozen=True)
class Recipient:
    name: str
    address_lines: tuple[str, ...]
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str
    letter_html: str


def build_context(
    *,
    kind: str,
    service,
    referral,
    recipient: Recipient,
    context: dict[str, Any],
    about_client: dict[str, Any] | None = None,
    example: bool = False,
    today: date | None = None,
) -> dict[str, Any]:
    spec = kinds.spec(kind)
    return {
        "kind": kind,
        "client_facing": spec.client_facing,
        "service": service,
        "service_lines": _lines(service.address),
        "reference": referral.reference if referral is not None else "",
        "referral_url": (
            f"{settings.SITE_URL}/staff/referrals/{referral.public_id}/" if referral else ""
        ),
        "recipient": recipient,
        "about": about_client or {},
        "c": kinds.parse_context(context),
        "today": today or timezone.localdate(),
        "site_url": settings.SITE_URL,
        "example": example,
    }


def _render(kind: str, frame: str, ctx: dict[str, Any]) -> str:
    return render_to_string(f"notifications/messages/{kind}.html", {**ctx, "frame": FRAMES[frame]})


def _render_plain(name: str, ctx: dict[str, Any]) -> str:
    """Plain text (subjects, text emails, SMS): no HTML escaping, so "it's" stays "it's"."""
    return get_template(name).template.render(Context(ctx, autoescape=False))


def render_subject(ctx: dict[str, Any]) -> str:
    name = f"notifications/messages/{ctx['kind']}.html"
    return " ".join(_render_plain(name, {**ctx, "frame": FRAMES["subject"]}).split())


def render_email(ctx: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, plain text, HTML)."""
    subject = render_subject(ctx)
    text = _tidy(_render_plain(f"notifications/messages/{ctx['kind']}.txt", ctx))
    html = _render(ctx["kind"], "email", {**ctx, "subject": subject})
    return subject, text, html


def render_sms(ctx: dict[str, Any]) -> str:
    """The text message, or "" for a kind that is never sent by text."""
    if not kinds.spec(ctx["kind"]).has_sms:
        return ""
    text = _render_plain(f"notifications/messages/{ctx['kind']}.sms.txt", ctx)
    return " ".join(text.split())


def render_letter_html(ctx: dict[str, Any]) -> str:
    subject = render_subject(ctx)
    return _render(ctx["kind"], "letter", {**ctx, "subject": subject})


def render_all(ctx: dict[str, Any]) -> Rendered:
    subject, text, html = render_email(ctx)
    return Rendered(
        subject=subject,
        text=text,
        html=html,
        sms=render_sms(ctx),
        letter_html=render_letter_html(ctx),
    )


def _lines(text: str) -> tuple[str, ...]:
    parts = [part.strip() for part in (text or "").replace(",", "\n").splitlines()]
    return tuple(part for part in parts if part)


def address_lines(text: str) -> tuple[str, ...]:
    return _lines(text)


def _tidy(text: str) -> str:
    """Plain-text email: no trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if not line and tidy and not tidy[-1]:
            continue
        tidy.append(line)
    return "\n".join(tidy) + "\n"
