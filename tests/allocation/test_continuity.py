"""Continuity in the service: the coordinator records, on the referral's allocation page,
whether continuity with the assessor is a wish (the default), a requirement or no wish;
the engine's problem carries it, the waiting list shows and filters it, and the choice of
therapist leaves out everyone but the assessor when it is required."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation import choosing, exclusions
from allocation.engine import parse_problem, result_to_dict, solve
from allocation.engine_input import allocation_problem
from allocation.models import AllocationNeeds, ProposalRun
from allocation.services import AllocationError
from assessment.models import Assessment
from intake.models import Referral
from tests import factories
from tests.allocation.conftest import make_therapist, make_waiting

pytestmark = pytest.mark.django_db


def test_continuity_required_end_to_end(client, service, sites, ada, coordinator):
    ben = make_therapist(
        service,
        [sites["Riverside"]],
        [(1, "18:00", sites["Riverside"])],
        display_name="Ben Hart",
        capacity=1,
    )
    referral = make_waiting(service, weeks=20)
    Assessment.objects.filter(referral=referral).update(assessor=ben.user)
    client.force_login(coordinator)
    url = reverse("allocation-referral-continuity", args=[referral.public_id])
    response = client.post(url, {"continuity": "always"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    response = client.post(url, {"continuity": "required"})
    assert response.status_code == 302
    assert AllocationNeeds.objects.get(referral=referral).continuity == "required"
    page = client.get(reverse("allocation-referral", args=[referral.public_id])).content.decode()
    assert "A requirement: only the assessor." in page
    waiting_page = client.get(reverse("allocation-waiting-list")).content.decode()
    assert "Only the assessor (continuity required)" in waiting_page
    filtered = client.get(reverse("allocation-waiting-list"), {"needs": "continuity"})
    assert referral.reference in filtered.content.decode()

    data = allocation_problem(service=service).data
    (row,) = data["referrals"]
    assert (row["continuity"], row["assessor"]) == ("required", "Ben Hart")
    (placed,) = result_to_dict(solve(parse_problem(data)))["assignments"]
    assert placed["therapist"] == "Ben Hart"
    assert "continuity requirement met: also assessed the client" in placed["reasons"]
    ProposalRun.objects.all().delete()
    filtered = choosing.choose_options(
        user=coordinator, referral=referral, filters=choosing.ChooseFilters(requirements=True)
    )
    assert {r.therapist.display_name for g in filtered.groups for r in g.rows} == {"Ben Hart"}
    # With Ben's place gone, the client waits rather than go to Ada.
    ben.capacity = 0
    ben.save()
    result = result_to_dict(solve(parse_problem(allocation_problem(service=service).data)))
    assert result["assignments"] == []


def test_an_assessor_without_a_profile_leaves_the_client_waiting_and_says_why(
    service, ada, coordinator
):
    referral = make_waiting(service, weeks=4)
    exclusions.continuity_set(referral=referral, continuity="required", user=coordinator)
    data = allocation_problem(service=service).data
    (row,) = data["referrals"]
    assert row["assessor"] == "the assessor (no therapist profile)"
    (waiting,) = result_to_dict(solve(parse_problem(data)))["unplaced"]
    assert (
        "are the client's assessor (the assessor (no therapist profile)" in (waiting["reasons"][0])
    )


def test_continuity_cannot_be_required_without_an_assessor(service, coordinator):
    referral = factories.ReferralFactory(
        client__service=service, status=Referral.Status.AWAITING_ALLOCATION
    )
    with pytest.raises(AllocationError, match="no assessor recorded"):
        exclusions.continuity_set(referral=referral, continuity="required", user=coordinator)
