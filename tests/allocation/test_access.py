"""Access and travel in the service: the coordinator marks the service's step-free sites,
and records a client's need for step-free access and travel (minutes to each site, and a
limit) on the referral's allocation page; the engine's problem carries both, the waiting
list shows and filters them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation.engine import parse_problem, result_to_dict, solve
from allocation.engine_input import allocation_problem
from allocation.models import AllocationNeeds, SiteAccess
from tests.allocation.conftest import make_therapist, make_waiting

pytestmark = pytest.mark.django_db


def test_step_free_sites_and_a_clients_access_and_travel(client, service, sites, ada, coordinator):
    # Ada is at Riverside; Nia at Northgate. The client is seen in person only.
    make_therapist(
        service,
        [sites["Northgate"]],
        [(1, "18:00", sites["Northgate"])],
        display_name="Nia Cole",
        capacity=1,
    )
    referral = make_waiting(service, weeks=20, mode="in_person")
    client.force_login(coordinator)
    response = client.post(
        reverse("allocation-sites"), {"step_free": [str(sites["Northgate"].public_id)]}
    )
    assert response.status_code == 302
    assert SiteAccess.objects.get(site=sites["Northgate"]).step_free is True
    page = client.get(reverse("allocation-sites")).content.decode()
    assert "checked" in page

    url = reverse("allocation-referral-access", args=[referral.public_id])
    fields = {"step_free": "yes", "travel_0": "70"}  # sites by name: Northgate, Riverside
    response = client.post(url, fields)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the most the client can travel" in html
    assert 'value="70"' in html
    response = client.post(url, {**fields, "max_travel_minutes": "abc"})
    assert "Enter the minutes as a whole number" in response.content.decode()
    response = client.post(url, {"step_free": "yes"})
    assert response.status_code == 302
    needs = AllocationNeeds.objects.get(referral=referral)
    assert (needs.step_free, needs.max_travel_minutes) == (True, None)
    waiting_page = client.get(reverse("allocation-waiting-list")).content.decode()
    assert "Needs step-free access" in waiting_page
    filtered = client.get(reverse("allocation-waiting-list"), {"needs": "access"})
    assert referral.reference in filtered.content.decode()

    data = allocation_problem(service=service).data
    assert data["step_free_sites"] == ["Northgate Clinic"] or data["step_free_sites"] == [
        sites["Northgate"].name
    ]
    (row,) = data["referrals"]
    assert row["step_free"] is True
    (placed,) = result_to_dict(solve(parse_problem(data)))["assignments"]
    assert placed["therapist"] == "Nia Cole"
    # Northgate is too far: nobody is left in person.
    response = client.post(url, {"step_free": "yes", "max_travel_minutes": "45", "travel_0": "70"})
    assert response.status_code == 302
    assert (
        "Travels at most 45 minutes"
        in client.get(reverse("allocation-waiting-list")).content.decode()
    )
    data = allocation_problem(service=service).data
    assert data["referrals"][0]["travel_minutes"] == {sites["Northgate"].name: 70}
    result = result_to_dict(solve(parse_problem(data)))
    assert result["assignments"] == []
    assert "70 minutes away, over the 45-minute limit" in result["unplaced"][0]["reasons"][0]
