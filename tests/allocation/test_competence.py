"""Competence in the service: a therapist's grade (trainee or qualified), supervision and
specialisms on their profile; the competence a referral needs, recorded by the coordinator
on the referral's allocation page, read into the engine's problem, shown on the waiting
list and used to filter the choice of therapist."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation import choosing, exclusions
from allocation.engine import parse_problem, result_to_dict, solve
from allocation.engine_input import allocation_problem
from allocation.models import AllocationNeeds, ProposalRun
from tests.allocation.conftest import make_therapist, make_waiting

pytestmark = pytest.mark.django_db

PROFILE = {
    "display_name": "Ada Lewis",
    "gender": "female",
    "modalities": ["psychodynamic"],
    "languages": "English, Polish",
    "frequencies": ["1", "2"],
    "offers_remote": "yes",
    "capacity": "3",
}


@pytest.fixture
def tess(service, sites):
    """A trainee with a free Tuesday evening at Riverside, the client's time."""
    return make_therapist(
        service,
        [sites["Riverside"]],
        [(1, "18:00", sites["Riverside"])],
        display_name="Tess Trainee",
        grade="trainee",
        supervised=True,
        capacity=1,
    )


def test_the_profile_records_grade_supervision_and_specialisms(
    signed_in, service, sites, ada, service_admin
):
    client = signed_in(service_admin)
    url = reverse("allocation-therapist-edit", args=[ada.public_id])
    sites_field = {"sites": [str(sites["Riverside"].public_id)]}
    response = client.post(url, {**PROFILE, **sites_field, "grade": "trainee", "supervised": "no"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "A trainee works under clinical supervision" in html
    assert 'value="trainee" checked' in html  # what was chosen is kept
    response = client.post(
        url,
        {
            **PROFILE,
            **sites_field,
            "grade": "qualified",
            "supervised": "yes",
            "specialisms": ["perinatal", "trauma"],
        },
    )
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.grade, ada.supervised, ada.specialisms) == (
        "qualified",
        True,
        ["perinatal", "trauma"],
    )
    page = client.get(reverse("allocation-therapist", args=[ada.public_id])).content.decode()
    assert "Qualified, under clinical supervision" in page
    assert "Perinatal, trauma" in page
    # Left out of the form, a profile stays qualified and not supervised (older forms).
    client.post(url, {**PROFILE, **sites_field})
    ada.refresh_from_db()
    assert (ada.grade, ada.supervised, ada.specialisms) == ("qualified", False, [])


def test_the_coordinator_sets_the_competence_and_the_engine_keeps_it(
    client, service, sites, ada, tess, coordinator
):
    referral = make_waiting(service, weeks=20)
    client.force_login(coordinator)
    url = reverse("allocation-referral-competence", args=[referral.public_id])
    response = client.post(url, {"competence": "expert"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode() or (
        "Select what the therapist must be" in response.content.decode()
    )
    response = client.post(url, {"competence": "qualified", "specialism": "trauma"})
    assert response.status_code == 302
    needs = AllocationNeeds.objects.get(referral=referral)
    assert (needs.competence, needs.specialism) == ("qualified", "trauma")
    page = client.get(reverse("allocation-referral", args=[referral.public_id])).content.decode()
    assert "Therapist's competence: A qualified therapist, with the specialism trauma" in page
    waiting_page = client.get(reverse("allocation-waiting-list")).content.decode()
    assert "Needs a qualified therapist" in waiting_page
    assert "Needs the trauma specialism" in waiting_page
    filtered = client.get(reverse("allocation-waiting-list"), {"needs": "competence"})
    assert referral.reference in filtered.content.decode()

    data = allocation_problem(service=service).data
    (row,) = data["referrals"]
    assert (row["competence"], row["specialism"]) == ("qualified", "trauma")
    by_name = {t["id"]: t for t in data["therapists"]}
    assert by_name["Tess Trainee"]["grade"] == "trainee"
    assert by_name["Tess Trainee"]["supervised"] is True
    # Nobody on the team has the trauma specialism: the client waits, and is told why.
    result = result_to_dict(solve(parse_problem(data)))
    (waiting,) = result["unplaced"]
    assert (
        "have the competence asked for (a qualified therapist; specialism: trauma): 0"
        in (waiting["reasons"][0])
    )
    ada.specialisms = ["trauma"]
    ada.save()
    result = result_to_dict(solve(parse_problem(allocation_problem(service=service).data)))
    (placed,) = result["assignments"]
    assert placed["therapist"] == "Ada Lewis"
    assert (
        "competence requirement (a qualified therapist; specialism: trauma) met: is qualified; "
        "specialisms trauma"
    ) in placed["reasons"]


def test_the_choice_filtered_by_requirements_leaves_out_the_trainee(
    service, sites, ada, tess, coordinator
):
    referral = make_waiting(service, weeks=9)
    ProposalRun.objects.all().delete()
    exclusions.competence_set(
        referral=referral, competence="qualified", specialism="", user=coordinator
    )
    page = choosing.choose_options(user=coordinator, referral=referral)
    rows = {r.therapist.display_name: r for g in page.groups for r in g.rows}
    assert set(rows) == {"Ada Lewis", "Tess Trainee"}
    assert "is a trainee (the client needs a qualified therapist)" in rows["Tess Trainee"].lacks
    filtered = choosing.choose_options(
        user=coordinator, referral=referral, filters=choosing.ChooseFilters(requirements=True)
    )
    assert {r.therapist.display_name for g in filtered.groups for r in g.rows} == {"Ada Lewis"}
    assert ("Therapist's competence", "a qualified therapist") in page.asks
