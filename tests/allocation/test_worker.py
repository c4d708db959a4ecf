"""`allocation_propose` through the real broker and a real Celery worker process: the run
is published on commit, the worker writes the proposals, and a repeat does nothing."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from allocation import services
from allocation.models import Proposal, ProposalRun
from allocation.tasks import allocation_propose, allocation_propose_nightly
from tests.allocation.conftest import make_waiting

pytestmark = pytest.mark.services


def wait_for(predicate, timeout: float = 60, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


def finished(run):
    run.refresh_from_db()
    return run.status in (ProposalRun.Status.DONE, ProposalRun.Status.FAILED)


def test_a_worker_runs_the_engine_and_a_repeat_changes_nothing(
    celery_worker, service, ada, coordinator
):
    make_waiting(service, weeks=12)
    make_waiting(service, weeks=2)
    with transaction.atomic():
        run = services.proposal_run_request(
            service_id=service.pk, trigger="coordinator", user=coordinator
        )
        assert run.status == ProposalRun.Status.QUEUED  # nothing leaves before commit
    assert wait_for(lambda: finished(run)), f"run not finished; see {celery_worker.log_path}"
    assert run.status == ProposalRun.Status.DONE, run.error
    assert (run.considered, run.placed) == (2, 1)
    assert run.attempts == 1
    written = list(Proposal.objects.filter(run=run).values_list("pk", flat=True))
    assert len(written) == 2

    # The same message again (a redelivery): the claim fails and nothing is rewritten.
    allocation_propose.delay(str(run.public_id))
    time.sleep(3)
    run.refresh_from_db()
    assert run.attempts == 1
    assert list(Proposal.objects.filter(run=run).values_list("pk", flat=True)) == written


def test_the_nightly_task_queues_a_run_for_each_service_with_people_waiting(
    celery_worker, service, other_service, ada, coordinator
):
    make_waiting(service)
    allocation_propose_nightly.delay()
    run = wait_for(lambda: ProposalRun.objects.filter(service=service).first())
    assert run is not None and run.trigger == ProposalRun.Trigger.NIGHTLY
    assert wait_for(lambda: finished(run)) and run.status == ProposalRun.Status.DONE
    assert not ProposalRun.objects.filter(service=other_service).exists()
