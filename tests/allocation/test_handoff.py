"""Hand-offs from allocation to therapy: accepting an allocation plans the therapy with the
allocated profile's sign-in, the agreed slot and the first appointment; the therapist sees
and opens their allocated clients and the free slots of their profile; the referral is in
therapy from the first attended session; the coordinator sees who is allocated."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from allocation import decisions, selectors
from allocation.models import Allocation
from allocation.services import AllocationError
from intake.models import Referral
from notifications.models import Notification
from tests.allocation.conftest import make_waiting
from therapy import services as therapy_services
from therapy.models import SessionPlan, Therapy, TherapySession

pytestmark = pytest.mark.django_db


def allocate(referral, therapist, coordinator, weekday=1):
    slot = therapist.slots.get(weekday=weekday)
    return decisions.allocation_choose(
        referral=referral, user=coordinator, slot_ids=[slot.pk], reason="Evening slot"
    )


def test_allocating_plans_the_therapy_with_the_profiles_sign_in_slot_and_first_date(
    service, ada, coordinator
):
    referral = make_waiting(service)
    allocation = allocate(referral, ada, coordinator)

    therapy = Therapy.objects.get(referral=referral, ended_on=None)
    assert therapy.therapist == ada.user
    assert therapy.first_appointment_at == allocation.first_appointment_at
    assert therapy.started_on == timezone.localtime(allocation.first_appointment_at).date()
    plan = SessionPlan.objects.get(referral=referral)
    assert plan.regular_times == [{"weekday": 1, "time": "18:00"}]
    assert plan.starts_on == therapy.started_on
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ALLOCATED  # not in therapy before a session


def test_a_profile_without_a_sign_in_cannot_be_allocated_and_nothing_is_done(
    service, ada, coordinator
):
    ada.user = None
    ada.save()
    referral = make_waiting(service)
    with pytest.raises(AllocationError, match="no staff sign-in linked"):
        allocate(referral, ada, coordinator)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.AWAITING_ALLOCATION
    assert not Allocation.objects.filter(referral=referral).exists()
    assert not Therapy.objects.filter(referral=referral).exists()
    assert not SessionPlan.objects.filter(referral=referral).exists()
    assert not Notification.objects.filter(referral=referral).exists()


def test_the_therapist_opens_their_allocated_client_and_sees_only_free_slots(
    signed_in, service, ada, coordinator
):
    referral = make_waiting(service)
    allocate(referral, ada, coordinator)
    html = signed_in(ada.user).get(reverse("staff-home")).text
    client_url = reverse("therapy-client", args=[referral.public_id])
    assert f'href="{client_url}"' in html
    # Tuesday 18:00 is now booked: the home shows what the profile page shows as free.
    row = selectors.therapist_caseload(therapist=ada)
    assert [str(s) for s in row.free_slots] == ["Thursday 18:00 (remote)"]
    section = html.split("Therapist: your week")[1]
    assert "Thursday 18:00 (remote)" in section
    assert "Tuesday 18:00" not in section.split("Starting with you")[0]
    assert signed_in(ada.user).get(client_url).status_code == 200
    assert (
        signed_in(ada.user).get(reverse("sessions", args=[referral.public_id])).status_code == 200
    )


def test_the_first_attended_session_puts_the_referral_in_therapy(service, ada, coordinator):
    referral = make_waiting(service)
    allocation = allocate(referral, ada, coordinator)
    first = timezone.localtime(allocation.first_appointment_at).date()
    with pytest.raises(therapy_services.TherapyError, match="future"):
        therapy_services.therapy_session_record(
            referral=referral,
            user=ada.user,
            occurred_on=timezone.localdate() + dt.timedelta(days=1),
            attendance=TherapySession.Attendance.ATTENDED,
        )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ALLOCATED

    # The first appointment came and the client cancelled: still allocated.
    therapy_services.therapy_session_record(
        referral=referral,
        user=ada.user,
        occurred_on=timezone.localdate() - dt.timedelta(days=7),
        attendance=TherapySession.Attendance.CANCELLED_BY_CLIENT,
    )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ALLOCATED

    attended_on = timezone.localdate() - dt.timedelta(days=1)
    therapy_services.therapy_session_record(
        referral=referral,
        user=ada.user,
        occurred_on=attended_on,
        attendance=TherapySession.Attendance.ATTENDED,
    )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.IN_THERAPY
    therapy = Therapy.objects.get(referral=referral, ended_on=None)
    assert therapy.started_on == attended_on
    assert first >= attended_on  # the planned date was later; therapy starts when it did


def test_the_coordinators_waiting_list_separates_allocated_with_therapist_and_first_appointment(
    signed_in, service, ada, coordinator
):
    allocated = make_waiting(service, weeks=5)
    waiting = make_waiting(service, weeks=3)
    allocation = allocate(allocated, ada, coordinator)
    html = signed_in(coordinator).get(reverse("therapy-overview")).text
    allocated_part = html.split("Allocated, waiting for the first session")[1].split(
        "Waiting for a therapist"
    )[0]
    unallocated_part = html.split("Waiting for a therapist")[1].split("In therapy")[0]
    assert allocated.reference in allocated_part and waiting.reference not in allocated_part
    assert waiting.reference in unallocated_part and allocated.reference not in unallocated_part
    assert ada.user.get_full_name() in allocated_part
    first = timezone.localtime(allocation.first_appointment_at)
    assert f"{first:%-d %b %Y}, {first:%H:%M}" in allocated_part


def test_a_service_admin_links_a_profile_to_its_sign_in_and_then_it_can_be_allocated(
    signed_in, service, ada, coordinator, service_admin, therapist_user
):
    ada.user = None
    ada.save()
    page = signed_in(service_admin).get(reverse("allocation-therapist", args=[ada.public_id]))
    assert "Not linked yet" in page.text
    edit = reverse("allocation-therapist-edit", args=[ada.public_id])
    from allocation.forms import ProfileForm

    data = {k: v for k, v in ProfileForm.initial_for(ada).items() if k != "sites"}
    data["sites"] = [str(s.public_id) for s in ada.sites.all()]
    data["sign_in"] = str(therapist_user.public_id)
    response = signed_in(service_admin).post(edit, data)
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.user == therapist_user

    referral = make_waiting(service)
    allocate(referral, ada, coordinator)
    assert Therapy.objects.get(referral=referral).therapist == therapist_user
    # The therapist cannot move their own profile's link.
    form = signed_in(therapist_user).get(edit).text
    assert "Staff sign-in" not in form
