"""Text messages through a pluggable backend with a GOV.UK Notify-style interface.

`send(phone_number=..., body=..., reference=...)` returns the provider's id for the message.
`reference` is the notification's public id: Notify keeps it with the message, and the file
backend names its file after it, so a repeated attempt overwrites rather than duplicates.

Backends (settings.SMS_BACKEND): "file" (embedded mode and tests: one JSON file per message
in SMS_FILE_PATH), "locmem" (a list in memory, for unit tests) and "notify" (GOV.UK Notify's
REST API: a template whose whole content is the placeholder ((body)) carries our text).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone


class SmsError(Exception):
    """The provider refused the message; `transient` says whether trying later may help."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None):
        super().__init__(message)
        self.transient = transient
        self.status = status


class SmsBackend:
    def send(self, *, phone_number: str, body: str, reference: str) -> str:
        raise NotImplementedError


class FileBackend(SmsBackend):
    def __init__(self, path: str | None = None):
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, *, phone_number: str, body: str, reference: str) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        record = {
            "id": reference,
            "phone_number": phone_number,
            "body": body,
            "reference": reference,
            "created_at": timezone.now().isoformat(),
        }
        target = self.path / f"{reference}.json"
        partial = target.with_suffix(".json.part")
        partial.write_text(json.dumps(record, indent=2))
        partial.replace(target)  # atomic: a reader never sees half a message
        return reference


outbox: list[dict] = []


class LocmemBackend(SmsBackend):
    def send(self, *, phone_number: str, body: str, reference: str) -> str:
        outbox.append({"phone_number": phone_number, "body": body, "reference": reference})
        return reference


class NotifyBackend(SmsBackend):
    """POST /v2/notifications/sms, authenticated with a JSON Web Token signed by the key.

    Notify's API keys end with the service id and the secret (36 characters each).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        template_id: str | None = None,
        base_url: str | None = None,
        timeout: float = 10,
    ):
        key = api_key or settings.NOTIFY_API_KEY
        if len(key) < 74:
            raise ValueError("NOTIFY_API_KEY does not look like a GOV.UK Notify API key")
        self.service_id = key[-73:-37]
        self.secret = key[-36:]
        self.template_id = template_id or settings.NOTIFY_SMS_TEMPLATE_ID
        self.base_url = (base_url or settings.NOTIFY_BASE_URL).rstrip("/")
        self.timeout = timeout

    def token(self) -> str:
        def b64(data: bytes) -> bytes:
            return base64.urlsafe_b64encode(data).rstrip(b"=")

        header = b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        claims = b64(json.dumps({"iss": self.service_id, "iat": int(time.time())}).encode())
        signing_input = header + b"." + claims
        signature = hmac.new(self.secret.encode(), signing_input, hashlib.sha256).digest()
        return (signing_input + b"." + b64(signature)).decode()

    def send(self, *, phone_number: str, body: str, reference: str) -> str:
        payload = {
            "phone_number": phone_number,
            "template_id": self.template_id,
            "personalisation": {"body": body},
            "reference": reference,
        }
        request = urllib.request.Request(
            f"{self.base_url}/v2/notifications/sms",
            data=json.dumps(payload).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.token()}",
                "User-Agent": "threshold-notifications",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            detail = _notify_error(error)
            # 429: rate limit; 5xx: Notify's side. Both may pass; 4xx otherwise will not.
            transient = error.code == 429 or error.code >= 500
            raise SmsError(
                f"Notify answered {error.code}: {detail}", transient=transient, status=error.code
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise SmsError(f"Notify unreachable: {error}", transient=True) from None
        return str(answer.get("id") or uuid.uuid4())


def _notify_error(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read() or b"{}")
        return "; ".join(item.get("message", "") for item in body.get("errors", [])) or str(body)
    except (ValueError, AttributeError):
        return error.reason or "no detail"


def get_backend() -> SmsBackend:
    backend = settings.SMS_BACKEND
    if backend == "notify":
        return NotifyBackend()
    if backend == "locmem":
        return LocmemBackend()
    return FileBackend()
