"""referral_submit: one referral per key, a fresh reference when one clashes, and consents
that name the privacy notice the person agreed under."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from intake import forms, services
from intake.models import ConsentRecord, MeasureResponse, PrivacyNotice, Referral, RiskFlag
from intake.services import ConsentDecision, MeasureAnswers, ReferralInput, referral_submit
from tests.factories import ReferralFactory
from tests.intake.walk import MINIMAL, post_step, step_url, submit, walk

pytestmark = pytest.mark.django_db


def _input(**changes) -> ReferralInput:
    values = {
        "given_name": "Robin",
        "family_name": "Ashdown",
        "date_of_birth": date(1990, 5, 17),
        "email": "robin@example.com",
        "consents": [
            ConsentDecision(
                topic="contact_email", granted=True, wording="Email?", wording_version="1"
            )
        ],
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


def test_online_consents_name_the_notice_given_or_else_the_current_one(service):
    older = _notice(service, "1", days_ago=30)
    current = _notice(service, "2", days_ago=1)

    shown = referral_submit(
        service=service,
        data=_input(privacy_notice_id=older.pk),
        idempotency_key="k4",
        via="self_referral",
    )
    unnamed = referral_submit(
        service=service, data=_input(), idempotency_key="k5", via="self_referral"
    )

    assert {c.notice_id for c in ConsentRecord.objects.filter(referral=shown.referral)} == {
        older.pk
    }
    assert {c.notice_id for c in ConsentRecord.objects.filter(referral=unnamed.referral)} == {
        current.pk
    }


def test_partner_consents_name_no_notice_of_ours_and_keep_the_partners_version(service):
    _notice(service, "2", days_ago=1)
    wording = "May the therapy service email you about an assessment? " * 8
    assert len(wording) > 300
    decision = ConsentDecision(
        topic="contact_email", granted=True, wording=wording, wording_version="gp-form-v4"
    )

    sent = referral_submit(
        service=service, data=_input(consents=[decision]), idempotency_key="k7", via="api"
    )

    record = ConsentRecord.objects.get(referral=sent.referral)
    assert (record.wording, record.wording_version, record.notice) == (
        wording,
        "gp-form-v4",
        None,
    )


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


def test_the_wizard_records_the_version_of_the_notice_shown_and_each_question_whole(
    client, service, settings
):
    settings.SELF_REFERRAL_SERVICE = service.slug
    _notice(service, "2026-09", days_ago=30)
    walk(client, MINIMAL, stop_before="consent")
    page = client.get(step_url("consent")).text
    assert "Notice 2026-09" in page and 'value="2026-09"' in page
    walk(client, {"consent": {**MINIMAL["consent"], "notice_version": "2026-09"}})

    submit(client)

    records = ConsentRecord.objects.all()
    assert {c.wording_version for c in records} == {"2026-09"}
    outcome = records.get(topic="outcome_data")
    question = forms.ConsentForm.base_fields["outcome_data"]
    assert outcome.wording == f"{question.label}\n{question.help_text}"
    assert len(outcome.wording) > 100


def test_a_notice_published_while_the_consent_page_was_open_is_shown_before_agreeing(
    client, service, settings
):
    settings.SELF_REFERRAL_SERVICE = service.slug
    _notice(service, "1", days_ago=30)
    walk(client, MINIMAL, stop_before="consent")
    client.get(step_url("consent"))
    _notice(service, "2", days_ago=0)

    answers = {**MINIMAL["consent"], "notice_version": "1"}
    page = post_step(client, "consent", answers)

    assert page.status_code == 200
    assert "Our privacy notice changed while this page was open" in page.text
    assert "Notice 2" in page.text and 'value="2"' in page.text
    walk(client, {"consent": {**answers, "notice_version": "2"}})
    submit(client)
    assert {c.wording_version for c in ConsentRecord.objects.all()} == {"2"}
    assert {c.notice.version for c in ConsentRecord.objects.all()} == {"2"}


def test_without_a_published_notice_the_wizard_records_the_built_in_wording(
    client, service, settings
):
    settings.SELF_REFERRAL_SERVICE = service.slug
    walk(client, MINIMAL, stop_before="consent")
    assert forms.BUILT_IN_NOTICE[:40] in client.get(step_url("consent")).text
    walk(client, {"consent": MINIMAL["consent"]})

    submit(client)

    assert {c.wording_version for c in ConsentRecord.objects.all()} == {"built-in-1"}


def test_the_acknowledgement_names_the_portal_when_a_sign_in_link_can_be_sent(service, settings):
    from notifications import selectors
    from notifications.models import Notification

    settings.SITE_URL = "https://therapy.example.nhs.uk"
    by_email = referral_submit(service=service, data=_input(), idempotency_key="p1", via="api")
    by_letter = referral_submit(
        service=service,
        data=_input(
            email="",
            consents=[
                ConsentDecision(
                    topic="letters_home", granted=True, wording="Post?", wording_version="1"
                )
            ],
        ),
        idempotency_key="p2",
        via="api",
    )

    def shown(result):
        notification = Notification.objects.get(referral=result.referral, kind="acknowledgement")
        rendered = selectors.notification_preview(
            referral=result.referral, kind="acknowledgement", notification=notification
        ).rendered
        return rendered.text + rendered.html

    assert "https://therapy.example.nhs.uk/portal/" in shown(by_email)
    # No way to send a sign-in link: the portal would only turn them away.
    assert "/portal/" not in shown(by_letter)
