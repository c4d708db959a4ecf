"""From a referral to its assessment and back, and the assessor's list of finished
assessments, newest first, a page at a time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from assessment import services
from intake.models import Referral
from tests import factories

pytestmark = pytest.mark.django_db


def referral_page(client, referral) -> str:
    return client.get(reverse("staff-referral-detail", args=[referral.public_id])).text


def test_an_assessor_reaches_the_assessment_from_the_referral_whatever_its_state(
    client, service, assessor
):
    client.force_login(assessor)
    waiting = factories.ReferralFactory(client__service=service, status=Referral.Status.SUBMITTED)
    assert reverse("assessment-book", args=[waiting.public_id]) in referral_page(client, waiting)
    assert reverse("assessment-start", args=[waiting.public_id]) in referral_page(client, waiting)
    assert "Start the assessment" in referral_page(client, waiting)

    services.assessment_start(referral=waiting, user=assessor)
    page = referral_page(client, waiting)
    assert "Continue the assessment" in page
    assert reverse("assessment-start", args=[waiting.public_id]) in page

    finished = factories.FinishedAssessmentFactory(
        referral__client__service=service, assessor=assessor
    )
    page = referral_page(client, finished.referral)
    assert reverse("assessment-detail", args=[finished.public_id]) in page
    assert "Read the assessment" in page


def test_roles_that_cannot_open_the_assessment_are_not_shown_the_link(
    client, service, coordinator, service_admin, therapist_user
):
    finished = factories.FinishedAssessmentFactory(referral__client__service=service)
    waiting = factories.ReferralFactory(client__service=service, status=Referral.Status.SUBMITTED)
    detail = reverse("assessment-detail", args=[finished.public_id])

    client.force_login(coordinator)
    assert detail in referral_page(client, finished.referral)
    assert reverse("assessment-book", args=[waiting.public_id]) not in referral_page(
        client, waiting
    )
    for user in (service_admin, therapist_user):
        client.force_login(user)
        assert detail not in referral_page(client, finished.referral)
        assert reverse("assessment-start", args=[waiting.public_id]) not in referral_page(
            client, waiting
        )


def test_the_assessment_pages_link_back_to_the_referral(client, service, assessor):
    client.force_login(assessor)
    waiting = factories.ReferralFactory(client__service=service, status=Referral.Status.SUBMITTED)
    back = reverse("staff-referral-detail", args=[waiting.public_id])
    assert back in client.get(reverse("assessment-book", args=[waiting.public_id])).text
    draft = services.assessment_start(referral=waiting, user=assessor)
    step = reverse("assessment-step", args=[draft.public_id, "presenting"])
    assert back in client.get(step).text
    finished = factories.FinishedAssessmentFactory(
        referral__client__service=service, assessor=assessor, finished_by=assessor
    )
    assert (
        reverse("staff-referral-detail", args=[finished.referral.public_id])
        in client.get(reverse("assessment-detail", args=[finished.public_id])).text
    )


def test_finished_assessments_are_listed_newest_first_for_the_service_only(
    client, service, other_service, assessor
):
    """An assessor's own finished assessments; another assessor's are no longer theirs to
    read once the referral has left assessment (docs/security.md, "Who sees what")."""
    now = timezone.now()
    older = factories.FinishedAssessmentFactory(
        referral__client__service=service, assessor=assessor, finished_at=now - dt.timedelta(days=9)
    )
    newer = factories.FinishedAssessmentFactory(
        referral__client__service=service, assessor=assessor, finished_at=now - dt.timedelta(days=1)
    )
    colleagues = factories.FinishedAssessmentFactory(referral__client__service=service)
    theirs = factories.FinishedAssessmentFactory(referral__client__service=other_service)
    draft_referral = factories.ReferralFactory(
        client__service=service, status=Referral.Status.SUBMITTED
    )
    services.assessment_start(referral=draft_referral, user=assessor)
    client.force_login(assessor)

    page = client.get(reverse("assessment-finished")).text

    assert page.index(newer.referral.reference) < page.index(older.referral.reference)
    assert reverse("assessment-detail", args=[newer.public_id]) in page
    assert theirs.referral.reference not in page
    assert colleagues.referral.reference not in page
    assert draft_referral.reference not in page
    assert reverse("assessment-finished") in client.get(reverse("assessment-worklist")).text


def test_finished_assessments_come_a_page_at_a_time(client, service, assessor):
    now = timezone.now()
    made = [
        factories.FinishedAssessmentFactory(
            referral__client__service=service,
            assessor=assessor,
            finished_at=now - dt.timedelta(hours=n),
        )
        for n in range(52)
    ]
    client.force_login(assessor)
    first = client.get(reverse("assessment-finished")).text
    second = client.get(reverse("assessment-finished") + "?page=2").text
    assert made[0].referral.reference in first and made[49].referral.reference in first
    assert made[50].referral.reference not in first
    assert made[50].referral.reference in second and made[51].referral.reference in second
    assert "?page=2" in first
