"""A referral carries who carried out its assessment and who finished it
(`Referral.assessed_by`, `Referral.assessment_finished_by`), so that an assessor's reach
(common.access) is read from the referral alone. These tests hold the two columns to the
assessment's own `assessor` and `finished_by` whichever way an assessment gets them: the
wizard starting and finishing it, someone else finishing a colleague's draft, a change of
assessor, rows made in bulk (the benchmarks' seed), the demo, and the migration's backfill
of referrals assessed before the columns existed.
"""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from assessment.models import Assessment
from common import roles
from intake.models import Referral
from tests import factories
from tests.assessment.conftest import FULL, MINIMAL, finish, start, walk

pytestmark = pytest.mark.django_db

S = Referral.Status


def _carried(referral) -> tuple:
    """(assessed_by_id, assessment_finished_by_id) as stored on the referral's row."""
    return Referral.objects.filter(pk=referral.pk).values_list(
        "assessed_by_id", "assessment_finished_by_id"
    )[0]


def _held(referral) -> tuple:
    """The same two, as the assessment holds them (None, None when there is none)."""
    row = Assessment.objects.filter(referral=referral).values_list("assessor_id", "finished_by_id")
    return row[0] if row else (None, None)


@pytest.fixture
def colleague(service):
    return factories.UserFactory(service=service, roles=[roles.ASSESSOR])


def test_a_referral_not_yet_assessed_carries_nobody(referral):
    assert _carried(referral) == (None, None)


def test_starting_the_assessment_carries_its_assessor(client, assessor, referral):
    client.force_login(assessor)
    start(client, referral)
    assert _carried(referral) == (assessor.pk, None) == _held(referral)


def test_finishing_it_carries_who_finished(client, assessor, referral):
    client.force_login(assessor)
    assessment = start(client, referral)
    walk(client, assessment, FULL)
    assert finish(client, assessment).status_code == 302
    assert _carried(referral) == (assessor.pk, assessor.pk) == _held(referral)


def test_a_colleague_finishing_the_draft_is_carried_beside_who_started_it(
    client, assessor, colleague, referral
):
    client.force_login(assessor)
    assessment = start(client, referral)
    client.force_login(colleague)
    walk(client, assessment, MINIMAL)
    assert finish(client, assessment).status_code == 302
    assert _carried(referral) == (assessor.pk, colleague.pk) == _held(referral)


def test_a_change_of_assessor_on_the_row_is_carried(assessor, colleague, referral):
    assessment = factories.FinishedAssessmentFactory(
        referral=referral, assessor=assessor, finished_by=assessor
    )
    assessment.assessor = colleague
    assessment.save()
    assert _carried(referral) == (colleague.pk, assessor.pk)
    assessment.finished_by = colleague
    assessment.save(update_fields=["finished_by"])
    assert _carried(referral) == (colleague.pk, colleague.pk)


def test_a_change_of_assessor_by_update_is_carried(service, assessor, colleague):
    referrals = [factories.ReferralFactory(client__service=service) for _ in range(3)]
    for referral in referrals:
        factories.FinishedAssessmentFactory(referral=referral, assessor=assessor)
    Assessment.objects.filter(referral__in=referrals[:2]).update(
        assessor=colleague, finished_by=assessor
    )
    assert [_carried(r) for r in referrals] == [
        (colleague.pk, assessor.pk),
        (colleague.pk, assessor.pk),
        (assessor.pk, None),
    ]
    # An update that does not touch who assessed leaves the referrals alone.
    Assessment.objects.filter(referral__in=referrals).update(letters_gp_summary="Seen")
    assert [_carried(r) for r in referrals] == [_held(r) for r in referrals]


def test_assessments_made_in_bulk_are_carried(service, assessor, colleague):
    referrals = [factories.ReferralFactory(client__service=service) for _ in range(4)]
    Assessment.objects.bulk_create(
        [
            Assessment(
                service=service,
                referral=r,
                assessor=assessor if n % 2 else colleague,
                status="finished",
                finished_at=r.received_at,
                finished_by=assessor if n < 2 else None,
                recommendation_choice="psychodynamic",
            )
            for n, r in enumerate(referrals)
        ]
    )
    assert [_carried(r) for r in referrals] == [_held(r) for r in referrals]
    assert _carried(referrals[0]) == (colleague.pk, assessor.pk)


def test_the_demo_carries_every_assessment():
    call_command("seed_demo")
    rows = list(Referral.objects.values_list("pk", "assessed_by_id", "assessment_finished_by_id"))
    assert any(assessed_by for _pk, assessed_by, _finished in rows)
    for pk, assessed_by, finished_by in rows:
        assert (assessed_by, finished_by) == _held(Referral(pk=pk))


def test_the_backfill_carries_referrals_assessed_before_the_columns(service, assessor, colleague):
    made = [
        factories.FinishedAssessmentFactory(
            referral__client__service=service, assessor=assessor, finished_by=colleague
        ).referral,
        factories.FinishedAssessmentFactory(
            referral__client__service=service, assessor=colleague, finished_by=None
        ).referral,
        factories.ReferralFactory(client__service=service),
    ]
    # As a database migrated from before the columns holds them: nobody carried.
    Referral.objects.update(assessed_by=None, assessment_finished_by=None)
    migration = importlib.import_module("assessment.migrations.0010_referral_carries_who_assessed")
    migration.referrals_carry_who_assessed(apps, connection.schema_editor(), batch_size=1)
    assert [_carried(r) for r in made] == [
        (assessor.pk, colleague.pk),
        (colleague.pk, None),
        (None, None),
    ]
