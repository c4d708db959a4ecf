"""Handing a rendered message to the outside world, and telling passing from lasting errors.

Only the errors named here are retried: a dropped or refused connection, a time-out, an SMTP
4xx reply and a provider's "try later". Everything else (an SMTP 5xx refusal, a bad address,
a bug) fails the message at once and puts it on the staff follow-up list.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import time
import traceback
from email.utils import parseaddr

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from notifications import sms

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPServerDisconnected,
    ConnectionError,
    socket.timeout,
    TimeoutError,
    SoftTimeLimitExceeded,
)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, sms.SmsError):
        return error.transient
    code = smtp_code(error)
    if code is not None:
        return 400 <= code < 500
    return isinstance(error, TRANSIENT_ERRORS)


def smtp_code(error: BaseException) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        # Every recipient refused only temporarily: worth another try.
        return min(codes) if codes and all(400 <= c < 500 for c in codes) else max(codes or [550])
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code
    return None


def describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{address}: {code} {_text(message)}"
            for address, (code, message) in error.recipients.items()
        ]
        return "Recipient refused by the mail server: " + "; ".join(parts)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"Mail server answered {error.smtp_code}: {_text(error.smtp_error)}"
    if isinstance(error, SoftTimeLimitExceeded):
        return "Took too long and was stopped (time limit)"
    text = str(error) or error.__class__.__name__
    return f"{error.__class__.__name__}: {text}"


def log_summary(error: BaseException) -> str:
    """The error for a log line: its class and any SMTP or provider status code, never its
    text (a mail server's reply names the recipient's address)."""
    code = smtp_code(error)
    if code is None and isinstance(error, sms.SmsError):
        code = error.status
    return f"{error.__class__.__name__}{f' {code}' if code else ''}"


def log_frames(error: BaseException) -> str:
    """Where the error happened (file, line, function), without its message or values."""
    frames = traceback.extract_tb(error.__traceback__)
    return "\n".join(f"  {f.filename}:{f.lineno} in {f.name}" for f in frames)


def _text(message) -> str:
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)


def message_id_for(public_id) -> str:
    """A Message-ID that is the same on every attempt at one notification, so a duplicate
    (see docs/notifications.md) is recognisable as one by the receiving side."""
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = address.rpartition("@")[2] or "threshold.invalid"
    return f"<{public_id}@{domain}>"


class _ReusedSmtp:
    """One SMTP connection per worker process, reused for the next messages.

    Opening a connection costs a TCP handshake, the greeting, EHLO (and STARTTLS and login
    in production) and QUIT: more than the message itself. A connection is recycled after
    `max_messages` or `max_idle` seconds unused (servers drop idle sessions), and dropped at
    the first error, so the retry of that message starts on a fresh one.
    """

    max_messages = 100
    max_idle = 10.0

    def __init__(self) -> None:
        self.connection = None
        self.sent = 0
        self.last_used = 0.0
        self.pid = 0
        self.server: tuple = ()

    def get(self):
        now = time.monotonic()
        server = (settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER)
        stale = (
            self.pid != os.getpid()  # never share a socket across a fork
            or self.server != server
            or self.sent >= self.max_messages
            or now - self.last_used > self.max_idle
        )
        if self.connection is not None and stale:
            self.close()
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
            self.sent, self.pid, self.server = 0, os.getpid(), server
        return self.connection

    def used(self) -> None:
        self.sent += 1
        self.last_used = time.monotonic()

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and self.pid == os.getpid():
            # Closing a broken connection may fail too; it is gone either way.
            with contextlib.suppress(Exception):
                connection.close()


_smtp = _ReusedSmtp()


def _reusable() -> bool:
    return settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"


def send_email(
    *, public_id, to: str, subject: str, text: str, html: str, reply_to: str = ""
) -> str:
    """Send through Django's email backend; returns the Message-ID."""
    message_id = message_id_for(public_id)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[reply_to] if reply_to else None,
        headers={
            "Message-ID": message_id,
            "Auto-Submitted": "auto-generated",
            "X-Threshold-Notification": str(public_id),
        },
    )
    message.attach_alternative(html, "text/html")
    if not _reusable():
        message.connection = get_connection(fail_silently=False)
        message.send(fail_silently=False)
        return message_id
    try:
        message.connection = _smtp.get()
        message.send(fail_silently=False)
    except BaseException:
        _smtp.close()
        raise
    _smtp.used()
    return message_id


def send_sms(*, public_id, phone_number: str, body: str) -> str:
    """Send through the configured SMS backend; returns the provider's id."""
    return sms.get_backend().send(phone_number=phone_number, body=body, reference=str(public_id))
