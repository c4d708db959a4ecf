"""Handing committed outbox rows to the broker without holding up the caller.

Once the caller's transaction has committed, the row is durable and the broker message is
only a prompt for a worker. So the commit hook does not publish itself: it hands the row's
id to one publishing thread per process and returns. The request that committed never
waits on Redis (nor hangs with it), and risk alerts jump the line.

Nothing can be lost here that the outbox cannot recover: an id still in this queue when the
process dies, or one the broker refused, leaves its row `queued`, and the beat sweeper
publishes it again (NOTIFICATIONS_REDISPATCH_SECONDS). Embedded mode, with no broker,
publishes in line (tasks run in-process there).
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import queue
import threading
import uuid

from django.conf import settings

logger = logging.getLogger("threshold.notifications")

URGENT, ROUTINE = 0, 1
# Beyond this many ids waiting (the broker is slow or down), the sweeper takes over.
MAX_WAITING = 10_000
EXIT_FLUSH_SECONDS = 2.0


class Publisher:
    """One background thread per process publishing `tasks.dispatch` for queued ids."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: queue.PriorityQueue | None = None
        self._order = itertools.count()
        self._pending = 0

    def submit(self, public_id: uuid.UUID, *, urgent: bool) -> None:
        """Publish soon. Never raises and never blocks: the outbox has the row."""
        from notifications import tasks

        if settings.CELERY_TASK_ALWAYS_EAGER or not settings.NOTIFICATIONS_PUBLISH_IN_BACKGROUND:
            tasks.dispatch(public_id, urgent=urgent)
            return
        waiting = self._ready()
        with self._lock:
            if self._pending >= MAX_WAITING:
                logger.warning("notification %s: publisher full; left to the sweeper", public_id)
                return
            self._pending += 1
        waiting.put((URGENT if urgent else ROUTINE, next(self._order), public_id, urgent))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything handed over has been published (or given up). For tests,
        benchmarks and a clean exit; True when nothing is left."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def _ready(self) -> queue.PriorityQueue:
        """The queue, with its thread started on first use."""
        if self._queue is not None:
            return self._queue
        with self._lock:
            if self._queue is None:
                waiting: queue.PriorityQueue = queue.PriorityQueue()
                threading.Thread(
                    target=self._run,
                    args=(waiting,),
                    name="threshold-outbox-publisher",
                    daemon=True,
                ).start()
                self._queue = waiting
        return self._queue

    def _forget_after_fork(self) -> None:
        # A forked child (a gunicorn or Celery worker) has no thread: start afresh there.
        # Ids still waiting belonged to the parent, which publishes them itself.
        self.__init__()

    def _run(self, waiting: queue.PriorityQueue) -> None:
        from django.db import connection

        from notifications import tasks

        while True:
            _, _, public_id, urgent = waiting.get()
            try:
                tasks.dispatch(public_id, urgent=urgent)
            except Exception:  # dispatch never raises; this thread must outlive anything
                logger.exception("notification %s: publishing failed", public_id)
            finally:
                if connection.connection is not None:
                    # Only a failed publish touches the database (to hand the row to the
                    # sweeper at once); hold no connection between messages.
                    connection.close()
                with self._idle:
                    self._pending -= 1
                    if not self._pending:
                        self._idle.notify_all()


publisher = Publisher()
os.register_at_fork(after_in_child=publisher._forget_after_fork)


@atexit.register
def _publish_before_exit() -> None:
    if publisher._pending and not publisher.flush(EXIT_FLUSH_SECONDS):
        logger.warning("outbox publisher: exiting with messages unpublished; the sweeper will")
