"""Events recorded outside the staff pages' middleware: a two-factor reset with its reason,
(the portal's own are in tests/portal/test_audit.py) (docs/security.md, "Audit")."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from audit.models import AuditEvent
from tests.support.two_factor import authenticator_for

pytestmark = pytest.mark.django_db


def test_a_two_factor_reset_is_recorded_with_its_reason_encrypted(client, service_admin, assessor):
    authenticator_for(assessor)
    client.force_login(service_admin)
    url = reverse("staff-two-factor-reset", args=[assessor.public_id])
    response = client.post(url, {"reason": "Phone lost on the train"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302

    event = AuditEvent.objects.get(action=AuditEvent.Action.TWO_FACTOR_RESET)
    assert event.user_id == service_admin.pk
    assert event.service_id == service_admin.service_id
    assert event.object_type == "user" and event.object_id == str(assessor.public_id)
    assert event.reason == "Phone lost on the train"
    assert event.address == "203.0.113.9"
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM audit_auditevent WHERE id = %s", [event.pk])
        [raw] = cursor.fetchone()
    assert "train" not in raw
