"""Every form for a referral's allocation needs on its page: a value that cannot be kept is
a 400 with the page's error summary and what was typed, nothing saved; a good one saves and
goes back to the page saying so."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation.models import AllocationNeeds
from tests.allocation.conftest import make_waiting

pytestmark = pytest.mark.django_db

BAD = {
    "allocation-referral-gender": {"genders": ["nobody-of-the-kind"]},
    "allocation-referral-competence": {"competence": "wizard", "specialism": ""},
    "allocation-referral-course": {"length": "weeks", "weeks": "-5"},
    "allocation-referral-access": {"step_free": "no", "max_travel_minutes": "-7"},
    "allocation-referral-continuity": {"continuity": "sometimes"},
    "allocation-referral-languages": {"bsl": "perhaps", "spoken_language": "Polish"},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_need_that_cannot_be_kept_is_a_400_keeping_what_was_typed(
    client, service, coordinator, name
):
    referral = make_waiting(service)
    client.force_login(coordinator)

    response = client.post(reverse(name, args=[referral.public_id]), BAD[name])

    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    typed = [v for v in BAD[name].values() if isinstance(v, str) and v.startswith(("-", "P"))]
    for value in typed:
        assert f'value="{value}"' in html
    assert not AllocationNeeds.objects.filter(referral=referral).exists()


def test_a_need_kept_goes_back_to_the_page_saying_so(client, service, coordinator):
    referral = make_waiting(service)
    client.force_login(coordinator)

    response = client.post(
        reverse("allocation-referral-continuity", args=[referral.public_id]),
        {"continuity": "none"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse(
        "allocation-referral", args=[referral.public_id]
    )
    assert (
        f"Continuity for {referral.reference} is saved. Run the allocation again for new proposals."
        in response.content.decode()
    )
