"""The demo data shows assessment and therapy in use, and stays idempotent."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from assessment.models import Assessment
from therapy.models import ProgressFlag, SessionPlan, Therapy

pytestmark = pytest.mark.django_db


def test_demo_has_assessments_plans_and_one_client_not_on_track():
    call_command("seed_demo")
    counts = (Assessment.objects.count(), Therapy.objects.count(), SessionPlan.objects.count())
    assert counts == (3, 2, 2)
    assert ProgressFlag.objects.get().reason == "no_improvement_at_review"
    call_command("seed_demo")
    assert (
        Assessment.objects.count(),
        Therapy.objects.count(),
        SessionPlan.objects.count(),
    ) == counts
