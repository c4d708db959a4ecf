"""A planned therapy (as allocation plans it): the therapist sees the client, and the
referral is in therapy from the first session recorded as attended, through the page."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common import roles
from intake.models import Referral
from tests import factories
from therapy import selectors, services
from therapy.models import Therapy

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist(service):
    return factories.UserFactory(username="frankie", service=service, roles=[roles.THERAPIST])


@pytest.fixture
def allocated(service, therapist, coordinator):
    referral = factories.ReferralFactory(client__service=service, status=Referral.Status.ALLOCATED)
    first = timezone.make_aware(
        datetime.combine(timezone.localdate() + timedelta(days=7), time(18, 0))
    )
    services.therapy_plan(
        referral=referral, therapist=therapist, first_appointment_at=first, user=coordinator
    )
    return referral


def record(client, referral, day, attendance):
    return client.post(
        reverse("sessions", args=[referral.public_id]),
        {
            "occurred_on_day": str(day.day),
            "occurred_on_month": str(day.month),
            "occurred_on_year": str(day.year),
            "attendance": attendance,
        },
    )


def test_a_planned_therapy_is_not_on_the_caseload_until_the_first_attended_session(
    client, allocated, therapist, coordinator
):
    assert list(selectors.therapist_caseload(user=therapist)) == []
    assert list(selectors.service_therapies(user=coordinator)) == []
    client.force_login(therapist)
    today = timezone.localdate()

    assert record(client, allocated, today - timedelta(days=2), "did_not_attend").status_code == 302
    assert (
        record(client, allocated, today - timedelta(days=1), "cancelled_by_service").status_code
        == 302
    )
    allocated.refresh_from_db()
    assert allocated.status == Referral.Status.ALLOCATED

    assert record(client, allocated, today, "attended").status_code == 302
    allocated.refresh_from_db()
    assert allocated.status == Referral.Status.IN_THERAPY
    assert Therapy.objects.get(referral=allocated).started_on == today
    assert [r.therapy.referral for r in selectors.therapist_caseload(user=therapist)] == [allocated]


def test_planning_refuses_a_sign_in_that_is_not_a_therapist_or_a_second_therapist(
    allocated, coordinator, service
):
    first = timezone.now() + timedelta(days=7)
    with pytest.raises(services.TherapyError, match="already has a therapist"):
        services.therapy_plan(
            referral=allocated,
            therapist=factories.UserFactory(service=service, roles=[roles.THERAPIST]),
            first_appointment_at=first,
            user=coordinator,
        )
    other = factories.ReferralFactory(client__service=service, status=Referral.Status.ALLOCATED)
    with pytest.raises(services.TherapyError, match="not an active therapist"):
        services.therapy_plan(
            referral=other, therapist=coordinator, first_appointment_at=first, user=coordinator
        )
