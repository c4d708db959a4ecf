"""Writes for intake: consent decisions (and, with the self-referral, referral_submit)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from intake.models import Client, ConsentRecord, PrivacyNotice, Referral


def consent_record(
    *,
    client: Client,
    topic: str,
    decision: str,
    wording: str,
    wording_version: str,
    via: str,
    referral: Referral | None = None,
    notice: PrivacyNotice | None = None,
    recorded_by=None,
) -> ConsentRecord:
    """Append one decision. Never edits an earlier one: history is the record."""
    if topic not in ConsentRecord.Topic.values:
        raise ValueError(f"unknown consent topic {topic!r}")
    if decision not in ConsentRecord.Decision.values:
        raise ValueError(f"unknown consent decision {decision!r}")
    return ConsentRecord.objects.create(
        client=client,
        referral=referral,
        topic=topic,
        decision=decision,
        wording=wording,
        wording_version=wording_version,
        notice=notice,
        via=via,
        recorded_at=timezone.now(),
        recorded_by=recorded_by,
    )


@transaction.atomic
def consent_withdraw(*, client: Client, topic: str, via: str, recorded_by=None) -> ConsentRecord:
    return consent_record(
        client=client,
        topic=topic,
        decision=ConsentRecord.Decision.WITHDRAWN,
        wording="Consent withdrawn",
        wording_version="withdrawal-1",
        via=via,
        recorded_by=recorded_by,
    )
