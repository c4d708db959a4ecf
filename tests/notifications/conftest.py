"""Fixtures for the notifications tests: clients who agreed to chosen channels, a real SMTP
server, and SMS to memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from notifications import sms
from tests.conftest import TEST_KEY_PREFIX
from tests.notifications.people import make_referral
from tests.notifications.smtp_sink import SmtpSink
from tests.support.services import Worker, require_postgres, require_redis


@pytest.fixture
def referral(service):
    """A client of the first service who agreed to email, text and letters (email first)."""
    return make_referral(service, agreed=("email", "sms", "letter"), preferred="email")


@pytest.fixture
def sms_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def email_to_sink(settings, smtp_sink):
    """Django's real SMTP backend, talking to the sink (in this process)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    return smtp_sink


def wait_for(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


# Short limits so that a killed worker's message and lease run out within a test.
FAST_RECOVERY = {
    "CELERY_TASK_SOFT_TIME_LIMIT": "3",
    "CELERY_TASK_TIME_LIMIT": "4",
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "CELERY_RESTORE_SWEEP_SECONDS": "1",
    "NOTIFICATIONS_LEASE_SECONDS": "6",
    "NOTIFICATIONS_SWEEP_SECONDS": "1",
    "NOTIFICATIONS_REDISPATCH_SECONDS": "3",
}


@pytest.fixture
def start_worker(transactional_db, tmp_path, smtp_sink):
    """Start real `celery worker` processes (against the test database) that send email to
    the test's SMTP server and texts to files; each is stopped at the end of the test."""
    require_postgres()
    started: list[Worker] = []

    def start(
        *,
        name: str = "worker",
        queues: str = "default,urgent",
        redis_url: str | None = None,
        env: dict[str, str] | None = None,
        beat: bool = False,
        wait: bool = True,
    ) -> Worker:
        log = tmp_path / f"{name}.log"
        worker = Worker(
            redis_url=redis_url or require_redis(),
            key_prefix=TEST_KEY_PREFIX,
            queues=queues,
            log_path=log,
            extra_env={
                "EMAIL_URL": smtp_sink.url,
                "EMAIL_TIMEOUT": "5",
                "SMS_BACKEND": "file",
                "SMS_FILE_PATH": str(tmp_path / "sms"),
                **(env or {}),
            },
        )
        ready_before = _count(log, " ready.")
        args = ["--hostname", f"{name}@%h"]
        if beat:
            args += ["--beat", "--schedule", str(tmp_path / f"{name}-beat-schedule")]
        worker.start(*args)
        started.append(worker)
        if wait and not wait_for(lambda: _count(log, " ready.") > ready_before, timeout=60):
            raise RuntimeError(f"worker {name} did not become ready; see {log}")
        return worker

    yield start
    for worker in started:
        worker.stop()


def _count(log: Path, text: str) -> int:
    return log.read_text(errors="replace").count(text) if log.exists() else 0
