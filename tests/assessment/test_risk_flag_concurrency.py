"""The same risk recorded twice at the same moment, in real PostgreSQL transactions on two
threads, is still one flag and one alert.

The race slows the judgement down (after looking for the flag, before inserting one) so
that, without the referral lock, both would find nothing and raise a flag each.
"""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django.test import Client

from assessment.models import Assessment
from intake import clinical_record
from intake.models import MeasureResponse, RiskFlag, RiskFlagRepeat
from notifications.models import Notification
from tests.assessment.conftest import FULL, finish, measure_items, start, walk
from tests.support.services import require_postgres
from tests.support.threads import race

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres():
    require_postgres()


@pytest.fixture(autouse=True)
def slow_judgement(monkeypatch):
    real = clinical_record._same_risk

    def slow(*args, **kwargs):
        found = real(*args, **kwargs)
        time.sleep(0.5)
        return found

    monkeypatch.setattr(clinical_record, "_same_risk", slow)


def test_the_same_answer_recorded_twice_at_once_is_one_flag(referral):
    def record():
        with transaction.atomic():
            _, flags = clinical_record.measure_response_record(
                referral=referral,
                measure="phq9",
                answers=[1] * 8 + [2],
                context=MeasureResponse.Context.ASSESSMENT,
            )
            return flags

    results = race(record, record)

    assert sorted(len(result) for result in results) == [0, 1], results
    assert RiskFlag.objects.filter(referral=referral).count() == 1
    assert RiskFlagRepeat.objects.filter(flag__referral=referral).count() == 1


def test_two_finishes_of_one_assessment_at_once_raise_one_flag_and_one_alert(referral, assessor):
    browsers = [Client(), Client()]
    for browser in browsers:
        browser.force_login(assessor)
    answers = {**FULL}
    answers["risk"] = {
        **FULL["risk"],
        "to_self": "present",
        "to_self_detail": "Thoughts of not wanting to be here; no plans.",
        "level": "medium",
        "plan": "Safety plan agreed.",
    }
    answers["phq9"] = measure_items(9, "1") | {"item_9": "2"}
    assessment = start(browsers[0], referral)
    walk(browsers[0], assessment, answers)

    race(*(lambda b=browser: finish(b, assessment) for browser in browsers))

    assert Assessment.objects.get(pk=assessment.pk).is_locked
    sources = sorted(RiskFlag.objects.filter(referral=referral).values_list("source", flat=True))
    # Item 9, and the level assessed (medium, above the none known before): once each.
    assert sources == [RiskFlag.Source.ASSESSMENT, RiskFlag.Source.PHQ9_ITEM9]
    assert Notification.objects.filter(kind="risk_alert").count() == 1
