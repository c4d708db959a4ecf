"""Languages in the service: the languages the service can book an interpreter for (a
service setting the coordinator keeps), and a client who needs BSL as well as a spoken
language (recorded on the referral's allocation page), read into the engine's problem,
shown on the waiting list and used by the choice of therapist."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation import choosing, interpreters
from allocation.engine import parse_problem, result_to_dict, solve
from allocation.engine_input import allocation_problem
from allocation.models import AllocationNeeds, AllocationSettings, ProposalRun
from allocation.services import AllocationError
from tests.allocation.conftest import make_therapist, make_waiting

pytestmark = pytest.mark.django_db


def test_the_coordinator_keeps_the_interpreter_languages(client, service, coordinator):
    client.force_login(coordinator)
    url = reverse("allocation-interpreters")
    page = client.get(url).content.decode()
    assert "Now: any language." in page
    response = client.post(url, {"scope": "listed", "languages": " , ,"})
    assert response.status_code == 400
    assert "Enter the languages" in response.content.decode()
    response = client.post(url, {"languages": "Polish"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select any language, or only the languages listed" in html
    assert "Polish" in html  # what was typed is kept
    response = client.post(
        url, {"scope": "listed", "languages": "Polish, urdu\nBritish Sign Language"}
    )
    assert response.status_code == 302
    row = AllocationSettings.objects.get(service=service)
    assert row.interpreter_languages == ["bsl", "polish", "urdu"]
    assert "Now: only BSL, Polish, Urdu." in client.get(url).content.decode()
    data = allocation_problem(service=service).data
    assert data["interpreter_languages"] == {service.slug: ["bsl", "polish", "urdu"]}
    client.post(url, {"scope": "any", "languages": ""})
    assert interpreters.interpreter_languages(service_id=service.pk) is None
    assert "interpreter_languages" not in allocation_problem(service=service).data


def test_bsl_as_well_as_english_end_to_end(client, service, sites, ada, coordinator):
    signer = make_therapist(
        service,
        [sites["Riverside"]],
        [(1, "18:00", sites["Riverside"])],
        display_name="Sam Signs",
        capacity=1,
        languages=["English", "BSL"],
    )
    referral = make_waiting(service, weeks=20)
    interpreters.interpreter_languages_set(
        service_id=service.pk, languages=["polish"], user=coordinator
    )
    client.force_login(coordinator)
    url = reverse("allocation-referral-languages", args=[referral.public_id])
    response = client.post(url, {"bsl": "no", "spoken_language": "Polish"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Tick &#x27;Needs BSL as well&#x27;" in html or "Needs BSL as well" in html
    assert 'value="Polish"' in html
    response = client.post(url, {"bsl": "yes", "spoken_language": "BSL"})
    assert response.status_code == 400
    assert "not BSL" in response.content.decode()
    response = client.post(url, {"bsl": "yes", "spoken_language": ""})
    assert response.status_code == 302
    needs = AllocationNeeds.objects.get(referral=referral)
    assert (needs.bsl, needs.spoken_language) == (True, "")
    page = client.get(reverse("allocation-referral", args=[referral.public_id])).content.decode()
    assert "Needs BSL as well as English" in page
    waiting_page = client.get(reverse("allocation-waiting-list")).content.decode()
    assert "Needs BSL as well as English" in waiting_page
    filtered = client.get(reverse("allocation-waiting-list"), {"needs": "bsl"})
    assert referral.reference in filtered.content.decode()

    data = allocation_problem(service=service).data
    (row,) = data["referrals"]
    assert row["bsl"] is True and row.get("language", "english") == "english"
    # BSL cannot be booked: only the signer will do.
    result = result_to_dict(solve(parse_problem(data)))
    (placed,) = result["assignments"]
    assert placed["therapist"] == "Sam Signs"
    assert "signs BSL, so no BSL interpreter is needed" in placed["reasons"]
    # The choice of therapist says what Ada lacks, and the filter leaves her out.
    ProposalRun.objects.all().delete()
    page = choosing.choose_options(user=coordinator, referral=referral)
    rows = {r.therapist.display_name: r for g in page.groups for r in g.rows}
    assert "does not sign BSL (no BSL interpreter can be booked)" in rows["Ada Lewis"].lacks
    filtered = choosing.choose_options(
        user=coordinator, referral=referral, filters=choosing.ChooseFilters(requirements=True)
    )
    assert {r.therapist.display_name for g in filtered.groups for r in g.rows} == {
        signer.display_name
    }
    with pytest.raises(AllocationError):
        interpreters.interpreter_languages_set(
            service_id=service.pk, languages=["x" * 51], user=coordinator
        )
