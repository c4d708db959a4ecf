"""A referral exported as FHIR from one service and imported into another is the same
referral: the client, what they shared, their answers, their choices and their risk."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from common import roles
from intake.api_tokens import api_token_issue
from intake.models import ConsentRecord, MeasureResponse, Referral
from intake.services import CLIENT_FIELDS
from tests import factories
from tests.api.fhir_support import (
    add_therapy,
    check_bundle,
    make_referral,
    withdraw_email_consent,
)

pytestmark = pytest.mark.django_db
PREFERENCES = (
    "therapist_gender",
    "therapist_gender_strength",
    "language",
    "interpreter_needed",
    "interpreter_language",
    "access_needs",
    "mode",
    "availability",
)
SHARED = ("presenting_problem", "hopes", "previous_help", "difficulty_areas", "current_services")


def current_choices(referral) -> dict[str, bool]:
    """Topic: whether the client agrees now (the latest decision on each topic)."""
    latest = {}
    for record in ConsentRecord.objects.filter(client=referral.client).order_by(
        "recorded_at", "id"
    ):
        latest[record.topic] = record.decision == ConsentRecord.Decision.GRANTED
    return latest


def answers(referral) -> dict[str, tuple]:
    return {
        r.measure: (r.answers, r.total, r.band)
        for r in MeasureResponse.objects.filter(
            referral=referral, context=MeasureResponse.Context.SELF_REFERRAL
        )
    }


def test_export_from_one_service_and_import_into_another(
    client, service, other_service, therapist_user, coordinator
):
    sent = make_referral(service)
    add_therapy(sent, therapist_user, coordinator)
    withdraw_email_consent(sent)
    # A questionnaire repeated in therapy belongs to the therapy record, not the referral.
    MeasureResponse.objects.create(
        referral=sent,
        measure="phq9",
        context=MeasureResponse.Context.REVIEW,
        answers=[0] * 9,
        total=0,
        completed_at=timezone.now(),
    )
    client.force_login(therapist_user)
    exported = client.get(f"/api/v1/referrals/{sent.public_id}/fhir")
    assert exported.status_code == 200
    bundle = exported.json()
    assert check_bundle(bundle) == []

    receiver = factories.UserFactory(service=other_service, roles=[roles.PARTNER_REFERRER])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=receiver, name='B').key}")
    imported = api.post(
        "/api/v1/fhir/ServiceRequest",
        json.dumps(bundle),
        content_type="application/fhir+json",
        HTTP_IDEMPOTENCY_KEY=f"from-{sent.reference}",
    )

    assert imported.status_code == 201, imported.content
    received = Referral.objects.get(public_id=imported.json()["id"])
    assert received.service == other_service and received.pk != sent.pk
    for name in CLIENT_FIELDS:
        if name == "gp_registered":
            continue  # the JSON API has no such field: GP details say it
        assert getattr(received.client, name) == getattr(sent.client, name), name
    for name in SHARED:
        assert getattr(received, name) == getattr(sent, name), name
    assert received.source == sent.source == "gp"
    for name in PREFERENCES:
        assert getattr(received.preferences, name) == getattr(sent.preferences, name), name
    assert sent.preferences.availability == ["tue_morning", "thu_evening"]
    assert answers(received) == answers(sent)
    assert MeasureResponse.objects.filter(referral=received).count() == 4
    assert (
        current_choices(received)
        == current_choices(sent)
        == {
            "contact_email": False,  # withdrawn in the first service
            "tell_gp": False,
        }
    )
    assert sorted(received.risk_flags.values_list("source", flat=True)) == sorted(
        sent.risk_flags.filter(acknowledged_at=None).values_list("source", flat=True)
    )
    assert received.risk_level == sent.risk_level

    # Sending the same export again with the same key is a replay, not a second referral.
    again = api.post(
        "/api/v1/fhir/ServiceRequest",
        json.dumps(bundle),
        content_type="application/fhir+json",
        HTTP_IDEMPOTENCY_KEY=f"from-{sent.reference}",
    )
    assert again.status_code == 200 and again.json()["id"] == str(received.public_id)
