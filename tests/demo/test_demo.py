"""The demo data shows assessment and therapy in use, and stays idempotent."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from assessment.models import Assessment
from therapy.models import ProgressFlag, SessionPlan, Therapy

pytestmark = pytest.mark.django_db


def test_demo_has_assessments_plans_and_one_client_not_on_track():
    from intake.models import Referral

    call_command("seed_demo")
    counts = (Assessment.objects.count(), Therapy.objects.count(), SessionPlan.objects.count())
    # Everyone past assessment was assessed; everyone who reached a therapist has a
    # therapy record and a session plan.
    reached = Referral.objects.filter(status__in=["allocated", "in_therapy", "ended"]).count()
    past = Referral.objects.filter(status="awaiting_allocation").count() + reached
    assert counts == (past, reached, reached)
    assert reached >= 5
    assert ProgressFlag.objects.get().reason == "no_improvement_at_review"
    call_command("seed_demo")
    assert (
        Assessment.objects.count(),
        Therapy.objects.count(),
        SessionPlan.objects.count(),
    ) == counts


def test_the_demo_seeds_on_a_database_that_lost_its_role_groups():
    """A database emptied after migrating (as a test that flushes tables leaves it) has no
    role groups: the demo still gives each account its role."""
    from django.contrib.auth.models import Group

    from common import roles
    from common.models import User

    Group.objects.all().delete()
    call_command("seed_demo")

    assert User.objects.get(username="therapist").has_role(roles.THERAPIST)
    assert User.objects.filter(username__startswith="demo.", groups__name=roles.THERAPIST).exists()


def test_the_demo_portal_client_has_a_questionnaire_to_complete():
    """The portal's questionnaire can be tried with the demo: its client has one asked of
    them by their therapist, and seeding again asks no second time."""
    from intake.models import Referral
    from therapy.models import QuestionnaireRequest
    from therapy.selectors import questionnaires_due

    call_command("seed_demo")
    call_command("seed_demo")
    asked = QuestionnaireRequest.objects.get(completed_at__isnull=True)
    referral = Referral.objects.get(pk=asked.referral_id)
    assert referral.client.email
    assert asked.asked_by == referral.therapies.get(ended_on__isnull=True).therapist
    assert asked.measure in {due.code for due in questionnaires_due(referral=referral)}
