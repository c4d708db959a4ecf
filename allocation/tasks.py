"""Celery tasks for allocation: thin, given a UUID, idempotent, time-limited.

`allocation_propose` runs the matching engine for one queued run (a coordinator's request,
the nightly run, or a referral becoming ready for allocation); the run row records its
progress and result, so the task returns nothing and a repeat does nothing.
"""

from __future__ import annotations

import uuid

from celery import shared_task
from django.conf import settings


@shared_task(
    name="allocation.tasks.allocation_propose",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def allocation_propose(run_id: str) -> None:
    from allocation import services

    services.proposal_run_execute(run_id=uuid.UUID(run_id))


@shared_task(name="allocation.tasks.allocation_propose_nightly", ignore_result=True)
def allocation_propose_nightly() -> None:
    from allocation import services

    services.proposal_runs_nightly()
