"""The demo data tells one story: what one page says about a referral, every other page
says too, and the dates follow one another as they would in a real service."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from allocation.models import Allocation, Therapist
from assessment.models import Assessment, AssessmentAppointment
from common.models import User
from intake.models import MeasureResponse, Referral
from therapy.models import SessionPlan, Therapy, TherapySession

pytestmark = pytest.mark.django_db

ROLES = ["assessor", "coordinator", "therapist", "serviceadmin"]
# A link on the staff home whose words start with a number: the number counts the rows
# of the list it opens.
COUNTED_LINK = re.compile(r'<a href="(?P<href>[^"]+)"[^>]*>\s*(?P<count>\d+)\b(?P<words>[^<]*)')


def _rows_on(response) -> int:
    context = response.context
    path = urlsplit(response.request["PATH_INFO"]).path
    if path == reverse("staff-referral-list"):
        return context["referrals"].paginator.count
    if path == reverse("allocation-waiting-list"):
        return context["listing"].total
    if path == reverse("therapy-caseload"):
        return context["rows"].paginator.count
    if path == reverse("allocation-caseloads"):
        return context["page"].paginator.count
    if path == reverse("assessment-worklist"):
        return context["rows"].paginator.count
    if path == reverse("rights-tasks"):
        return context["tasks"].paginator.count
    raise AssertionError(f"A counted link to a list this test does not know: {path}")


@pytest.fixture
def demo():
    call_command("seed_demo")


@pytest.mark.parametrize("username", ROLES)
def test_each_count_on_the_staff_home_is_the_number_of_rows_on_the_list_it_opens(
    client, demo, username
):
    client.force_login(User.objects.get(username=username))
    home = client.get(reverse("staff-home")).content.decode()
    links = [
        (unescape(m["href"]), int(m["count"]), m["words"]) for m in COUNTED_LINK.finditer(home)
    ]
    assert links, "the home's counts open the lists they count"
    for href, count, words in links:
        response = client.get(href)
        assert response.status_code == 200, href
        assert _rows_on(response) == count, f"{count}{words} -> {href}"


def test_the_coordinators_waiting_numbers_open_the_waiting_list_they_count(client, demo):
    client.force_login(User.objects.get(username="coordinator"))
    home = client.get(reverse("staff-home")).content.decode()
    section = home.split("Coordinator: the waiting list", 1)[1].split("</section>", 1)[0]
    hrefs = [unescape(m["href"]) for m in COUNTED_LINK.finditer(section)]
    assert len(hrefs) == 2
    assert all(href.startswith(reverse("allocation-waiting-list")) for href in hrefs)


def test_a_referrals_status_is_the_same_on_the_list_and_on_the_worklists(client, demo):
    referrals = Referral.objects.all()
    for referral in referrals:
        booked = AssessmentAppointment.objects.filter(referral=referral).exists()
        assessed = Assessment.objects.filter(
            referral=referral, status=Assessment.Status.FINISHED
        ).exists()
        allocated = Allocation.objects.filter(referral=referral, status="active").exists()
        therapies = Therapy.objects.filter(referral=referral)
        status = referral.status
        where = f"{referral.reference} is '{referral.get_status_display()}'"
        assert booked == (status == Referral.Status.ASSESSMENT_BOOKED), where
        assert assessed == (status not in (Referral.Status.SUBMITTED, "assessment_booked")), where
        assert allocated == (status in (Referral.Status.ALLOCATED, Referral.Status.IN_THERAPY))
        if status in (Referral.Status.ALLOCATED, Referral.Status.IN_THERAPY):
            assert therapies.filter(ended_on=None).count() == 1, where
        elif status == Referral.Status.ENDED:
            assert therapies.exists() and not therapies.filter(ended_on=None).exists(), where
        else:
            assert not therapies.exists(), where

    client.force_login(User.objects.get(username="assessor"))
    worklist = client.get(reverse("assessment-worklist")).context["rows"]
    for row in worklist:
        booked = row.referral.status == Referral.Status.ASSESSMENT_BOOKED
        assert (row.booking is not None) == booked, row.referral.reference

    client.force_login(User.objects.get(username="coordinator"))
    overview = client.get(reverse("therapy-overview")).context
    assert overview["allocated"].paginator.count == referrals.filter(status="allocated").count()
    assert overview["rows"].paginator.count == referrals.filter(status="in_therapy").count()
    waiting = client.get(reverse("allocation-waiting-list"), {"status": "allocated"})
    assert waiting.context["listing"].total == referrals.filter(status="allocated").count()


def _slot_times(allocation: Allocation) -> list[tuple[int, str]]:
    return sorted((t["weekday"], t["start"]) for t in allocation.regular_times)


def test_plans_therapies_and_sessions_agree_with_the_allocation(demo):
    today = timezone.localdate()
    allocations = Allocation.objects.filter(status="active").select_related("referral", "therapist")
    assert (
        allocations.count()
        == Referral.objects.filter(status__in=["allocated", "in_therapy"]).count()
    )
    for allocation in allocations:
        referral = allocation.referral
        where = referral.reference
        plan = SessionPlan.objects.filter(referral=referral).order_by("-version").first()
        assert plan is not None, where
        assert sorted((t["weekday"], t["time"]) for t in plan.regular_times) == _slot_times(
            allocation
        ), where
        assert allocation.session_plan_version == plan.version, where
        therapy = Therapy.objects.get(referral=referral, ended_on=None)
        assert therapy.therapist == allocation.therapist.user, where
        first = timezone.localtime(allocation.first_appointment_at)
        assert therapy.first_appointment_at == allocation.first_appointment_at, where
        assert (first.weekday(), f"{first:%H:%M}") in _slot_times(allocation), where
        assert referral.received_at < allocation.allocated_at <= timezone.now(), where
        assert allocation.allocated_at < allocation.first_appointment_at, where
        assessment = Assessment.objects.get(referral=referral)
        assert referral.received_at < assessment.finished_at <= allocation.allocated_at, where
        if referral.status == Referral.Status.ALLOCATED:
            assert first.date() > today, f"{where}: not started, first appointment ahead"
            assert not TherapySession.objects.filter(referral=referral).exists(), where
        else:
            assert therapy.started_on == first.date(), where
        for session in TherapySession.objects.filter(referral=referral):
            assert session.occurred_on.weekday() in {d for d, _ in _slot_times(allocation)}
            assert first.date() <= session.occurred_on <= today, where


def test_no_demo_date_comes_before_what_it_follows(demo):
    now = timezone.now()
    for referral in Referral.objects.all():
        assert referral.received_at <= now
        for response in MeasureResponse.objects.filter(referral=referral):
            assert response.completed_at >= referral.received_at, referral.reference
        for appointment in AssessmentAppointment.objects.filter(referral=referral):
            start = timezone.localtime(appointment.starts_at)
            assert start > now and start.weekday() < 5, referral.reference
        for therapy in Therapy.objects.filter(referral=referral):
            assert therapy.started_on >= timezone.localtime(referral.received_at).date()
            if therapy.ended_on:
                assert therapy.started_on < therapy.ended_on <= timezone.localdate()
    for flag_date in Therapy.objects.values_list("started_on", flat=True):
        assert flag_date > timezone.localdate() - timedelta(weeks=30)


def test_every_therapist_profile_holding_clients_is_a_colleague_who_sees_them(demo):
    for therapy in Therapy.objects.filter(ended_on=None):
        profile = Therapist.objects.get(user=therapy.therapist)
        assert Allocation.objects.filter(
            referral=therapy.referral, therapist=profile, status="active"
        ).exists()
