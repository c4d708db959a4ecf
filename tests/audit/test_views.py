"""The audit page: service admins search their own service's events and export them as CSV;
every other role is refused, and another service's events never show."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit import services
from audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

URL = reverse("audit-events")
CSV_URL = reverse("audit-events-csv")


@pytest.fixture
def events(service, assessor, coordinator, other_staff):
    first = factories.ReferralFactory(client__service=service)
    second = factories.ReferralFactory(client__service=service)
    theirs = factories.ReferralFactory(client__service=other_staff.service)
    made = {
        "alice_reads_first": services.record(
            user=assessor, action=AuditEvent.Action.READ, referral=first
        ),
        "bob_writes_second": services.record(
            user=coordinator, action=AuditEvent.Action.WRITE, referral=second
        ),
        "other_service": services.record(
            user=other_staff, action=AuditEvent.Action.READ, referral=theirs
        ),
    }
    return made, first, second, theirs


def _shown(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_other_roles_are_refused(client, assessor, coordinator, therapist_user):
    for user in (assessor, coordinator, therapist_user):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert client.get(CSV_URL).status_code == 403


def test_a_service_admin_sees_only_their_own_services_events(client, service_admin, events):
    _, first, second, theirs = events
    client.force_login(service_admin)

    html = _shown(client.get(URL))

    assert first.reference in html and second.reference in html
    assert theirs.reference not in html
    assert "erin" not in html


def test_filters_by_member_of_staff_reference_action_and_object(
    client, service_admin, assessor, coordinator, events
):
    _, first, second, _ = events
    client.force_login(service_admin)

    by_staff = _shown(client.get(URL, {"user": coordinator.pk}))
    assert second.reference in by_staff and first.reference not in by_staff

    by_reference = _shown(client.get(URL, {"reference": first.reference.lower()}))
    assert first.reference in by_reference and second.reference not in by_reference

    by_action = _shown(client.get(URL, {"action": "write"}))
    assert second.reference in by_action and first.reference not in by_action

    by_object = _shown(client.get(URL, {"object": str(first.public_id)}))
    assert first.reference in by_object and second.reference not in by_object


def test_filters_by_date_range(client, service_admin, assessor):
    referral = factories.ReferralFactory(client__service=service_admin.service)
    services.record(user=assessor, action=AuditEvent.Action.READ, referral=referral)
    client.force_login(service_admin)
    today = timezone.localdate()

    shown = _shown(client.get(URL, {"from_date": today.isoformat(), "to_date": today.isoformat()}))
    assert referral.reference in shown
    earlier = (today - timedelta(days=3)).isoformat()
    shown = _shown(client.get(URL, {"from_date": earlier, "to_date": earlier}))
    assert referral.reference not in shown


def test_a_mistyped_filter_says_what_is_wrong_and_keeps_the_rest(client, service_admin, events):
    client.force_login(service_admin)

    response = client.get(URL, {"from_date": "31/02/2026", "reference": "TH-1", "object": "nope"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a real date" in html
    assert "Enter the id of a record" in html
    assert 'value="TH-1"' in html


def test_the_page_reads_in_a_bounded_number_of_queries(
    client, service_admin, assessor, django_assert_max_num_queries
):
    referral = factories.ReferralFactory(client__service=service_admin.service)
    for _ in range(60):
        services.record(user=assessor, action=AuditEvent.Action.READ, referral=referral)
    client.force_login(service_admin)

    with django_assert_max_num_queries(12):
        response = client.get(URL)

    assert response.status_code == 200
    assert "Next" in response.content.decode()


def test_the_export_streams_the_filtered_events_and_is_itself_recorded(
    client, service_admin, coordinator, events
):
    _, _, second, _ = events
    client.force_login(service_admin)

    response = client.get(CSV_URL, {"user": coordinator.pk})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["referral"] for row in rows] == [second.reference]
    assert rows[0]["member of staff"] == "bob" and rows[0]["action"] == "write"
    export = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert export.user == service_admin and export.detail == {"user": str(coordinator.pk)}


def test_the_export_neutralises_cells_a_spreadsheet_would_run(client, service, service_admin):
    sly = factories.UserFactory(username="=cmd", service=service)
    services.record(user=sly, action=AuditEvent.Action.READ, obj=sly)
    client.force_login(service_admin)

    body = b"".join(client.get(CSV_URL).streaming_content).decode()

    assert "'=cmd" in body and ",=cmd" not in body


def test_the_page_is_linked_for_service_admins_only(client, service_admin, assessor):
    client.force_login(service_admin)
    assert URL in client.get(reverse("staff-home")).content.decode()
    client.force_login(assessor)
    assert URL not in client.get(reverse("staff-home")).content.decode()
