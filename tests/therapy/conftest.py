"""Fixtures and helpers for therapy tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from common import roles
from intake.models import Referral
from tests import factories
from tests.assessment import conftest as assessment_fixtures
from therapy import services
from therapy.models import Therapy

# Assessment's referral fixtures, shared.
referral = assessment_fixtures.referral
their_referral = assessment_fixtures.their_referral


@pytest.fixture
def therapist(service):
    return factories.UserFactory(
        username="frankie", service=service, roles=[roles.THERAPIST], first_name="Frankie"
    )


@pytest.fixture
def in_therapy(service, therapist, coordinator):
    """A referral in therapy with `therapist`, started 12 weeks ago."""
    referral = factories.ReferralFactory(
        client__service=service,
        status=Referral.Status.AWAITING_ALLOCATION,
        reference="TH-TWXY-ZBCD",
    )
    services.therapy_start(
        referral=referral,
        therapist=therapist,
        started_on=timezone.localdate() - timedelta(weeks=12),
        user=coordinator,
    )
    referral.refresh_from_db()
    return referral


def current_therapy(referral) -> Therapy:
    return Therapy.objects.get(referral=referral, ended_on=None)
