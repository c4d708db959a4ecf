"""Tasks only the test suite's workers load (`--include tests.support.tasks`)."""

import time

from celery import shared_task

from common import services


@shared_task(name="tests.slow_heartbeat", acks_late=True)
def slow_heartbeat(token: str, seconds: float) -> None:
    # Sleep first so a test can kill the worker while the task is in flight.
    time.sleep(seconds)
    services.heartbeat_record(token=token, worker="test-slow")
