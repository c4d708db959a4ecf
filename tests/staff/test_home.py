"""The staff home: each role sees what needs its attention, from its own service only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common import roles, selectors
from intake.models import Referral
from tests import factories
from tests.factories import ReferralFactory, TherapistFactory, WeeklySlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def our_referral(service):
    return ReferralFactory(client__service=service, reference="TH-BCDF-GHJK")


def test_staff_home_counts_only_own_service(client, coordinator, service, other_service):
    ReferralFactory.create_batch(
        2, client__service=service, status=Referral.Status.AWAITING_ALLOCATION
    )
    ReferralFactory.create_batch(
        5, client__service=other_service, status=Referral.Status.AWAITING_ALLOCATION
    )
    client.force_login(coordinator)

    response = client.get(reverse("staff-home"))

    assert response.context["counts"].awaiting_allocation == 2


def test_staff_home_shows_what_each_role_needs(
    client, assessor, therapist_user, service_admin, our_referral, service
):
    client.force_login(assessor)
    page = client.get(reverse("staff-home")).text
    assert "referrals waiting for assessment" in page
    assert our_referral.reference in page

    therapist = TherapistFactory(service=service, user=therapist_user, capacity=28)
    WeeklySlotFactory(therapist=therapist)
    client.force_login(therapist_user)
    page = client.get(reverse("staff-home")).text
    assert "up to 28 clients" in page
    assert "Tuesday 10:00" in page

    client.force_login(service_admin)
    page = client.get(reverse("staff-home")).text
    assert "your team" in page
    assert service_admin.last_name in page


def test_staff_home_links_coordinators_to_allocation(client, service, coordinator):
    client.force_login(coordinator)
    html = client.get(reverse("staff-home")).content.decode()
    assert reverse("allocation-waiting-list") in html
    assert reverse("allocation-caseloads") in html


@pytest.mark.django_db
def test_the_service_admins_team_table_is_bounded_and_says_so(
    client, service_admin, service, monkeypatch
):
    monkeypatch.setattr(selectors, "STAFF_SHOWN", 3)
    for n in range(4):
        factories.UserFactory(username=f"member{n}", service=service, roles=[roles.ASSESSOR])
    client.force_login(service_admin)
    page = client.get(reverse("staff-home")).content.decode()
    assert "Showing 3 of 5 active staff, by surname." in page


def test_a_therapists_home_lists_only_free_slots_and_links_their_allocated_clients(
    client, service, coordinator, therapist_user
):
    from allocation import decisions
    from allocation.selectors import therapist_caseload
    from tests.allocation.conftest import make_therapist, make_waiting

    profile = make_therapist(
        service, (), [(1, "18:00", None), (3, "18:00", None)], user=therapist_user
    )
    referral = make_waiting(service)
    tuesday = profile.slots.get(weekday=1)
    decisions.allocation_choose(
        referral=referral, user=coordinator, slot_ids=[tuesday.pk], reason="Evening"
    )
    client.force_login(therapist_user)
    page = client.get(reverse("staff-home"))
    week = page.text.split("Therapist: your week")[1].split("Not on track")[0]
    free = page.context["therapist_row"].free_slots
    assert (
        free == therapist_caseload(therapist=profile).free_slots == [profile.slots.get(weekday=3)]
    )
    assert "Thursday 18:00 (remote)" in week
    assert "Tuesday 18:00" not in week.split("Starting with you")[0]
    assert reverse("therapy-client", args=[referral.public_id]) in week


def test_the_coordinators_waiting_numbers_are_the_rows_of_the_waiting_list_they_open(
    client, service, coordinator
):
    """'Past 18 weeks' beside 'waiting for a therapist' counts those waiting for a
    therapist, not everyone still waiting for an assessment; someone on hold is not in
    the waiting list's 'Waiting for a therapist' rows."""
    import re
    from html import unescape

    from allocation.models import Hold
    from tests.allocation.conftest import make_waiting

    make_waiting(service, weeks=20)
    make_waiting(service, weeks=2)
    held = make_waiting(service, weeks=19)
    Hold.objects.create(service=service, referral=held, reason="Moving house", held_by=coordinator)
    ReferralFactory(
        client__service=service,
        status=Referral.Status.SUBMITTED,
        received_at=timezone.now() - timedelta(weeks=25),
    )
    client.force_login(coordinator)
    home = client.get(reverse("staff-home")).text
    section = home.split("Coordinator: the waiting list", 1)[1].split("</section>", 1)[0]
    links = re.findall(r'<a href="([^"]+)"[^>]*>\s*(\d+) ([^<]*)</a>', section)
    assert [(count, words) for _, count, words in links] == [
        ("2", "waiting for a therapist"),
        ("1", "of them waiting more than 18 weeks"),
        ("1", "on hold"),
    ]
    for href, count, _ in links:
        listing = client.get(unescape(href)).context["listing"]
        assert listing.total == int(count)
