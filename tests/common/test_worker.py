"""Tasks travel through the real Redis to a real Celery worker, and survive its death."""

from __future__ import annotations

import secrets
import time

import pytest

from common.models import Heartbeat
from common.tasks import worker_heartbeat
from config.celery import app as celery_app
from tests.conftest import TEST_KEY_PREFIX
from tests.support.services import Worker, require_postgres
from tests.support.tasks import slow_heartbeat

pytestmark = pytest.mark.services


def wait_for(predicate, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


def test_worker_consumes_a_task_sent_through_redis_and_writes_a_row(celery_worker):
    token = secrets.token_hex(8)

    worker_heartbeat.delay(token)

    row = wait_for(lambda: Heartbeat.objects.filter(token=token).first(), timeout=20)
    assert row is not None, f"no heartbeat row; worker log: {celery_worker.log_path}"
    # The row names the worker that ran it: it did not run in-process.
    assert row.worker.startswith("celery@")


def test_task_in_flight_when_worker_is_killed_runs_once_after_restart(
    transactional_db, shared_redis_url, tmp_path
):
    require_postgres()
    # Short limits so the unacknowledged message becomes visible again within the test.
    limits = {
        "CELERY_TASK_SOFT_TIME_LIMIT": "3",
        "CELERY_TASK_TIME_LIMIT": "4",
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "CELERY_RESTORE_SWEEP_SECONDS": "2",
    }
    log = tmp_path / "worker.log"
    first = Worker(
        redis_url=shared_redis_url, key_prefix=TEST_KEY_PREFIX, log_path=log, extra_env=limits
    )
    first.start()
    try:
        first.wait_ready(celery_app)
        token = secrets.token_hex(8)
        task_id = slow_heartbeat.delay(token, 2.5).id
        started = wait_for(
            lambda: f"[{task_id}] received" in log.read_text(errors="replace"),
            timeout=20,
            interval=0.05,
        )
        assert started, "the worker never received the task"
    finally:
        first.kill()  # SIGKILL mid-task: no ack, no requeue, no chance to finish

    assert not Heartbeat.objects.filter(token=token).exists()

    second = Worker(
        redis_url=shared_redis_url, key_prefix=TEST_KEY_PREFIX, log_path=log, extra_env=limits
    )
    second.start()
    try:
        row = wait_for(lambda: Heartbeat.objects.filter(token=token).first(), timeout=60)
        assert row is not None, f"task lost after the worker was killed; see {log}"
        time.sleep(1)
        assert Heartbeat.objects.filter(token=token).count() == 1
    finally:
        second.stop()
