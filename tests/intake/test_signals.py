"""Upward work goes through intake's signals, inside the transaction that caused it."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection, transaction

from intake import signals
from intake.models import Referral
from intake.services import ReferralInput, referral_status_set, referral_submit

pytestmark = pytest.mark.django_db


def _data() -> ReferralInput:
    return ReferralInput(given_name="Sol", family_name="Marsh", date_of_birth=date(1988, 3, 1))


@pytest.fixture
def heard():
    calls = []

    def receiver(sender, **kwargs):
        calls.append((kwargs, connection.in_atomic_block))

    signals.referral_submitted.connect(receiver, dispatch_uid="test.submitted")
    signals.referral_status_changed.connect(receiver, dispatch_uid="test.status")
    yield calls
    signals.referral_submitted.disconnect(dispatch_uid="test.submitted")
    signals.referral_status_changed.disconnect(dispatch_uid="test.status")


def test_a_submitted_referral_is_announced_inside_its_transaction(service, heard):
    result = referral_submit(service=service, data=_data(), idempotency_key="s1", via="api")

    ((kwargs, in_transaction),) = heard
    assert kwargs["referral"].pk == result.referral.pk
    assert in_transaction


def test_a_replayed_submission_is_not_announced_again(service, heard):
    referral_submit(service=service, data=_data(), idempotency_key="s2", via="api")
    referral_submit(service=service, data=_data(), idempotency_key="s2", via="api")

    assert len(heard) == 1


def test_a_status_change_says_what_it_was_and_what_it_is(service, heard):
    referral = referral_submit(
        service=service, data=_data(), idempotency_key="s3", via="api"
    ).referral
    heard.clear()

    with transaction.atomic():
        referral_status_set(referral=referral, status=Referral.Status.AWAITING_ALLOCATION)

    ((kwargs, in_transaction),) = heard
    assert (kwargs["previous"], kwargs["status"]) == (
        Referral.Status.SUBMITTED,
        Referral.Status.AWAITING_ALLOCATION,
    )
    assert in_transaction


def test_a_failing_receiver_rolls_the_submission_back(service):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver failed")

    signals.referral_submitted.connect(broken, dispatch_uid="test.broken")
    try:
        with pytest.raises(RuntimeError):
            referral_submit(service=service, data=_data(), idempotency_key="s4", via="api")
    finally:
        signals.referral_submitted.disconnect(dispatch_uid="test.broken")

    assert not Referral.objects.filter(idempotency_key="s4").exists()
