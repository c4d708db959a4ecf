"""Need to know within a service (docs/security.md, "Who sees what"): which referrals an
assessor opens, and what a coordinator, a service admin and another therapist read of one.
The whole role x page table is tests/common/test_roles_by_view.py; these are the cases it
cannot show with one world (referrals in other states, other assessors' work)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from common import access, roles
from intake.models import MeasureResponse, Referral, RiskFlag
from notifications.outbox import notification_queue
from tests import factories

pytestmark = pytest.mark.django_db

WORDS = "I have not slept properly since the winter"
PHQ9_ITEM_ONE = "Little interest or pleasure"  # the first item, shown with its answer


def _referral(service, status, **fields):
    referral = factories.ReferralFactory(client__service=service, status=status, **fields)
    MeasureResponse.objects.create(
        referral=referral,
        measure="phq9",
        context=MeasureResponse.Context.SELF_REFERRAL,
        answers=[0, 1, 2, 1, 0, 1, 2, 1, 0],
        total=Decimal(8),
        band="Mild",
        completed_at=timezone.now(),
    )
    return referral


def _assessed_by_someone_else(service, status=Referral.Status.IN_THERAPY):
    referral = _referral(service, status, presenting_problem=WORDS)
    factories.FinishedAssessmentFactory(
        referral=referral, formulation_status="answered", formulation_text="Formulation words"
    )
    return referral


def test_an_assessor_opens_referrals_to_assess_in_full(client, service, assessor):
    referral = _referral(service, Referral.Status.SUBMITTED, presenting_problem=WORDS)
    client.force_login(assessor)

    page = client.get(reverse("staff-referral-detail", args=[referral.public_id]))

    assert page.status_code == 200
    assert WORDS in page.text and PHQ9_ITEM_ONE in page.text


def test_after_assessment_an_assessor_no_longer_opens_another_assessors_referral(
    client, service, assessor
):
    referral = _assessed_by_someone_else(service)
    notification = notification_queue(kind="acknowledgement", referral=referral)
    client.force_login(assessor)

    assert client.get(reverse("staff-referral-detail", args=[referral.public_id])).status_code == (
        404
    )
    assert (
        client.get(reverse("assessment-detail", args=[referral.assessment.public_id])).status_code
        == 404
    )
    assert (
        client.get(reverse("staff-referral-messages", args=[referral.public_id])).status_code == 404
    )
    assert (
        client.get(reverse("staff-message-detail", args=[notification.public_id])).status_code
        == 404
    )
    assert referral.reference not in client.get(reverse("staff-referral-list")).text
    assert referral.reference not in client.get(reverse("assessment-finished")).text


def test_an_assessor_keeps_the_referrals_they_assessed(client, service, assessor):
    referral = _referral(service, Referral.Status.IN_THERAPY, presenting_problem=WORDS)
    assessment = factories.FinishedAssessmentFactory(referral=referral, assessor=assessor)
    client.force_login(assessor)

    assert WORDS in client.get(reverse("staff-referral-detail", args=[referral.public_id])).text
    assert client.get(reverse("assessment-detail", args=[assessment.public_id])).status_code == 200
    assert referral.reference in client.get(reverse("assessment-finished")).text


def test_an_open_risk_flag_opens_the_referral_to_every_assessor(client, service, assessor):
    """Duty of care: whichever assessor is on duty reads and acknowledges the flag."""
    referral = _assessed_by_someone_else(service)
    flag = factories.RiskFlagFactory(referral=referral, detail="Said they feel unsafe at home")
    client.force_login(assessor)

    page = client.get(reverse("staff-referral-detail", args=[referral.public_id]))
    assert page.status_code == 200 and "Said they feel unsafe at home" in page.text

    response = client.post(
        reverse("staff-risk-acknowledge", args=[referral.public_id, flag.public_id]),
        {"action_taken": "Called the client; safety plan agreed"},
    )
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.acknowledged_by == assessor
    # Acknowledged, the flag no longer opens it.
    assert client.get(reverse("staff-referral-detail", args=[referral.public_id])).status_code == (
        404
    )


@pytest.mark.parametrize("account", ["coordinator", "service_admin"])
def test_the_office_reads_a_referral_without_its_clinical_text(
    client, service, coordinator, service_admin, account
):
    referral = _referral(
        service, Referral.Status.AWAITING_ALLOCATION, presenting_problem=WORDS, hopes="To rest"
    )
    factories.RiskFlagFactory(referral=referral, detail="Said they feel unsafe at home")
    client.force_login({"coordinator": coordinator, "service_admin": service_admin}[account])

    page = client.get(reverse("staff-referral-detail", args=[referral.public_id])).text

    assert WORDS not in page and "To rest" not in page
    assert "Read by the client&#x27;s clinicians" in page
    # The questionnaire's score and severity, not each answer.
    assert "Mild" in page and PHQ9_ITEM_ONE not in page
    # That a risk flag is open, not what raised it.
    assert "Open risk flag" in page and "Said they feel unsafe at home" not in page
    assert referral.client.given_name in page


def test_a_coordinator_reads_an_assessments_outcome_only(client, service, coordinator):
    referral = _referral(service, Referral.Status.AWAITING_ALLOCATION)
    assessment = factories.FinishedAssessmentFactory(
        referral=referral,
        formulation_status="answered",
        formulation_text="Formulation words",
        risk_to_self="present",
        risk_to_self_detail="Thoughts of self-harm last month",
        risk_level="medium",
        risk_plan="Safety plan words",
        recommendation_reason="Reason words",
        letters_gp_summary="Summary for the GP",
    )
    assessment.addenda.create(
        section="formulation", text="Addendum words", author=assessment.assessor
    )
    client.force_login(coordinator)

    page = client.get(reverse("assessment-detail", args=[assessment.public_id])).text

    for words in (
        "Formulation words",
        "Thoughts of self-harm",
        "Safety plan words",
        "Reason words",
        "Summary for the GP",
        "Addendum words",
    ):
        assert words not in page
    assert "Overall level" in page and "Medium" in page
    assert "Psychodynamic" in page  # the recommendation allocation matches on


def test_another_therapist_reads_risk_detail_but_not_the_clinical_record(
    client, service, therapist_user
):
    other = factories.UserFactory(service=service, roles=[roles.THERAPIST])
    referral = _referral(service, Referral.Status.IN_THERAPY, presenting_problem=WORDS)
    factories.TherapyFactory(referral=referral, therapist=therapist_user)
    factories.RiskFlagFactory(referral=referral, detail="Said they feel unsafe at home")
    client.force_login(other)

    page = client.get(reverse("staff-referral-detail", args=[referral.public_id])).text

    assert "Said they feel unsafe at home" in page
    assert WORDS not in page and PHQ9_ITEM_ONE not in page
    assert client.get(reverse("therapy-client", args=[referral.public_id])).status_code == 404


def test_the_rules_refuse_everything_to_an_integration_account_and_another_service(
    service, other_staff
):
    referral = factories.ReferralFactory(client__service=service)
    RiskFlag.objects.create(
        service=service, referral=referral, source="staff", detail="x", raised_at=timezone.now()
    )
    partner = factories.UserFactory(service=service, roles=[roles.PARTNER_REFERRER, *roles.STAFF])
    for user in (partner, other_staff):
        assert not access.may_open_referral(user, referral)
        assert access.referral_sight(user, referral) == access.Sight(
            clinical_text=False, risk_detail=False
        )
