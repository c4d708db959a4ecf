"""Clients who gave chosen details and agreed to chosen ways of contact (no pytest here:
a subprocess standing in for the web process uses it too)."""

from __future__ import annotations

from intake.models import ConsentRecord
from intake.services import consent_record
from tests import factories

TOPIC = {
    "email": ConsentRecord.Topic.CONTACT_EMAIL,
    "sms": ConsentRecord.Topic.CONTACT_SMS,
    "letter": ConsentRecord.Topic.LETTERS_HOME,
    "phone": ConsentRecord.Topic.CONTACT_PHONE,
    "voicemail": ConsentRecord.Topic.VOICEMAIL,
    "gp": ConsentRecord.Topic.TELL_GP,
}


def agree(client, *topics: str, decision: str = ConsentRecord.Decision.GRANTED) -> None:
    for topic in topics:
        consent_record(
            client=client,
            topic=TOPIC[topic],
            decision=decision,
            wording=f"May we contact you by {topic}?",
            wording_version="test-1",
            via=ConsentRecord.Via.SELF_REFERRAL,
        )


REFERRAL_FIELDS = {"received_at", "status", "reference", "risk_level"}


def make_referral(service, *, agreed=("email",), preferred="", **fields):
    """A referral whose client gave these details and agreed to these ways of contact."""
    referral_fields = {k: v for k, v in fields.items() if k in REFERRAL_FIELDS}
    client_fields = {k: v for k, v in fields.items() if k not in REFERRAL_FIELDS}
    details = {
        "email": "sam.client@example.org",
        "mobile_phone": "+447700900123",
        "address": "4 Orchard Row\nMillbrook\nMB1 2CD",
        "gp_practice_name": "Orchard Surgery",
        "gp_practice_address": "1 High Street\nMillbrook\nMB1 1AA",
        "given_name": "Sam",
        "family_name": "Rivers",
        "preferred_channel": preferred,
        **client_fields,
    }
    referral = factories.ReferralFactory(
        client__service=service, **_prefixed(details), **referral_fields
    )
    agree(referral.client, *agreed)
    return referral


def _prefixed(fields: dict) -> dict:
    return {f"client__{name}": value for name, value in fields.items()}
