"""Time in the service: leave and planned breaks on a therapist's profile; the earliest
start and the planned length of therapy, recorded by the coordinator on the referral's
allocation page, read into the engine's problem (which checks the therapist's time away
across the whole course), shown on the waiting list and used by the choice of therapist."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from allocation import choosing, exclusions
from allocation.engine import parse_problem, result_to_dict, solve
from allocation.engine_input import allocation_problem
from allocation.models import AllocationNeeds, LeavePeriod, ProposalRun
from allocation.selectors import NOTICE_DAYS
from allocation.services import AllocationError
from tests import factories
from tests.allocation.conftest import make_waiting

pytestmark = pytest.mark.django_db


def _date(prefix: str, day: dt.date) -> dict[str, str]:
    return {
        f"{prefix}_day": str(day.day),
        f"{prefix}_month": str(day.month),
        f"{prefix}_year": str(day.year),
    }


def test_the_profile_records_a_planned_break(signed_in, ada, service_admin):
    client = signed_in(service_admin)
    url = reverse("allocation-leave-add", args=[ada.public_id])
    today = timezone.localdate()
    first, last = today + dt.timedelta(days=40), today + dt.timedelta(days=46)
    response = client.post(
        url, {"kind": "holiday", **_date("starts_on", first), **_date("ends_on", last)}
    )
    assert response.status_code == 400
    assert "Select leave or a planned break" in response.content.decode()
    response = client.post(
        url, {"kind": "break", **_date("starts_on", first), **_date("ends_on", last)}
    )
    assert response.status_code == 302
    assert ada.leave.get().kind == LeavePeriod.Kind.BREAK
    page = client.get(reverse("allocation-therapist", args=[ada.public_id])).content.decode()
    assert f"Planned break: {first:%-d %B %Y} to {last:%-d %B %Y}" in page


def test_the_coordinator_sets_the_course_and_the_engine_checks_the_whole_of_it(
    client, service, ada, coordinator
):
    referral = make_waiting(service, weeks=20)
    today = timezone.localdate()
    start = today + dt.timedelta(days=NOTICE_DAYS)
    # Ada is free on the planned start, away on a planned break in the sixth week.
    factories.LeavePeriodFactory(
        therapist=ada,
        kind=LeavePeriod.Kind.BREAK,
        starts_on=start + dt.timedelta(days=35),
        ends_on=start + dt.timedelta(days=41),
    )
    client.force_login(coordinator)
    url = reverse("allocation-referral-course", args=[referral.public_id])
    later = today + dt.timedelta(days=3)
    response = client.post(url, {**_date("earliest_start", later), "length": "weeks"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the number of weeks of the course" in html
    assert f'value="{later.day}"' in html  # what was typed is kept
    past = today - dt.timedelta(days=1)
    response = client.post(url, {**_date("earliest_start", past), "length": "open"})
    assert response.status_code == 400
    assert "The earliest start must be today or in the future" in response.content.decode()
    response = client.post(url, {"length": "weeks", "weeks": "16"})
    assert response.status_code == 302
    needs = AllocationNeeds.objects.get(referral=referral)
    assert (needs.earliest_start, needs.therapy_weeks) == (None, 16)
    page = client.get(reverse("allocation-referral", args=[referral.public_id])).content.decode()
    assert "Length: 16 weeks" in page
    waiting_page = client.get(reverse("allocation-waiting-list")).content.decode()
    assert "A course of 16 weeks" in waiting_page
    filtered = client.get(reverse("allocation-waiting-list"), {"needs": "course"})
    assert referral.reference in filtered.content.decode()

    data = allocation_problem(service=service).data
    (row,) = data["referrals"]
    assert row["therapy_weeks"] == 16 and "earliest_start" not in row
    # The break falls inside the 16 weeks: the client waits, and is told why.
    result = result_to_dict(solve(parse_problem(data)))
    (waiting,) = result["unplaced"]
    assert "are not away during the planned course" in waiting["reasons"][0]
    assert any("a course of 5 weeks or fewer" in s for s in waiting["suggestions"])
    # A five-week course ends before the break.
    client.post(url, {"length": "weeks", "weeks": "5"})
    result = result_to_dict(solve(parse_problem(allocation_problem(service=service).data)))
    (placed,) = result["assignments"]
    assert placed["therapist"] == "Ada Lewis"
    # An earliest start after the break: open-ended, the first 12 weeks are clear again.
    after = start + dt.timedelta(days=42)
    client.post(url, {**_date("earliest_start", after), "length": "open"})
    waiting_page = client.get(reverse("allocation-waiting-list")).content.decode()
    assert f"Cannot start before {after:%-d %B %Y}" in waiting_page
    result = result_to_dict(solve(parse_problem(allocation_problem(service=service).data)))
    (placed,) = result["assignments"]
    assert f"starts on the client's earliest start ({after.isoformat()})" in " ".join(
        placed["reasons"]
    )


def test_the_choice_filtered_by_requirements_leaves_out_a_therapist_away_in_the_course(
    service, ada, coordinator
):
    referral = make_waiting(service, weeks=9)
    ProposalRun.objects.all().delete()
    start = timezone.localdate() + dt.timedelta(days=NOTICE_DAYS)
    factories.LeavePeriodFactory(
        therapist=ada, starts_on=start + dt.timedelta(days=20), ends_on=start + dt.timedelta(25)
    )
    exclusions.course_set(referral=referral, earliest_start=None, therapy_weeks=8, user=coordinator)
    page = choosing.choose_options(user=coordinator, referral=referral)
    rows = {r.therapist.display_name: r for g in page.groups for r in g.rows}
    assert any("during the planned course" in words for words in rows["Ada Lewis"].lacks)
    assert ("Course", f"{start} to {start + dt.timedelta(days=55)}, 8 weeks") in page.asks
    filtered = choosing.choose_options(
        user=coordinator, referral=referral, filters=choosing.ChooseFilters(requirements=True)
    )
    assert not [r for g in filtered.groups for r in g.rows]
    with pytest.raises(AllocationError):
        exclusions.course_set(
            referral=referral, earliest_start=None, therapy_weeks=0, user=coordinator
        )
