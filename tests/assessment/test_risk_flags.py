"""One risk is one flag: a repeat answer is linked to the open or recently acknowledged flag
for it; only a new or worse risk opens another flag, says why, and alerts the duty inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from intake import clinical_record
from intake.models import Referral, RiskFlag
from notifications.models import Notification
from tests import factories
from tests.assessment.conftest import FULL, finish, measure_items, online_answers, start, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, assessor):
    client.force_login(assessor)
    return client


def phq9(item_9: int) -> list[int]:
    return [1] * 8 + [item_9]


def online_flag_acknowledged(referral, assessor, *, item_9=2, days_ago=1) -> RiskFlag:
    """The client's online PHQ-9 raised a flag (and the self-referral set the level to
    medium, as referral_submit does); the assessor has since acknowledged it."""
    online_answers(referral, "phq9", phq9(item_9))
    Referral.objects.filter(pk=referral.pk).update(risk_level=Referral.Risk.MEDIUM)
    flag = RiskFlag.objects.get(referral=referral)
    clinical_record.risk_flag_acknowledge(
        flag=flag, user=assessor, action_taken="Called the client; safety plan agreed."
    )
    RiskFlag.objects.filter(pk=flag.pk).update(
        acknowledged_at=timezone.now() - timedelta(days=days_ago)
    )
    return flag


def assessment_answers(*, item_9: str, level="medium", **areas) -> dict:
    answers = {**FULL}
    answers["risk"] = {
        **FULL["risk"],
        "to_self": "present",
        "to_self_detail": "Thoughts of not wanting to be here some evenings; no plans.",
        "level": level,
        "plan": "Safety plan reviewed; crisis numbers given.",
        **areas,
    }
    answers["phq9"] = measure_items(9, "1") | {"item_9": item_9}
    return answers


def finish_assessment(client, referral, answers):
    assessment = start(client, referral)
    walk(client, assessment, answers)
    response = finish(client, assessment)
    assert response.status_code == 302, response
    return assessment


def alerts() -> list[Notification]:
    return list(Notification.objects.filter(kind="risk_alert"))


def test_the_same_answer_again_at_assessment_is_linked_to_the_acknowledged_flag(
    signed_in, referral, assessor
):
    flag = online_flag_acknowledged(referral, assessor, item_9=2)

    finish_assessment(signed_in, referral, assessment_answers(item_9="2"))

    assert list(RiskFlag.objects.filter(referral=referral)) == [flag]
    flag.refresh_from_db()
    assert flag.acknowledged_at is not None  # nothing new for anyone to acknowledge
    repeats = [repeat.detail for repeat in flag.repeats.all()]
    assert repeats == [
        "PHQ-9 item 9 answered 2 at assessment",
        "Risk assessed as medium at assessment (risk to self)",
    ]
    assert alerts() == []  # the duty inbox already had this risk
    page = signed_in.get(reverse("staff-referral-detail", args=[referral.public_id])).text
    assert "Seen again" in page and "PHQ-9 item 9 answered 2 at assessment" in page


def test_a_worse_answer_raises_a_new_flag_saying_why_and_alerts(signed_in, referral, assessor):
    first = online_flag_acknowledged(referral, assessor, item_9=1)

    finish_assessment(signed_in, referral, assessment_answers(item_9="3"))

    new = RiskFlag.objects.exclude(pk=first.pk).get(referral=referral)
    assert new.source == RiskFlag.Source.PHQ9_ITEM9
    assert new.is_open
    raised = timezone.localtime(first.raised_at)
    assert new.reason == (
        f"Worse than before: answered 3, was 1 on the flag raised {raised.day} {raised:%b %Y}"
    )
    # The assessor's medium level (risk to self only) is the risk already flagged.
    assert [repeat.detail for repeat in new.repeats.all()] == [
        "Risk assessed as medium at assessment (risk to self)"
    ]
    (alert,) = alerts()
    assert alert.context["reasons"] == [f"{new.detail}: {new.reason}"]
    page = signed_in.get(reverse("staff-referral-detail", args=[referral.public_id])).text
    assert "Worse than before: answered 3, was 1" in page


def test_a_different_risk_found_at_assessment_is_its_own_flag(signed_in, referral, assessor):
    online = online_flag_acknowledged(referral, assessor, item_9=1)
    answers = assessment_answers(
        item_9="1",
        to_others="present",
        to_others_detail="Has threatened a neighbour during arguments.",
    )

    finish_assessment(signed_in, referral, answers)

    new = RiskFlag.objects.exclude(pk=online.pk).get(referral=referral)
    assert new.source == RiskFlag.Source.ASSESSMENT
    assert new.detail == "Risk assessed as medium at assessment (risk to self, risk to others)"
    assert new.reason == "A risk not flagged before: risk to others"
    assert [repeat.detail for repeat in online.repeats.all()] == [
        "PHQ-9 item 9 answered 1 at assessment"
    ]
    (alert,) = alerts()
    assert alert.context["reasons"] == [f"{new.detail}: {new.reason}"]


def test_a_higher_level_than_known_is_a_new_flag(signed_in, referral, assessor):
    online = online_flag_acknowledged(referral, assessor, item_9=2)

    finish_assessment(signed_in, referral, assessment_answers(item_9="2", level="high"))

    new = RiskFlag.objects.exclude(pk=online.pk).get(referral=referral)
    assert new.source == RiskFlag.Source.ASSESSMENT
    assert new.reason == "Level higher than before: assessed as high, was medium"
    assert len(alerts()) == 1


def test_the_same_answer_long_after_it_was_acknowledged_is_looked_at_again(
    signed_in, referral, assessor, settings
):
    settings.RISK_FLAG_REPEAT_DAYS = 14
    online = online_flag_acknowledged(referral, assessor, item_9=2, days_ago=15)

    finish_assessment(signed_in, referral, assessment_answers(item_9="2"))

    new = RiskFlag.objects.exclude(pk=online.pk).get(
        referral=referral, source=RiskFlag.Source.PHQ9_ITEM9
    )
    assert new.reason == (
        "Seen again more than 14 days after the last flag for it was acknowledged"
    )
    assert not RiskFlag.objects.filter(source=RiskFlag.Source.ASSESSMENT).exists()
    assert len(alerts()) == 1


def test_a_first_risk_answer_says_it_is_new(referral):
    _, flags = clinical_record.measure_response_record(
        referral=referral, measure="phq9", answers=phq9(1), context="self_referral"
    )
    (flag,) = flags
    assert flag.reason == "First time this risk was recorded for this referral"
    # A repeat while the flag is still open is linked to it, not raised again.
    _, again = clinical_record.measure_response_record(
        referral=referral, measure="phq9", answers=phq9(1), context="self_referral"
    )
    assert again == []
    assert flag.repeats.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_questionnaire_recorded_outside_a_transaction_keeps_its_flag(service):
    """Callers in autocommit (a command, a task, a script) get the same one-risk-one-flag
    judgement: the referral lock takes its own transaction when none is open."""
    referral = factories.ReferralFactory(client__service=service)
    response, (flag,) = clinical_record.measure_response_record(
        referral=referral, measure="phq9", answers=phq9(2), context="self_referral"
    )
    assert flag.referral_id == referral.pk and response.pk is not None
    _, again = clinical_record.measure_response_record(
        referral=referral, measure="phq9", answers=phq9(2), context="self_referral"
    )
    assert again == [] and flag.repeats.count() == 1
