"""SMS backends: a file per message for embedded mode, and GOV.UK Notify's API shape."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from notifications import sms
from tests.support.services import free_port

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"threshold_test-{SERVICE_ID}-{SECRET}"


def test_file_backend_writes_one_file_per_message_and_a_retry_overwrites_it(tmp_path):
    backend = sms.FileBackend(str(tmp_path))

    backend.send(phone_number="+447700900123", body="Hello", reference="abc")
    backend.send(phone_number="+447700900123", body="Hello", reference="abc")

    [written] = list(tmp_path.iterdir())
    assert json.loads(written.read_text())["body"] == "Hello"


class FakeNotify(BaseHTTPRequestHandler):
    requests: list = []
    reply: tuple[int, dict] = (201, {"id": "740e5834-3a29-46b4-9a6f-16142fde533a"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        FakeNotify.requests.append(
            {"path": self.path, "auth": self.headers["Authorization"], "json": json.loads(body)}
        )
        status, payload = FakeNotify.reply
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(payload).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def notify():
    FakeNotify.requests = []
    FakeNotify.reply = (201, {"id": "740e5834-3a29-46b4-9a6f-16142fde533a"})
    server = HTTPServer(("127.0.0.1", free_port()), FakeNotify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def backend(url):
    return sms.NotifyBackend(api_key=API_KEY, template_id="tmpl-1", base_url=url, timeout=5)


def test_notify_backend_posts_the_text_with_a_signed_token(notify):
    provider_id = backend(notify).send(
        phone_number="+447700900123", body="Your appointment", reference="ref-1"
    )

    assert provider_id == "740e5834-3a29-46b4-9a6f-16142fde533a"
    [request] = FakeNotify.requests
    assert request["path"] == "/v2/notifications/sms"
    assert request["json"] == {
        "phone_number": "+447700900123",
        "template_id": "tmpl-1",
        "personalisation": {"body": "Your appointment"},
        "reference": "ref-1",
    }
    token = request["auth"].removeprefix("Bearer ")
    header, claims, signature = token.split(".")
    expected = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    assert json.loads(base64.urlsafe_b64decode(claims + "=="))["iss"] == SERVICE_ID


@pytest.mark.parametrize(("status", "transient"), [(429, True), (500, True), (400, False)])
def test_notify_errors_say_whether_trying_later_may_help(notify, status, transient):
    FakeNotify.reply = (status, {"errors": [{"error": "X", "message": "nope"}]})

    with pytest.raises(sms.SmsError) as error:
        backend(notify).send(phone_number="+447700900123", body="Hi", reference="r")

    assert error.value.transient is transient
    assert "nope" in str(error.value)


def test_notify_unreachable_is_a_passing_error():
    with pytest.raises(sms.SmsError) as error:
        backend(f"http://127.0.0.1:{free_port()}").send(
            phone_number="+447700900123", body="Hi", reference="r"
        )
    assert error.value.transient
