"""What the audit trail records: every signed-in staff page and every partner API request,
with who, when, from where, which object and what action; explicit events for resends,
overrides and bulk accepts, their reasons encrypted; and nothing can change a row."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit import services
from audit.models import AuditEvent
from intake.api_tokens import api_token_issue
from notifications import sending
from notifications.models import Notification
from notifications.outbox import notification_queue
from tests import factories
from tests.allocation.conftest import make_therapist, make_waiting, run_queued
from tests.intake.test_api import BODY, URL
from tests.notifications.people import make_referral

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.7"


def _only(**filters) -> AuditEvent:
    return AuditEvent.objects.get(**filters)


def test_reading_a_referral_page_records_who_when_where_what_and_which(client, assessor):
    referral = factories.ReferralFactory(client__service=assessor.service)
    client.force_login(assessor)

    response = client.get(
        reverse("staff-referral-detail", args=[referral.public_id]), REMOTE_ADDR=ADDRESS
    )

    assert response.status_code == 200
    event = _only(view="staff-referral-detail")
    assert event.user == assessor and event.service_id == assessor.service_id
    assert event.action == AuditEvent.Action.READ and event.method == "GET"
    assert event.status == 200 and event.address == ADDRESS
    assert event.object_type == "referral" and event.object_id == str(referral.public_id)
    assert event.referral_id == referral.public_id
    assert event.at is not None


def test_reading_a_clinical_page_records_the_assessment_read(client, assessor):
    referral = factories.ReferralFactory(client__service=assessor.service)
    assessment = factories.FinishedAssessmentFactory(
        referral=referral, assessor=assessor, finished_by=assessor
    )
    client.force_login(assessor)

    response = client.get(
        reverse("assessment-detail", args=[assessment.public_id]), REMOTE_ADDR=ADDRESS
    )

    assert response.status_code == 200
    event = _only(view="assessment-detail")
    assert event.user == assessor and event.address == ADDRESS
    assert event.action == AuditEvent.Action.READ
    assert event.object_type == "assessment" and event.object_id == str(assessment.public_id)


def test_a_refused_page_is_recorded_with_its_status_and_nobody_signed_in_is_not(
    client, assessor, other_staff
):
    referral = factories.ReferralFactory(client__service=assessor.service)
    url = reverse("staff-referral-detail", args=[referral.public_id])

    assert client.get(url).status_code == 302  # sent to sign in: nobody to record
    assert not AuditEvent.objects.exists()

    client.force_login(other_staff)
    assert client.get(url).status_code == 404
    event = _only(view="staff-referral-detail")
    assert event.user == other_staff and event.status == 404
    assert event.service_id == other_staff.service_id


def test_a_change_is_recorded_as_a_write_with_the_sub_object(client, assessor):
    referral = factories.ReferralFactory(client__service=assessor.service)
    flag = factories.RiskFlagFactory(referral=referral)
    client.force_login(assessor)

    client.post(
        reverse("staff-risk-acknowledge", args=[referral.public_id, flag.public_id]),
        {"action_taken": "Called the client; safety plan agreed"},
        REMOTE_ADDR=ADDRESS,
    )

    event = _only(view="staff-risk-acknowledge")
    assert event.action == AuditEvent.Action.WRITE and event.method == "POST"
    assert event.referral_id == referral.public_id
    assert event.detail == {"flag_id": str(flag.public_id)}
    # What was typed is not in the audit trail.
    assert "safety plan" not in str(AuditEvent.objects.values_list())


def test_a_partner_api_request_is_recorded_with_the_referral_it_made(partner_user):
    from rest_framework.test import APIClient

    key = api_token_issue(user=partner_user, name="Practice system").key
    api = APIClient(REMOTE_ADDR=ADDRESS)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api.post(URL, BODY, format="json")

    assert response.status_code == 201
    event = _only(view="api-referrals")
    assert event.user == partner_user and event.address == ADDRESS
    assert event.action == AuditEvent.Action.WRITE and event.status == 201
    assert event.object_type == "referral"
    assert str(event.referral_id) == response.json()["id"]


@pytest.fixture
def partner_user(service):
    from common import roles

    return factories.UserFactory(
        username="millane", service=service, roles=[roles.PARTNER_REFERRER]
    )


def test_a_forged_forwarded_for_header_cannot_choose_the_recorded_address(
    client, assessor, settings
):
    referral = factories.ReferralFactory(client__service=assessor.service)
    url = reverse("staff-referral-detail", args=[referral.public_id])
    client.force_login(assessor)
    forged = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.5"}

    settings.TRUSTED_PROXY_COUNT = 0
    client.get(url, **forged)
    settings.TRUSTED_PROXY_COUNT = 1
    client.get(url, **forged)

    first, second = AuditEvent.objects.order_by("pk")
    assert first.address == "10.0.0.2"  # no proxy trusted: the header is ignored
    assert second.address == "203.0.113.5"  # the one entry our proxy appended


def test_record_takes_an_address_when_there_is_no_request(assessor):
    referral = factories.ReferralFactory(client__service=assessor.service)

    event = services.record(
        user=assessor,
        action=AuditEvent.Action.TWO_FACTOR_RESET,
        obj=assessor,
        address="192.0.2.1",
        reason="Lost phone",
    )
    services.record(user=assessor, action=AuditEvent.Action.READ, referral=referral)

    assert event.object_type == "user" and event.object_id == str(assessor.public_id)
    assert event.address == "192.0.2.1" and event.service_id == assessor.service_id
    assert _only(referral_id=referral.public_id).object_type == "referral"


def test_bulk_accept_records_one_event_per_allocation(
    client, service, sites, ada, coordinator, django_capture_on_commit_callbacks
):
    from allocation.models import Allocation, Proposal, ProposalRun

    ada.capacity = 3
    ada.save()
    make_waiting(service, weeks=10, availability=["tue_evening"])
    make_waiting(service, weeks=9, availability=["thu_evening"])
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("allocation-run-start"))
    run_queued()
    run = ProposalRun.objects.order_by("-created_at").first()
    ids = [str(p.public_id) for p in Proposal.objects.filter(run=run, therapist__isnull=False)]
    assert len(ids) == 2

    client.post(reverse("allocation-bulk-accept"), {"proposal": ids}, REMOTE_ADDR=ADDRESS)

    events = AuditEvent.objects.filter(action=AuditEvent.Action.BULK_ACCEPT)
    allocations = Allocation.objects.select_related("referral")
    assert {(e.object_id, e.referral_id) for e in events} == {
        (str(a.public_id), a.referral.public_id) for a in allocations
    }
    assert all(e.user == coordinator and e.address == ADDRESS for e in events)


def _raw_reasons() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM audit_auditevent WHERE reason <> ''")
        return [row[0] for row in cursor.fetchall()]


def test_a_resend_reason_is_kept_encrypted(client, assessor):
    referral = make_referral(assessor.service, agreed=("email",), preferred="email")
    notification = notification_queue(kind="acknowledgement", referral=referral)
    sending.notification_deliver(public_id=notification.public_id)
    client.force_login(assessor)

    client.post(
        reverse("staff-message-resend", args=[notification.public_id]),
        {"resend-reason": "Client says it never arrived"},
    )

    event = _only(action=AuditEvent.Action.RESEND)
    resent = Notification.objects.get(resend_of=notification)
    assert event.object_id == str(resent.public_id) and event.referral_id == referral.public_id
    assert event.reason == "Client says it never arrived"
    raw = _raw_reasons()
    assert len(raw) == 1 and "never arrived" not in raw[0]


def test_choosing_another_therapist_records_the_override_and_its_reason_encrypted(
    client, service, sites, ada, coordinator
):
    from allocation.models import Allocation

    referral = make_waiting(service)
    ben = make_therapist(
        service, [sites["Northgate"]], [(3, "17:00", sites["Northgate"])], display_name="Ben Hart"
    )
    client.force_login(coordinator)
    client.post(
        reverse("allocation-referral-choose", args=[referral.public_id]),
        {"slots": [str(ben.slots.get().public_id)], "reason": "Client asked for evenings"},
    )

    allocation = Allocation.objects.get(referral=referral)
    event = _only(action=AuditEvent.Action.OVERRIDE)
    assert event.object_id == str(allocation.public_id) and event.referral_id == referral.public_id
    assert event.reason == "Client asked for evenings"
    assert all("evenings" not in raw for raw in _raw_reasons())


def test_audit_rows_cannot_be_changed_or_deleted_on_postgresql(postgres, assessor):
    event = services.record(user=assessor, action=AuditEvent.Action.READ, obj=assessor)

    for statement in (
        "UPDATE audit_auditevent SET action = 'write' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.action == AuditEvent.Action.READ


def test_a_key_rotation_re_encrypts_reasons_and_nothing_else_changes(postgres, assessor, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    event = services.record(
        user=assessor, action=AuditEvent.Action.RESEND, obj=assessor, reason="Lost letter"
    )
    before = _raw_reasons()

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_field_keys", verbosity=0)
    settings.FIELD_ENCRYPTION_KEYS = [new]

    assert _raw_reasons() != before
    again = AuditEvent.objects.get(pk=event.pk)
    assert (again.reason, again.action, again.at) == ("Lost letter", event.action, event.at)
    # Outside the rotation the trigger still refuses every change.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = '' WHERE id = %s", [event.pk])


def test_a_page_that_fails_is_recorded_with_its_server_error(client, assessor, monkeypatch):
    from intake import selectors as intake_selectors

    def broken(**kwargs):
        raise RuntimeError("a bug in the page")

    monkeypatch.setattr(intake_selectors, "referral_overview", broken)
    referral = factories.ReferralFactory(client__service=assessor.service)
    client.force_login(assessor)
    client.raise_request_exception = False

    response = client.get(reverse("staff-referral-detail", args=[referral.public_id]))

    assert response.status_code == 500
    event = _only(view="staff-referral-detail")
    assert event.status == 500 and event.referral_id == referral.public_id


def test_a_page_whose_event_cannot_be_written_is_not_sent(client, assessor, monkeypatch):
    def unwritable(**kwargs):
        raise DatabaseError("the audit table is unreachable")

    monkeypatch.setattr(services, "record", unwritable)
    referral = factories.ReferralFactory(client__service=assessor.service)
    client.force_login(assessor)

    response = client.get(reverse("staff-referral-detail", args=[referral.public_id]))

    assert response.status_code == 500
    assert referral.reference not in response.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("durable_reads", [False, True])
def test_a_reads_event_skips_the_disk_wait_unless_told_and_a_writes_never_does(
    postgres, client, assessor, settings, durable_reads
):
    from django.test.utils import CaptureQueriesContext

    settings.AUDIT_DURABLE_READS = durable_reads
    referral = factories.ReferralFactory(client__service=assessor.service)
    flag = factories.RiskFlagFactory(referral=referral)
    client.force_login(assessor)

    def asynchronous(request) -> bool:
        with CaptureQueriesContext(connection) as queries:
            request()
        return any("synchronous_commit" in q["sql"] for q in queries.captured_queries)

    read = asynchronous(
        lambda: client.get(reverse("staff-referral-detail", args=[referral.public_id]))
    )
    write = asynchronous(
        lambda: client.post(
            reverse("staff-risk-acknowledge", args=[referral.public_id, flag.public_id]),
            {"action_taken": "Called"},
        )
    )

    assert (read, write) == (not durable_reads, False)
    assert AuditEvent.objects.filter(referral_id=referral.public_id).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_reads_event_is_one_round_trip_committed_at_once_and_the_setting_does_not_linger(
    postgres, client, assessor, settings
):
    import psycopg
    from django.test.utils import CaptureQueriesContext

    settings.AUDIT_DURABLE_READS = False
    referral = factories.ReferralFactory(client__service=assessor.service)
    client.force_login(assessor)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("staff-referral-detail", args=[referral.public_id]))

    assert response.status_code == 200
    audit_sql = [q["sql"] for q in queries.captured_queries if "audit_auditevent" in q["sql"]]
    assert len(audit_sql) == 1 and "synchronous_commit TO OFF" in audit_sql[0]
    assert not any(q["sql"] in ("BEGIN", "COMMIT") for q in queries.captured_queries)
    event = AuditEvent.objects.get(referral_id=referral.public_id)
    assert (event.view, event.user_id, event.status) == (
        "staff-referral-detail",
        assessor.pk,
        200,
    )
    # Committed: another connection sees it.
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as other:
        seen = other.execute(
            "SELECT count(*) FROM audit_auditevent WHERE id = %s", [event.pk]
        ).fetchone()[0]
    assert seen == 1
    # The setting was for that commit only: the connection's later writes wait for the disk.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db(transaction=True)
def test_an_event_written_without_waiting_is_stored_as_save_stores_it(postgres, assessor):
    """The quick INSERT's text is compiled once and reused: each event's values are still
    its own, prepared by its fields as `save` prepares them (the reason encrypted)."""
    from uuid import uuid4

    fields = [f.attname for f in AuditEvent._meta.concrete_fields if not f.primary_key]

    def written(durable: bool, **values) -> dict:
        event = services.record(
            user=assessor, address="10.0.0.1", durable=durable, action="read", **values
        )
        stored = AuditEvent.objects.get(pk=event.pk)
        return {name: getattr(stored, name) for name in fields if name != "at"}

    for values in (
        {"view": "a-view", "method": "GET", "status": 200},
        {
            "view": "another",
            "method": "POST",
            "status": 302,
            "object_type": "referral",
            "object_id": "x1",
            "referral_id": uuid4(),
            "detail": {"page": "2", "nested": [1, "two"]},
            "reason": " Because <asked> ",
        },
    ):
        quick, saved = written(False, **values), written(True, **values)
        assert quick == saved
        assert quick["reason"] == values.get("reason", "").strip()
    assert AuditEvent.objects.count() == 4
