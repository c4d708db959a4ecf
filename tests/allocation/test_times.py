"""Exact times on the coordinator's pages: the referral page's form (with its errors, keeping
what was typed), the record in the client's preferences, the engine's problem, the waiting
list, a proposal's reasons and the choice of another therapist."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation import choosing, exclusions, waiting
from allocation.engine import parse_problem, result_to_dict, solve
from allocation.engine_input import allocation_problem
from allocation.models import ProposalRun
from allocation.services import AllocationError
from intake.models import Preferences
from tests.allocation.conftest import make_therapist, make_waiting

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        (
            "Tuesday 5pm",
            "Enter &#x27;Tuesday 5pm&#x27; as a day and times, like Tuesday 17:30-20:00",
        ),
        (
            "Tuesday 20:00-17:30",
            "&#x27;Tuesday 20:00-17:30&#x27; ends before it starts: enter the start time first",
        ),
        (
            "Tuesday 22:00-24:30",
            "&#x27;Tuesday 22:00-24:30&#x27; is outside the day: times run from 00:00 to 24:00",
        ),
        (
            "Someday 10:00-11:00",
            "&#x27;Someday 10:00-11:00&#x27; does not start with a day of the week",
        ),
        (
            "Tuesday 17:30-20:00\nTuesday 19:00-21:00",
            "Tuesday 17:30\u201320:00 and Tuesday 19:00\u201321:00 overlap: enter each time once",
        ),
    ],
)
def test_the_times_form_says_what_is_wrong_and_keeps_what_was_typed(
    client, service, coordinator, typed, error
):
    referral = make_waiting(service)
    client.force_login(coordinator)
    url = reverse("allocation-referral-times", args=[referral.public_id])
    response = client.post(url, {"windows": typed, "preferred": "Thursday 18:00-19:00"})
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html
    assert typed.split("\n")[0] in html  # what was typed is kept
    assert "Thursday 18:00-19:00" in html
    assert 'href="#id_windows"' in html  # the error summary links to the field
    assert Preferences.objects.get(referral=referral).time_windows == []


def test_the_coordinator_sets_exact_times_and_every_page_uses_them(
    client, service, ada, coordinator, sites
):
    referral = make_waiting(service, weeks=10)
    client.force_login(coordinator)
    url = reverse("allocation-referral-times", args=[referral.public_id])
    # Ada's slots are Tuesday 18:00 (Riverside) and Thursday 18:00 (remote), 50 minutes.
    response = client.post(
        url, {"windows": "Tuesday 17:30-20:00\nThu 18:10-21:00", "preferred": ""}
    )
    assert response.status_code == 302
    preferences = Preferences.objects.get(referral=referral)
    assert preferences.time_windows == [
        {"day": 1, "start": "17:30", "end": "20:00"},
        {"day": 3, "start": "18:10", "end": "21:00"},
    ]
    # The client's own answers are kept as they gave them.
    assert preferences.availability == ["tue_morning", "tue_evening", "thu_evening"]

    page = client.get(reverse("allocation-referral", args=[referral.public_id])).content.decode()
    assert "Tuesday 17:30\u201320:00, Thursday 18:10\u201321:00" in page
    assert "Tuesday 17:30-20:00\nThursday 18:10-21:00" in page  # the form, filled in
    waiting_page = client.get(reverse("allocation-waiting-list")).content.decode()
    assert "Only Tuesday 17:30\u201320:00, Thursday 18:10\u201321:00" in waiting_page

    data = allocation_problem(service=service).data
    (row,) = data["referrals"]
    assert row["availability"] == [] and len(row["windows"]) == 2
    result = result_to_dict(solve(parse_problem(data)))
    (placed,) = result["assignments"]
    assert [(s["day_name"], s["start"]) for s in placed["slots"]] == [("Tuesday", "18:00")]
    assert (
        "Tuesday 18:00 evening slot (50 min, in person at Riverside Centre) matches "
        "availability (inside Tuesday 17:30\u201320:00)" in placed["reasons"]
    )

    # Choose another therapist: Thursday 18:00 is outside the client's times now.
    ProposalRun.objects.all().delete()
    page = choosing.choose_options(user=coordinator, referral=referral)
    (ada_row,) = [r for g in page.groups for r in g.rows if r.therapist == ada]
    marks = {s.slot.weekday: s.fit.in_times for s in ada_row.slots}
    assert marks == {1: True, 3: False}
    assert ("Available", "Tue 17:30\u201320:00, Thu 18:10\u201321:00") in page.asks

    # Only Thursday, where no slot fits: the client waits, and is told by how much.
    client.post(url, {"windows": "Thursday 18:10-21:00", "preferred": ""})
    result = result_to_dict(solve(parse_problem(allocation_problem(service=service).data)))
    (waiting,) = result["unplaced"]
    assert any(
        "widening Thursday 18:10\u201321:00 to 18:00\u201321:00 would make 1 of them eligible" in s
        for s in waiting["suggestions"]
    )
    filtered = choosing.choose_options(
        user=coordinator, referral=referral, filters=choosing.ChooseFilters(times=True)
    )
    assert not [r for g in filtered.groups for r in g.rows]

    # Emptied: the parts of the day the client gave apply again.
    client.post(url, {"windows": "", "preferred": ""})
    (row,) = allocation_problem(service=service).data["referrals"]
    assert "windows" not in row and row["availability"]


def test_preferred_times_are_recorded_and_shown(client, service, coordinator, sites):
    make_therapist(service, [sites["Riverside"]], [(1, "18:00", sites["Riverside"])])
    referral = make_waiting(service)
    client.force_login(coordinator)
    url = reverse("allocation-referral-times", args=[referral.public_id])
    client.post(url, {"windows": "", "preferred": "Tuesday 18:00-19:00"})
    waiting_page = client.get(reverse("allocation-waiting-list")).content.decode()
    assert "Would rather have Tuesday 18:00\u201319:00" in waiting_page
    result = result_to_dict(solve(parse_problem(allocation_problem(service=service).data)))
    (placed,) = result["assignments"]
    assert "preferred time (Tuesday 18:00\u201319:00) met" in placed["reasons"]


def test_the_service_refuses_overlapping_times(service, coordinator):
    referral = make_waiting(service)
    with pytest.raises(AllocationError, match="overlap"):
        exclusions.times_set(
            referral=referral,
            windows=[(1, 1050, 1200), (1, 1140, 1260)],
            preferred=[],
            user=coordinator,
        )


def test_exact_times_count_as_times_given_when_the_client_gave_no_parts_of_the_day(
    service, ada, coordinator
):
    referral = make_waiting(service, availability=[])
    ProposalRun.objects.all().delete()
    exclusions.times_set(
        referral=referral, windows=[(1, 17 * 60, 20 * 60)], preferred=[], user=coordinator
    )
    page = choosing.choose_options(user=coordinator, referral=referral)
    assert ("Available", "Tue 17:00\u201320:00") in page.asks
    referral.refresh_from_db()
    needs = " ".join(waiting.referral_needs(referral))
    assert "Only Tuesday 17:00\u201320:00" in needs and "No times given" not in needs
