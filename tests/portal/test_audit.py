"""The client portal's sign-ins and pages are on the audit trail (docs/security.md, "Audit")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.django_db


def test_a_client_signing_in_and_reading_portal_pages_is_recorded(client, referral):
    sign_in(client, referral)
    signed = AuditEvent.objects.get(action=AuditEvent.Action.PORTAL_SIGN_IN)
    assert signed.user_id is None
    assert signed.service_id == referral.service_id
    assert signed.referral_id == referral.public_id
    assert signed.address

    assert client.get(reverse("portal-home")).status_code == 200
    read = AuditEvent.objects.filter(view="portal-home").get()
    assert read.action == AuditEvent.Action.READ
    assert read.user_id is None and read.referral_id == referral.public_id
    assert read.service_id == referral.service_id
    assert read.status == 200 and read.detail.get("by") == "client"


def test_a_portal_change_is_recorded_as_a_write(client, referral):
    sign_in(client, referral)
    client.post(reverse("portal-sign-out"))
    event = AuditEvent.objects.filter(view="portal-sign-out").get()
    assert event.action == AuditEvent.Action.WRITE
    assert event.referral_id == referral.public_id


def test_the_audit_page_names_the_client_for_portal_events(client, referral, service_admin):
    sign_in(client, referral)
    client.get(reverse("portal-home"))
    client.force_login(service_admin)
    page = client.get(reverse("audit-events"))
    assert page.status_code == 200
    assert "The client (portal)" in page.text
