"""The assessor's worklist (oldest and riskiest first) and booking an assessment."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assessment.models import AssessmentAppointment
from assessment.selectors import assessment_worklist
from intake.models import Referral, RiskFlag
from notifications.models import Notification
from tests.factories import ReferralFactory, SiteFactory

pytestmark = pytest.mark.django_db


def make(service, reference, *, weeks, risk="none_known", status=Referral.Status.SUBMITTED):
    return ReferralFactory(
        client__service=service,
        reference=reference,
        risk_level=risk,
        status=status,
        received_at=timezone.now() - timedelta(weeks=weeks),
    )


def test_worklist_orders_open_flags_then_risk_then_wait(service, assessor, other_service):
    old_low = make(service, "TH-AAAA-AAAA", weeks=10, risk="low")
    new_high = make(service, "TH-BBBB-BBBB", weeks=1, risk="high")
    older_none = make(service, "TH-CCCC-CCCC", weeks=12)
    flagged = make(service, "TH-DDDD-DDDD", weeks=2)
    booked = make(service, "TH-FFFF-FFFF", weeks=5, status=Referral.Status.ASSESSMENT_BOOKED)
    make(service, "TH-GGGG-GGGG", weeks=30, status=Referral.Status.AWAITING_ALLOCATION)
    make(other_service, "TH-HHHH-HHHH", weeks=40, risk="high")
    RiskFlag.objects.create(
        service=service,
        referral=flagged,
        source=RiskFlag.Source.PHQ9_ITEM9,
        detail="PHQ-9 item 9 answered above 0",
        raised_at=timezone.now(),
    )

    order = [row.referral.reference for row in assessment_worklist(user=assessor)]

    assert order == [
        flagged.reference,
        new_high.reference,
        old_low.reference,
        older_none.reference,
        booked.reference,
    ]


def test_worklist_page_links_flags_to_acknowledgement_and_lists_actions(client, assessor, service):
    referral = make(service, "TH-DDDD-DDDD", weeks=2)
    RiskFlag.objects.create(
        service=service,
        referral=referral,
        source=RiskFlag.Source.SAFETY_QUESTION,
        detail="Answered 'no' to 'Are you safe right now?'",
        raised_at=timezone.now(),
    )
    client.force_login(assessor)

    page = client.get(reverse("assessment-worklist")).text

    assert "Open risk flags" in page
    assert reverse("staff-referral-detail", args=[referral.public_id]) in page
    assert reverse("assessment-book", args=[referral.public_id]) in page
    assert reverse("assessment-start", args=[referral.public_id]) in page
    assert "1 open flag" in page


@pytest.fixture
def site(service):
    return SiteFactory(service=service, name="Riverside Centre", address="1 Mill Lane\nDemo Town")


def booking(day, **changes):
    data = {
        "day_day": str(day.day),
        "day_month": str(day.month),
        "day_year": str(day.year),
        "start": "14:30",
        "duration": "60",
        "mode": "in_person",
        "room": "Room 4",
    }
    data.update(changes)
    return data


def test_booking_moves_referral_on_and_queues_the_invitation(client, assessor, service, site):
    referral = make(service, "TH-AAAA-AAAA", weeks=3)
    client.force_login(assessor)
    day = timezone.localdate() + timedelta(days=9)

    response = client.post(
        reverse("assessment-book", args=[referral.public_id]),
        booking(day, site=str(site.public_id)),
    )

    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ASSESSMENT_BOOKED
    appointment = AssessmentAppointment.objects.get()
    assert timezone.localtime(appointment.starts_at).strftime("%H:%M") == "14:30"
    assert appointment.site == site and appointment.room == "Room 4"
    invitation = Notification.objects.get(kind="assessment_invitation")
    assert invitation.context["location"] == "Riverside Centre, Room 4, 1 Mill Lane, Demo Town"
    assert invitation.appointment_at == appointment.starts_at


def test_rebooking_replaces_the_booking_and_sends_a_new_invitation(client, assessor, service):
    referral = make(service, "TH-AAAA-AAAA", weeks=3)
    client.force_login(assessor)
    url = reverse("assessment-book", args=[referral.public_id])
    first = timezone.localdate() + timedelta(days=5)
    client.post(url, booking(first, mode="phone"))
    response = client.post(
        url, booking(first + timedelta(days=2), mode="video", video_link="https://meet.example/a1")
    )

    assert response.status_code == 302
    statuses = sorted(AssessmentAppointment.objects.values_list("status", flat=True))
    assert statuses == ["booked", "replaced"]
    invitations = Notification.objects.filter(kind="assessment_invitation").order_by("created_at")
    assert invitations.count() == 2
    assert invitations[0].context["by_phone"] is True
    assert invitations[1].context["video_link"] == "https://meet.example/a1"
    page = client.get(url).text
    assert "Change the assessment booking" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"day_day": "31", "day_month": "2"}, "Date of the assessment must be a real date"),
        ({"day_year": "27"}, "Year must include 4 numbers"),
        ({"start": "2.30pm"}, "Enter the start time in the 24-hour clock"),
        ({"start": "25:00"}, "Enter the start time as a real time"),
        ({"mode": ""}, "Select in person, video call or telephone"),
        ({"mode": "video"}, "Enter the video link for a video call"),
        ({"mode": "video", "video_link": "meet.example/x"}, "Enter a video link starting with"),
        ({"site": ""}, "Select the site for an in-person assessment"),
        ({"site": str(uuid.uuid4())}, "Select a valid choice"),
        ({"duration": "600"}, "Select a valid choice"),
    ],
)
def test_booking_errors_are_specific_and_keep_what_was_typed(
    client, assessor, service, site, changes, message
):
    referral = make(service, "TH-AAAA-AAAA", weeks=3)
    client.force_login(assessor)
    day = timezone.localdate() + timedelta(days=9)
    data = booking(day, site=str(site.public_id))
    data.update(changes)

    response = client.post(reverse("assessment-book", args=[referral.public_id]), data)

    assert response.status_code == 200
    assert message in response.text
    assert "Room 4" in response.text
    assert not AssessmentAppointment.objects.exists()


def test_booking_in_the_past_is_refused(client, assessor, service, site):
    referral = make(service, "TH-AAAA-AAAA", weeks=3)
    client.force_login(assessor)
    yesterday = timezone.localdate() - timedelta(days=1)
    response = client.post(
        reverse("assessment-book", args=[referral.public_id]),
        booking(yesterday, site=str(site.public_id)),
    )
    assert "The assessment must be in the future" in response.text


def test_booking_reports_the_date_and_the_time_errors_together(client, assessor, service, site):
    referral = make(service, "TH-AAAA-AAAA", weeks=3)
    client.force_login(assessor)
    data = booking(date(2020, 1, 1), site=str(site.public_id), start="25:00")

    response = client.post(reverse("assessment-book", args=[referral.public_id]), data)

    assert response.status_code == 200
    assert "Enter the start time as a real time" in response.text
    assert "The assessment must be in the future" in response.text
    assert response.text.count('class="nhsuk-error-message"') == 2
    assert "<title>Error: " in response.text


def test_another_services_site_cannot_be_used(client, assessor, service, other_service):
    referral = make(service, "TH-AAAA-AAAA", weeks=3)
    theirs = SiteFactory(service=other_service, name="Hillside Clinic")
    client.force_login(assessor)
    response = client.post(
        reverse("assessment-book", args=[referral.public_id]),
        booking(timezone.localdate() + timedelta(days=3), site=str(theirs.public_id)),
    )
    assert response.status_code == 200
    assert not AssessmentAppointment.objects.exists()


def test_booking_a_referral_not_waiting_for_assessment_says_so(client, assessor, service):
    referral = make(service, "TH-AAAA-AAAA", weeks=3, status=Referral.Status.IN_THERAPY)
    client.force_login(assessor)
    response = client.get(reverse("assessment-book", args=[referral.public_id]), follow=True)
    assert "so there is no assessment to book" in response.text


def test_booking_pages_are_scoped_and_for_assessors(
    client, assessor, coordinator, other_staff, service
):
    referral = make(service, "TH-AAAA-AAAA", weeks=3)
    url = reverse("assessment-book", args=[referral.public_id])
    client.force_login(other_staff)
    assert client.get(url).status_code == 404
    assert client.get(reverse("assessment-worklist")).status_code == 200
    assert "TH-AAAA-AAAA" not in client.get(reverse("assessment-worklist")).text
    client.force_login(coordinator)
    assert client.get(url).status_code == 403
    client.force_login(assessor)
    assert client.get(f"/staff/referrals/{uuid.uuid4()}/assessment/book/").status_code == 404
    assert client.get("/staff/referrals/nope/assessment/book/").status_code == 404
