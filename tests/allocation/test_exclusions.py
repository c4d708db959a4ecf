"""The coordinators' exclusions in the service: therapists a client must never be allocated
to (a conflict of interest, a previous complaint, a relative) and a therapist gender
excluded ("not a man"), recorded on the referral's allocation page, read into the engine's
problem, shown on the waiting list and the proposal, filtering the choice of therapist,
and enforced when a coordinator chooses a therapist themselves."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation import choosing, decisions, exclusions, services
from allocation.engine import parse_problem, result_to_dict, solve
from allocation.engine_input import allocation_problem
from allocation.models import AllocationNeeds, Proposal, ProposalRun, TherapistExclusion
from tests.allocation.conftest import make_therapist, make_waiting, run_queued

pytestmark = pytest.mark.django_db


@pytest.fixture
def ben(service, sites):
    """A man with a free Tuesday evening at Riverside: the client's times too."""
    return make_therapist(
        service,
        [sites["Riverside"]],
        [(1, "18:00", sites["Riverside"])],
        display_name="Ben Carter",
        gender="male",
        capacity=1,
    )


def _referral_url(referral, name="allocation-referral", *extra):
    return reverse(name, args=[referral.public_id, *extra])


def test_the_problem_carries_the_exclusions_and_the_engine_keeps_them(
    service, sites, ada, ben, coordinator
):
    referral = make_waiting(
        service, weeks=20, therapist_gender="male", therapist_gender_strength="preference"
    )
    exclusions.therapist_exclude(
        referral=referral, therapist=ada, reason="conflict_of_interest", note="", user=coordinator
    )
    exclusions.gender_exclusion_set(referral=referral, genders=["male"], user=coordinator)
    data = allocation_problem(service=service).data
    (row,) = data["referrals"]
    assert row["exclude_therapists"] == [
        {"therapist": "Ada Lewis", "reason": "conflict_of_interest"}
    ]
    assert row["gender_exclusion"] == ["male"]
    # The client's preference for a man gives way to the team's exclusion of one.
    assert "gender_preference" not in row
    result = result_to_dict(solve(parse_problem(data)))
    assert result["assignments"] == []  # Ada excluded by name, Ben by gender
    (waiting,) = result["unplaced"]
    assert "are not excluded for this client" in waiting["reasons"][0]


def test_a_coordinator_records_an_exclusion_and_the_proposals_go_stale(
    client, service, sites, ada, ben, coordinator, django_capture_on_commit_callbacks
):
    referral = make_waiting(service, weeks=9)
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("allocation-run-start"))
    run_queued()
    run = ProposalRun.objects.get()
    assert Proposal.objects.get(referral=referral).therapist in (ada, ben)

    response = client.post(_referral_url(referral, "allocation-referral-exclude"), {})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Select the therapist this client must not be allocated to" in page
    assert "Select why this therapist is excluded" in page

    # "Another reason" needs a note; what was chosen is kept.
    response = client.post(
        _referral_url(referral, "allocation-referral-exclude"),
        {"therapist": str(ada.public_id), "reason": "other"},
    )
    assert response.status_code == 400
    assert "Enter the reason, as it is not one of those listed" in response.content.decode()
    assert f'value="{ada.public_id}" selected' in response.content.decode()

    response = client.post(
        _referral_url(referral, "allocation-referral-exclude"),
        {"therapist": str(ada.public_id), "reason": "relative", "note": "Her cousin"},
    )
    assert response.status_code == 302
    exclusion = TherapistExclusion.objects.get()
    assert (exclusion.therapist, exclusion.reason, exclusion.note) == (
        ada,
        "relative",
        "Her cousin",
    )
    run.refresh_from_db()
    assert run.stale_reason == "a therapist was excluded for a client"

    page = client.get(_referral_url(referral)).content.decode()
    assert "A relative or someone the client knows: Her cousin" in page
    # Ada is no longer offered in the form, so she cannot be excluded twice.
    assert f'<option value="{ada.public_id}"' not in page
    with pytest.raises(services.AllocationError, match="Ada Lewis is already excluded"):
        exclusions.therapist_exclude(
            referral=referral, therapist=ada, reason="other", note="x", user=coordinator
        )

    # The next run never proposes Ada, and says why the proposal it makes fits.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("allocation-run-start"))
    run_queued()
    proposal = Proposal.objects.filter(referral=referral).order_by("-created_at").first()
    assert proposal.therapist == ben
    assert (
        "not a therapist excluded for this client (excluded: Ada Lewis: a relative or someone "
        "the client knows)"
    ) in proposal.reasons
    page = client.get(_referral_url(referral)).content.decode()
    assert "not a therapist excluded for this client" in page

    response = client.post(
        _referral_url(referral, "allocation-exclusion-remove", exclusion.public_id)
    )
    assert response.status_code == 302 and not TherapistExclusion.objects.exists()


