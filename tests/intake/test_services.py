"""referral_submit: one referral per key, a fresh reference when one clashes, and consents
that name the privacy notice the person agreed under."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from assessment.models import MeasureResponse, RiskFlag
from intake import services
from intake.models import ConsentRecord, PrivacyNotice, Referral
from intake.services import ConsentDecision, MeasureAnswers, ReferralInput, referral_submit
from tests.factories import ReferralFactory
from tests.intake.walk import MINIMAL, submit, walk

pytestmark = pytest.mark.django_db


def _input(**changes) -> ReferralInput:
    values = {
        "given_name": "Robin",
        "family_name": "Ashdown",
        "date_of_birth": date(1990, 5, 17),
        "email": "robin@example.com",
        "consents": [ConsentDecision(topic="contact_email", granted=True, wording="Email?")],
    }
    return ReferralInput(**(values | changes))


def _notice(service, version: str, days_ago: int) -> PrivacyNotice:
    return PrivacyNotice.objects.create(
        service=service,
        version=version,
        text=f"Notice {version}",
        published_at=timezone.now() - timedelta(days=days_ago),
    )


def test_a_repeated_key_returns_the_first_referral(service):
    first = referral_submit(service=service, data=_input(), idempotency_key="k1", via="api")
    again = referral_submit(service=service, data=_input(), idempotency_key="k1", via="api")

    assert (first.created, again.created) == (True, False)
    assert again.referral.pk == first.referral.pk
    assert Referral.objects.count() == 1


def test_a_clashing_reference_is_replaced_by_a_fresh_one(service, monkeypatch):
    taken = ReferralFactory(service=service).reference
    offered = iter([taken, "TH-BCDF-GHJK"])
    monkeypatch.setattr(services, "reference_generate", lambda: next(offered))

    result = referral_submit(service=service, data=_input(), idempotency_key="k2", via="api")

    assert result.created
    assert result.referral.reference == "TH-BCDF-GHJK"
    assert Referral.objects.filter(idempotency_key="k2").count() == 1


def test_a_reference_that_never_comes_free_is_an_error_not_a_wrong_referral(service, monkeypatch):
    taken = ReferralFactory(service=service).reference
    monkeypatch.setattr(services, "reference_generate", lambda: taken)

    with pytest.raises(IntegrityError, match="reference"):
        referral_submit(service=service, data=_input(), idempotency_key="k3", via="api")
    assert not Referral.objects.filter(idempotency_key="k3").exists()


def test_consents_name_the_notice_given_or_else_the_current_one(service):
    older = _notice(service, "1", days_ago=30)
    current = _notice(service, "2", days_ago=1)

    shown = referral_submit(
        service=service,
        data=_input(privacy_notice_id=older.pk),
        idempotency_key="k4",
        via="self_referral",
    )
    unnamed = referral_submit(service=service, data=_input(), idempotency_key="k5", via="api")

    assert {c.notice_id for c in ConsentRecord.objects.filter(referral=shown.referral)} == {
        older.pk
    }
    assert {c.notice_id for c in ConsentRecord.objects.filter(referral=unnamed.referral)} == {
        current.pk
    }


def test_questionnaires_are_scored_together_and_raise_their_risk_flags(service):
    result = referral_submit(
        service=service,
        data=_input(
            questionnaires=[
                MeasureAnswers(measure="phq9", answers=[2, 2, 2, 2, 2, 2, 2, 2, 1]),
                MeasureAnswers(measure="gad7", answers=[1] * 7),
            ]
        ),
        idempotency_key="k6",
        via="self_referral",
    )

    scored = dict(
        MeasureResponse.objects.filter(referral=result.referral).values_list("measure", "total")
    )
    assert scored == {"phq9": 17, "gad7": 7}
    assert result.risk_flags == 1
    assert RiskFlag.objects.get(referral=result.referral).source.startswith("phq9")


def test_the_wizard_records_the_notice_in_force_when_the_person_agreed(client, service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    agreed_under = _notice(service, "1", days_ago=30)
    walk(client, MINIMAL)
    _notice(service, "2", days_ago=0)  # published while they read the check page

    submit(client)

    notices = set(ConsentRecord.objects.values_list("notice_id", flat=True))
    assert notices == {agreed_under.pk}


@pytest.mark.services
def test_two_submits_of_one_key_at_the_same_moment_make_one_referral(transactional_db, service):
    import threading

    from django.db import connection

    from tests.support.services import require_postgres

    require_postgres()
    start = threading.Barrier(2)
    results = []

    def submit_once():
        try:
            start.wait()
            results.append(
                referral_submit(service=service, data=_input(), idempotency_key="twin", via="api")
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=submit_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(r.created for r in results) == [False, True]
    assert len({r.referral.pk for r in results}) == 1
    assert Referral.objects.filter(idempotency_key="twin").count() == 1
