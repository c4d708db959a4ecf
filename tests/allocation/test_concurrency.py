"""Two coordinators accepting at the same moment, in real PostgreSQL transactions on two
threads: a caseload is never overfilled and a slot never booked twice.

Each race slows the critical section down (after the checks, before the insert) so that,
without the row lock, both accepts would pass their checks; the lock makes one wait.
"""

from __future__ import annotations

import time

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from allocation import decisions, services
from allocation.models import Allocation, AllocationSlot, Proposal, ProposalRun
from intake.models import Referral
from tests.allocation.conftest import make_waiting
from tests.support.services import require_postgres
from tests.support.threads import race

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres():
    require_postgres()


def proposals(service, ada, referrals, weekdays):
    run = ProposalRun.objects.create(
        service=service, trigger="coordinator", status="done", finished_at=timezone.now()
    )
    out = []
    for referral, weekday in zip(referrals, weekdays, strict=True):
        slot = ada.slots.get(weekday=weekday)
        out.append(
            Proposal.objects.create(
                service=service,
                run=run,
                referral=referral,
                therapist=ada,
                slots=[services.slot_json(slot)],
                priority=100,
                reasons=["test"],
            )
        )
    return out


@pytest.fixture
def slow_section(monkeypatch):
    real = decisions.first_appointment_for

    def slow(**kwargs):
        time.sleep(0.5)
        return real(**kwargs)

    monkeypatch.setattr(decisions, "first_appointment_for", slow)


def test_two_accepts_for_the_last_place_allocate_one(
    service, ada, coordinator, second_coordinator, slow_section
):
    first = make_waiting(service, availability=["tue_evening"])
    second = make_waiting(service, availability=["thu_evening"])
    a, b = proposals(service, ada, [first, second], [1, 3])
    outcomes = race(
        lambda: decisions.proposal_accept(proposal=a, user=coordinator),
        lambda: decisions.proposal_accept(proposal=b, user=second_coordinator),
    )
    allocated = [o for o in outcomes if isinstance(o, Allocation)]
    refused = [o for o in outcomes if isinstance(o, services.AllocationError)]
    assert len(allocated) == 1 and len(refused) == 1, outcomes
    assert "Ada Lewis has no free place now" in refused[0].message
    assert Allocation.objects.filter(therapist=ada).count() == 1
    statuses = sorted(
        Referral.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    )
    assert statuses == ["allocated", "awaiting_allocation"]


def test_two_accepts_of_one_slot_book_it_once(
    service, ada, coordinator, second_coordinator, slow_section
):
    ada.capacity = 5
    ada.save()
    first = make_waiting(service, availability=["tue_evening"])
    second = make_waiting(service, availability=["tue_evening"])
    a, b = proposals(service, ada, [first, second], [1, 1])
    outcomes = race(
        lambda: decisions.proposal_accept(proposal=a, user=coordinator),
        lambda: decisions.proposal_accept(proposal=b, user=second_coordinator),
    )
    refused = [o for o in outcomes if isinstance(o, services.AllocationError)]
    assert len(refused) == 1, outcomes
    assert "has just been booked for someone else" in refused[0].message
    tuesday = ada.slots.get(weekday=1)
    assert AllocationSlot.objects.filter(slot=tuesday, active=True).count() == 1


def test_the_same_proposal_accepted_twice_at_once_allocates_once(
    service, ada, coordinator, second_coordinator, slow_section
):
    referral = make_waiting(service, availability=["tue_evening"])
    (a,) = proposals(service, ada, [referral], [1])
    outcomes = race(
        lambda: decisions.proposal_accept(proposal=a, user=coordinator),
        lambda: decisions.proposal_accept(proposal=a, user=second_coordinator),
    )
    assert sum(isinstance(o, Allocation) for o in outcomes) == 1, outcomes
    assert Allocation.objects.filter(referral=referral).count() == 1


def test_two_coordinators_posting_at_once_through_the_pages(
    service, ada, coordinator, second_coordinator, slow_section
):
    first = make_waiting(service, availability=["tue_evening"])
    second = make_waiting(service, availability=["thu_evening"])
    a, b = proposals(service, ada, [first, second], [1, 3])

    def post(user, proposal):
        client = Client()
        client.force_login(user)
        return client.post(reverse("allocation-proposal-accept", args=[proposal.public_id]))

    responses = race(lambda: post(coordinator, a), lambda: post(second_coordinator, b))
    codes = sorted(r.status_code for r in responses)
    assert codes == [302, 400], responses
    refused = next(r for r in responses if r.status_code == 400)
    assert "has no free place now" in refused.content.decode()
    assert Allocation.objects.filter(therapist=ada).count() == 1


def test_the_database_itself_refuses_a_slot_booked_twice(service, ada, coordinator):
    tuesday = ada.slots.get(weekday=1)
    rows = []
    for _ in range(2):
        referral = make_waiting(service)
        rows.append(
            Allocation.objects.create(
                service=service,
                referral=referral,
                therapist=ada,
                source=Allocation.Source.RECORDED,
                regular_times=[],
                first_appointment_at=timezone.now(),
                allocated_by=coordinator,
                allocated_at=timezone.now(),
            )
        )
    AllocationSlot.objects.create(allocation=rows[0], slot=tuesday)
    with pytest.raises(IntegrityError), transaction.atomic():
        AllocationSlot.objects.create(allocation=rows[1], slot=tuesday)
    # Released bookings do not count: the slot can be booked again.
    AllocationSlot.objects.filter(allocation=rows[0]).update(active=False)
    AllocationSlot.objects.create(allocation=rows[1], slot=tuesday)
