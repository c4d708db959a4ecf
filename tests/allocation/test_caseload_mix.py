"""The caseload mix in the service: weekly sessions and caps on high-risk and complex
clients on the therapist's profile, the complex case marker on the referral's page; the
engine's problem carries them (the current caseload counted against each), the pages show
them, and allocating past them is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation import choosing, decisions, exclusions
from allocation.engine import parse_problem, result_to_dict, solve
from allocation.engine_input import allocation_problem
from allocation.models import AllocationNeeds
from allocation.services import AllocationError
from tests.allocation.conftest import make_therapist, make_waiting

pytestmark = pytest.mark.django_db

PROFILE = {
    "display_name": "Ada Lewis",
    "gender": "female",
    "modalities": ["psychodynamic"],
    "languages": "English, Polish",
    "frequencies": ["1", "2"],
    "offers_remote": "yes",
    "capacity": "6",
}


def test_the_profile_records_weekly_sessions_and_caps(signed_in, sites, ada, service_admin):
    client = signed_in(service_admin)
    url = reverse("allocation-therapist-edit", args=[ada.public_id])
    form = {**PROFILE, "sites": [str(sites["Riverside"].public_id)]}
    page = client.get(url).content.decode()
    assert "Weekly sessions" in page and "Most high-risk clients at once" in page
    response = client.post(url, {**form, "max_high_risk": "-1", "max_complex": "two"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The cap on high-risk clients must be 0 or more" in html
    assert "The cap on complex clients must be a whole number, like 3" in html
    assert 'value="two"' in html  # what was typed is kept
    response = client.post(url, {**form, "max_high_risk": "2", "max_complex": ""})
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.capacity, ada.max_high_risk, ada.max_complex) == (6, 2, None)
    page = client.get(reverse("allocation-therapist", args=[ada.public_id])).content.decode()
    assert "0 of 6 in use" in page
    assert "0 of at most 2" in page and "0, no cap" in page


def test_the_complex_marker_on_the_referral_page_and_the_waiting_list(
    signed_in, service, ada, coordinator
):
    referral = make_waiting(service, weeks=8)
    client = signed_in(coordinator)
    url = reverse("allocation-referral-complexity", args=[referral.public_id])
    response = client.post(url, {"complex_case": "maybe"})
    assert response.status_code == 400
    assert "Select yes or no" in response.content.decode()
    response = client.post(url, {"complex_case": "yes"})
    assert response.status_code == 302
    assert AllocationNeeds.objects.get(referral=referral).complex_case is True
    page = client.get(reverse("allocation-referral", args=[referral.public_id])).content.decode()
    assert "A complex case: it counts against a therapist's cap on complex clients." in page
    waiting = client.get(reverse("allocation-waiting-list")).content.decode()
    assert "A complex case" in waiting
    filtered = client.get(reverse("allocation-waiting-list"), {"needs": "complex"})
    assert referral.reference in filtered.content.decode()
    other = make_waiting(service, weeks=2)
    filtered = client.get(reverse("allocation-waiting-list"), {"needs": "complex"})
    assert other.reference not in filtered.content.decode()


def test_the_problem_counts_the_caseload_against_the_caps_and_sessions(
    service, sites, ada, coordinator
):
    ada.capacity, ada.max_high_risk, ada.max_complex = 4, 1, 2
    ada.save()
    held = make_waiting(service, weeks=30, risk="high", sessions=2)
    exclusions.complexity_set(referral=held, complex_case=True, user=coordinator)
    slots = list(ada.slots.order_by("weekday"))
    ada_user = ada.user
    assert ada_user is not None
    decisions.allocation_choose(
        referral=held, user=coordinator, slot_ids=[s.pk for s in slots], reason="Continuity"
    )
    waiting = make_waiting(service, weeks=10, risk="high")
    data = allocation_problem(service=service).data
    (row,) = [t for t in data["therapists"] if t["id"] == "Ada Lewis"]
    # Two sessions of four in use (a client seen twice a week); the high-risk client held
    # fills the cap of one; one complex client of two.
    assert (row["capacity"], row["caseload"]) == (4, 2)
    assert (row["max_high_risk"], row["high_risk_caseload"]) == (1, 1)
    assert (row["max_complex"], row["complex_caseload"]) == (2, 1)
    (ref,) = data["referrals"]
    assert ref["id"] == waiting.reference and "complex" not in ref
    (unplaced,) = result_to_dict(solve(parse_problem(data)))["unplaced"]
    assert "have room under their cap on high-risk clients: 0" in unplaced["reasons"][0]


def test_allocating_past_a_cap_or_the_free_sessions_is_refused(service, sites, ada, coordinator):
    ada.capacity, ada.max_high_risk = 3, 0
    ada.save()
    risky = make_waiting(service, weeks=5, risk="high")
    slots = list(ada.slots.order_by("weekday"))
    with pytest.raises(AllocationError, match="already has 0 high-risk clients, and their cap"):
        decisions.allocation_choose(
            referral=risky, user=coordinator, slot_ids=[slots[0].pk], reason="Asked for"
        )
    ada.max_high_risk, ada.capacity = None, 1
    ada.save()
    twice = make_waiting(service, weeks=5, sessions=2)
    with pytest.raises(AllocationError, match="has 1 free weekly session now, and this client"):
        decisions.allocation_choose(
            referral=twice, user=coordinator, slot_ids=[s.pk for s in slots], reason="Asked for"
        )


def test_choosing_another_therapist_shows_a_full_cap(service, sites, ada, coordinator):
    make_therapist(
        service,
        [sites["Riverside"]],
        [(1, "18:00", sites["Riverside"])],
        display_name="Ben Hart",
        capacity=5,
        max_complex=0,
    )
    referral = make_waiting(service, weeks=5)
    exclusions.complexity_set(referral=referral, complex_case=True, user=coordinator)
    options = choosing.choose_options(user=coordinator, referral=referral)
    rows = {r.therapist.display_name: r for g in options.groups for r in g.rows}
    if "Ben Hart" in rows:
        ben = rows["Ben Hart"].fit
        assert ben.tier == "unavailable"
        assert any("has reached the cap on complex clients" in x for x in ben.lacks)
    ada_fit = rows["Ada Lewis"].fit
    assert ada_fit.tier != "unavailable"