def test_another_services_therapist_cannot_be_excluded(service, sites, coordinator):
    from tests import factories

    other = factories.ServiceFactory(slug="elsewhere")
    stranger = make_therapist(other, display_name="Stranger")
    referral = make_waiting(service)
    with pytest.raises(services.AllocationError, match="Select a therapist of this service"):
        exclusions.therapist_exclude(
            referral=referral, therapist=stranger, reason="relative", note="", user=coordinator
        )


def test_the_gender_requirement_is_set_shown_and_refused_against_the_clients_own(
    client, service, sites, ada, ben, coordinator
):
    referral = make_waiting(service)
    client.force_login(coordinator)
    response = client.post(
        _referral_url(referral, "allocation-referral-gender"), {"genders": ["male"]}
    )
    assert response.status_code == 302
    assert AllocationNeeds.objects.get(referral=referral).gender_excluded == ["male"]
    page = client.get(_referral_url(referral)).content.decode()
    assert "must not be male (a requirement)" in page
    assert "Therapist must not be a man" in page

    response = client.post(
        _referral_url(referral, "allocation-referral-gender"), {"genders": ["nobody"]}
    )
    assert response.status_code == 400
    assert "Select only the genders listed" in response.content.decode()

    requires_man = make_waiting(
        service, therapist_gender="male", therapist_gender_strength="requirement"
    )
    response = client.post(
        _referral_url(requires_man, "allocation-referral-gender"), {"genders": ["male"]}
    )
    assert response.status_code == 400
    assert "The client requires a male therapist" in response.content.decode()
    assert not AllocationNeeds.objects.filter(referral=requires_man).exists()

    # Clearing every box clears the requirement.
    client.post(_referral_url(referral, "allocation-referral-gender"), {})
    assert AllocationNeeds.objects.get(referral=referral).gender_excluded == []


def test_the_waiting_list_shows_and_filters_the_exclusions(
    client, service, sites, ada, coordinator
):
    excluded = make_waiting(service, weeks=4)
    plain = make_waiting(service, weeks=5)
    exclusions.therapist_exclude(
        referral=excluded, therapist=ada, reason="previous_complaint", note="", user=coordinator
    )
    exclusions.gender_exclusion_set(referral=excluded, genders=["male"], user=coordinator)
    client.force_login(coordinator)
    page = client.get(reverse("allocation-waiting-list")).content.decode()
    assert "1 therapist excluded" in page and "Therapist must not be a man" in page
    page = client.get(reverse("allocation-waiting-list"), {"needs": "exclusions"}).content.decode()
    assert excluded.reference in page and plain.reference not in page


def test_choosing_an_excluded_therapist_is_not_offered_and_is_refused(
    service, sites, ada, ben, coordinator
):
    referral = make_waiting(service, weeks=9)
    exclusions.therapist_exclude(
        referral=referral, therapist=ben, reason="conflict_of_interest", note="", user=coordinator
    )
    page = choosing.choose_options(user=coordinator, referral=referral)
    unavailable = {row.therapist.display_name: row for row in page.unavailable}
    assert "excluded for this client (conflict of interest)" in unavailable["Ben Carter"].lacks
    assert "Ben Carter" not in {row.therapist.display_name for row in page.choosable}
    with pytest.raises(services.AllocationError, match="Ben Carter is excluded for this client"):
        decisions.allocation_choose(
            referral=referral,
            user=coordinator,
            slot_ids=[ben.slots.get().pk],
            reason="The only evening left",
        )


def test_choosing_a_therapist_of_an_excluded_gender_is_refused(
    service, sites, ada, ben, coordinator
):
    referral = make_waiting(service, weeks=9)
    exclusions.gender_exclusion_set(referral=referral, genders=["male"], user=coordinator)
    with pytest.raises(services.AllocationError, match="must not be male"):
        decisions.allocation_choose(
            referral=referral,
            user=coordinator,
            slot_ids=[ben.slots.get().pk],
            reason="The only evening left",
        )


def test_the_choice_can_be_filtered_to_those_meeting_every_requirement(
    client, service, sites, ada, ben, coordinator
):
    # Ben has a free place and a slot in the client's times, but is a man.
    referral = make_waiting(service, weeks=9)
    exclusions.gender_exclusion_set(referral=referral, genders=["male"], user=coordinator)
    page = choosing.choose_options(user=coordinator, referral=referral)
    shown = {row.therapist.display_name for group in page.groups for row in group.rows}
    assert shown == {"Ada Lewis", "Ben Carter"}
    filtered = choosing.choose_options(
        user=coordinator, referral=referral, filters=choosing.ChooseFilters(requirements=True)
    )
    shown = {row.therapist.display_name for group in filtered.groups for row in group.rows}
    assert shown == {"Ada Lewis"}
    client.force_login(coordinator)
    html = client.get(
        reverse("allocation-referral-choose", args=[referral.public_id]), {"requirements": "1"}
    ).content.decode()
    assert 'id="id_requirements" name="requirements" type="checkbox" value="1" checked' in html
    assert "is male (the client requires: not male)" not in html  # Ben is filtered out
    assert "Not male, a requirement" in html
