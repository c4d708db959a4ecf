"""Intake's retention categories at the edge of their periods (intake/retention.py)."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone

from intake import retention
from intake.models import Client, ConsentRecord, Preferences, Referral, ReferralDraft
from notifications.models import Notification
from tests.factories import (
    PreferencesFactory,
    ReferralFactory,
    RiskFlagFactory,
    TherapyFactory,
)

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _aged(referral: Referral, when) -> Referral:
    Referral.objects.filter(pk=referral.pk).update(updated_at=when)
    return referral


def _draft(created_at) -> ReferralDraft:
    draft = ReferralDraft.objects.create(
        data={}, expires_at=timezone.now() + timedelta(days=7), token_hash=secrets.token_hex(32)
    )
    ReferralDraft.objects.filter(pk=draft.pk).update(created_at=created_at)
    return draft


def test_a_draft_is_kept_until_its_period_ends_then_deleted(settings):
    now = timezone.now()
    settings.RETENTION_DRAFT_DAYS = 30
    inside = _draft(now - timedelta(days=30) + DAY)
    past = _draft(now - timedelta(days=30) - DAY)

    assert retention.drafts_remove(now, 100) == 1

    assert ReferralDraft.objects.filter(pk=inside.pk).exists()
    assert not ReferralDraft.objects.filter(pk=past.pk).exists()
    assert retention.drafts_remove(now, 100) == 0


def _not_seen(status=Referral.Status.WITHDRAWN) -> Referral:
    referral = ReferralFactory(status=status)
    PreferencesFactory(referral=referral)
    ConsentRecord.objects.create(
        client=referral.client,
        referral=referral,
        topic=ConsentRecord.Topic.CONTACT_EMAIL,
        decision=ConsentRecord.Decision.GRANTED,
        wording="May we email you?",
        recorded_at=timezone.now(),
    )
    Notification.objects.create(
        service=referral.service,
        referral=referral,
        kind="acknowledgement",
        recipient="client",
        occurrence="1",
        idempotency_key=f"ack-{referral.pk}",
    )
    return referral


@pytest.mark.parametrize("status", [Referral.Status.WITHDRAWN, Referral.Status.SIGNPOSTED])
def test_a_referral_never_seen_is_kept_within_its_period_and_deleted_after(settings, status):
    settings.RETENTION_REFERRAL_NOT_SEEN_YEARS = 8
    now = timezone.now()
    cutoff = retention.years_before(now, 8)
    inside = _aged(_not_seen(status), cutoff + DAY)
    past = _aged(_not_seen(status), cutoff - DAY)

    assert retention.referrals_not_seen_remove(now, 100) == 1

    assert Referral.objects.filter(pk=inside.pk).exists()
    assert not Referral.objects.filter(pk=past.pk).exists()
    # What only it owned went with it, and the client, who had nothing else here.
    assert not Preferences.objects.filter(referral_id=past.pk).exists()
    assert not Notification.objects.filter(referral_id=past.pk).exists()
    assert not ConsentRecord.objects.filter(client_id=past.client_id).exists()
    assert not Client.objects.filter(pk=past.client_id).exists()
    assert Client.objects.filter(pk=inside.client_id).exists()
    # Idempotent: a second run finds nothing more.
    assert retention.referrals_not_seen_remove(now, 100) == 0


def test_a_client_with_another_referral_is_kept_when_an_old_one_goes(settings):
    now = timezone.now()
    old = _aged(_not_seen(), retention.years_before(now, 9))
    current = ReferralFactory(client=old.client, status=Referral.Status.SUBMITTED)

    assert retention.referrals_not_seen_remove(now, 100) == 1

    assert Client.objects.filter(pk=old.client_id).exists()
    assert Referral.objects.filter(pk=current.pk).exists()


def test_a_referral_in_therapy_is_never_touched_however_old():
    now = timezone.now()
    therapy = TherapyFactory()
    _aged(therapy.referral, retention.years_before(now, 40))

    assert retention.referrals_not_seen_remove(now, 100) == 0
    assert retention.clinical_records_due(now=now).count() == 0
    assert Referral.objects.filter(pk=therapy.referral_id).exists()


def test_a_withdrawn_referral_with_an_open_therapy_is_held_as_a_clinical_record():
    # Withdrawn on the referral while a therapy row is still open: the therapy holds it.
    now = timezone.now()
    therapy = TherapyFactory(referral__status=Referral.Status.WITHDRAWN)
    _aged(therapy.referral, retention.years_before(now, 10))

    assert retention.referrals_not_seen_remove(now, 100) == 0
    assert Referral.objects.filter(pk=therapy.referral_id).exists()


def test_a_withdrawn_referral_with_a_risk_flag_is_a_clinical_record(settings):
    now = timezone.now()
    flag = RiskFlagFactory(referral__status=Referral.Status.WITHDRAWN)
    _aged(flag.referral, retention.years_before(now, 10))

    assert retention.referrals_not_seen_remove(now, 100) == 0
    assert Referral.objects.filter(pk=flag.referral_id).exists()


def test_every_app_above_intake_that_protects_a_referral_holds_it():
    holders = {model._meta.label for model, _ in retention.clinical_record_holders()}
    assert {"therapy.Therapy", "assessment.Assessment", "allocation.Allocation"} <= holders
    assert "assessment.AssessmentAppointment" in holders


def test_clinical_records_are_counted_for_review_after_their_period_and_never_deleted(settings):
    settings.RETENTION_CLINICAL_RECORD_YEARS = 20
    now = timezone.now()
    cutoff = retention.years_before(now, 20)
    inside = _aged(ReferralFactory(status=Referral.Status.ENDED), cutoff + DAY)
    past = _aged(ReferralFactory(status=Referral.Status.ENDED), cutoff - DAY)

    due = retention.clinical_records_due(now=now)

    assert list(due.values_list("pk", flat=True)) == [past.pk]
    assert retention.clinical_records_count(now, 100) == 0
    assert retention.referrals_not_seen_remove(now, 100) == 0
    assert Referral.objects.filter(pk__in=[inside.pk, past.pk]).count() == 2


def test_years_before_a_leap_day():
    leap = timezone.now().replace(year=2024, month=2, day=29)
    assert retention.years_before(leap, 1).date().isoformat() == "2023-02-28"


def test_api_token_uses_are_kept_until_their_period_ends_then_deleted(settings):
    from intake.api_tokens import ApiTokenUse, api_token_issue
    from tests.factories import UserFactory

    now = timezone.now()
    settings.RETENTION_TOKEN_USE_DAYS = 730
    token = api_token_issue(user=UserFactory(), name="Partner").token

    def use(at):
        return ApiTokenUse.objects.create(
            token=token, at=at, address="192.0.2.1", method="GET", path="/api/"
        )

    inside = use(now - timedelta(days=730) + DAY)
    past = [use(now - timedelta(days=730) - DAY) for _ in range(3)]

    assert retention.api_token_uses_remove(now, 2) == 2  # bounded by the batch
    assert retention.api_token_uses_remove(now, 2) == 1
    assert retention.api_token_uses_remove(now, 2) == 0

    assert ApiTokenUse.objects.filter(pk=inside.pk).exists()
    assert not ApiTokenUse.objects.filter(pk__in=[u.pk for u in past]).exists()


def test_api_token_uses_are_kept_two_years_by_default():
    from django.conf import settings as django_settings

    assert django_settings.RETENTION_TOKEN_USE_DAYS == 730
