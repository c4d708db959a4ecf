"""Rights requests: a client's request to correct their record or to restrict its use, worked
by the office as a task with a legal due date, completed with an outcome; and what a
restriction in force does (a banner, held from allocation, no message to the client or GP,
risk alerts still sent)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from allocation import decisions, engine_input, services, waiting
from intake import rights
from intake.models import Referral, RightsRequest
from notifications import printing, sending
from notifications.models import Notification
from notifications.outbox import notification_queue
from tests import factories
from tests.allocation.conftest import make_therapist, make_waiting
from tests.notifications.people import make_referral

pytestmark = pytest.mark.django_db


def _open(referral, user=None, *, kind="correction", received_on=None, source="phone"):
    return rights.rights_request_open(
        referral=referral,
        kind=kind,
        details="My address is wrong: it is 5 Orchard Row",
        source=source,
        received_on=received_on,
        recorded_by=user,
    )


# --- Due dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "months", "due"),
    [
        (dt.date(2026, 3, 10), 1, dt.date(2026, 4, 10)),  # a Friday
        (dt.date(2026, 1, 31), 1, dt.date(2026, 3, 2)),  # 28 February 2026 is a Saturday
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),  # a leap year's last day
        (dt.date(2026, 11, 30), 1, dt.date(2026, 12, 30)),
        (dt.date(2026, 12, 15), 3, dt.date(2027, 3, 15)),  # across the year
        (dt.date(2026, 5, 16), 1, dt.date(2026, 6, 16)),
    ],
)
def test_due_one_calendar_month_on_moved_off_a_weekend(received, months, due):
    assert rights.due_on(received, extension_months=months - 1) == due


# --- Recording a request -------------------------------------------------------------------


def test_the_office_records_a_request_from_the_referral_page(client, coordinator):
    referral = factories.ReferralFactory(client__service=coordinator.service)
    client.force_login(coordinator)
    page = client.get(reverse("staff-referral-detail", args=[referral.public_id]))
    new_url = reverse("rights-request-new", args=[referral.public_id])
    assert new_url in page.text
    # Received yesterday: always in the past (the 2nd of this month is not, on the 1st).
    received = timezone.localdate() - dt.timedelta(days=1)

    response = client.post(
        new_url,
        {
            "kind": "correction",
            "details": "My surname is spelt Rivers, not Rives",
            "received_on_day": str(received.day),
            "received_on_month": str(received.month),
            "received_on_year": str(received.year),
            "source": "letter",
        },
    )

    request = RightsRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("rights-request-detail", args=[request.public_id])
    assert request.referral == referral and request.recorded_by == coordinator
    assert request.source == "letter" and request.status == "open"
    assert request.due_on == rights.due_on(request.received_on)
    # What the client asks is encrypted at rest.
    with connection.cursor() as cursor:
        cursor.execute("SELECT details FROM intake_rightsrequest WHERE id = %s", [request.pk])
        assert "Rivers" not in cursor.fetchone()[0]
    detail = client.get(response["Location"])
    assert "My surname is spelt Rivers, not Rives" in detail.text
    assert "There is no staff page to edit a client's name" in detail.text


def test_a_form_with_mistakes_says_each_and_keeps_what_was_typed(client, coordinator):
    referral = factories.ReferralFactory(client__service=coordinator.service)
    client.force_login(coordinator)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    response = client.post(
        reverse("rights-request-new", args=[referral.public_id]),
        {
            "details": "Please stop using my record while my complaint is looked at",
            "received_on_day": str(tomorrow.day),
            "received_on_month": str(tomorrow.month),
            "received_on_year": str(tomorrow.year),
        },
    )

    assert response.status_code == 400
    assert (
        "Choose whether the client asks for a copy, a correction or a restriction" in response.text
    )
    assert "Choose how the request came" in response.text
    assert "Please stop using my record while my complaint is looked at" in response.text
    assert not RightsRequest.objects.exists()

    response = client.post(
        reverse("rights-request-new", args=[referral.public_id]),
        {
            "kind": "restriction",
            "details": "Please stop using my record",
            "received_on_day": str(tomorrow.day),
            "received_on_month": str(tomorrow.month),
            "received_on_year": str(tomorrow.year),
            "source": "phone",
        },
    )
    assert response.status_code == 400
    assert "The date received must be today or in the past" in response.text
    assert f'value="{tomorrow.year}"' in response.text
    assert not RightsRequest.objects.exists()


def test_the_client_portal_can_open_a_correction_request(service):
    """The coming client portal calls the same service, with no member of staff."""
    referral = factories.ReferralFactory(client__service=service)

    request = rights.rights_request_open(
        referral=referral, kind="correction", details="My phone number changed", source="portal"
    )

    assert request.recorded_by is None and request.source == "portal"
    assert request.received_on == timezone.localdate()
    with pytest.raises(rights.RightsError, match="what the client asks"):
        rights.rights_request_open(
            referral=referral, kind="correction", details=" ", source="portal"
        )


# --- The task list -------------------------------------------------------------------------


def test_the_task_list_shows_open_requests_soonest_due_first_with_overdue_marked(
    client, service_admin, other_staff, django_assert_max_num_queries
):
    service = service_admin.service
    today = timezone.localdate()
    late = _open(
        factories.ReferralFactory(client__service=service),
        received_on=today - dt.timedelta(days=50),
    )
    fresh = _open(factories.ReferralFactory(client__service=service))
    done = _open(factories.ReferralFactory(client__service=service))
    rights.rights_request_complete(
        request=done, user=service_admin, status="done", outcome="Address corrected"
    )
    elsewhere = _open(factories.ReferralFactory(client__service=other_staff.service))
    for _ in range(55):  # more than a page
        _open(factories.ReferralFactory(client__service=service))
    client.force_login(service_admin)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("rights-tasks"))

    text = response.text
    assert response.status_code == 200
    assert "57 open requests" in text
    assert text.index(str(late.public_id)) < text.index(str(fresh.public_id))
    assert "Overdue" in text
    assert str(done.public_id) not in text and str(elsewhere.public_id) not in text
    assert "page 1 of 2" in text
    completed = client.get(reverse("rights-tasks") + "?show=completed")
    assert str(done.public_id) in completed.text and str(late.public_id) not in completed.text


def test_the_staff_home_counts_open_and_overdue_requests_for_the_office(
    client, coordinator, assessor
):
    today = timezone.localdate()
    _open(
        factories.ReferralFactory(client__service=coordinator.service),
        received_on=today - dt.timedelta(days=45),
    )
    _open(factories.ReferralFactory(client__service=coordinator.service))
    client.force_login(coordinator)
    home = client.get(reverse("staff-home")).text
    assert "2 open requests to correct or restrict a record" in home and "1 overdue" in home
    client.force_login(assessor)
    assert reverse("rights-tasks") not in client.get(reverse("staff-home")).text


# --- Completing and extending --------------------------------------------------------------


def test_completing_records_the_outcome_who_and_when(client, coordinator):
    request = _open(factories.ReferralFactory(client__service=coordinator.service))
    client.force_login(coordinator)
    url = reverse("rights-request-complete", args=[request.public_id])

    refused = client.post(
        url, {"complete-status": "refused", "complete-outcome": "The address we hold is right"}
    )
    assert refused.status_code == 400
    assert "complain to the Information Commissioner" in refused.text
    assert "The address we hold is right" in refused.text  # kept
    request.refresh_from_db()
    assert request.status == "open"

    done = client.post(
        url, {"complete-status": "done", "complete-outcome": "Address corrected in the admin"}
    )
    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == "done" and request.completed_by == coordinator
    assert request.outcome == "Address corrected in the admin" and request.completed_at
    with pytest.raises(rights.RightsError, match="already completed"):
        rights.rights_request_complete(
            request=request, user=coordinator, status="done", outcome="Again"
        )


def test_a_refusal_needs_the_client_told_of_the_ico(coordinator):
    request = _open(factories.ReferralFactory(client__service=coordinator.service))
    refused = rights.rights_request_complete(
        request=request,
        user=coordinator,
        status="refused",
        outcome="The record is accurate",
        client_told_of_ico=True,
    )
    assert refused.status == "refused" and refused.client_told_of_ico


def test_an_extension_adds_up_to_two_months_within_the_first_month_only(client, coordinator):
    today = timezone.localdate()
    request = _open(factories.ReferralFactory(client__service=coordinator.service))
    client.force_login(coordinator)
    url = reverse("rights-request-extend", args=[request.public_id])

    missing = client.post(url, {"extend-months": "1"})
    assert missing.status_code == 400 and "Enter why more time is needed" in missing.text

    assert (
        client.post(
            url, {"extend-months": "2", "extend-reason": "Two records to check"}
        ).status_code
        == 302
    )
    request.refresh_from_db()
    assert request.extension_months == 2 and request.due_on == rights.due_on(
        today, extension_months=2
    )
    assert request.extended_by == coordinator and request.first_due_on == rights.due_on(today)

    late = _open(
        factories.ReferralFactory(client__service=coordinator.service),
        received_on=today - dt.timedelta(days=40),
    )
    response = client.post(
        reverse("rights-request-extend", args=[late.public_id]),
        {"extend-months": "1", "extend-reason": "Complex"},
    )
    assert response.status_code == 400
    assert "within one month of receiving the request" in response.text
    assert "Complex" in response.text


# --- A restriction in force -----------------------------------------------------------------


def test_a_restriction_holds_messages_to_the_client_and_gp_but_not_risk_alerts(
    service, coordinator
):
    referral = make_referral(service, agreed=("email", "letter", "gp"), preferred="email")
    request = _open(referral, coordinator, kind="restriction")
    referral.refresh_from_db()
    assert referral.restricted_at is not None

    acknowledgement = notification_queue(kind="acknowledgement", referral=referral)
    gp_letter = notification_queue(kind="gp_letter", referral=referral, recipient="gp")
    alert = notification_queue(
        kind="risk_alert", referral=referral, recipient="duty_inbox", context={"reasons": ["x"]}
    )
    for notification in (acknowledgement, gp_letter, alert):
        sending.notification_deliver(public_id=notification.public_id)

    rows = {n.kind: n for n in Notification.objects.filter(referral=referral)}
    assert rows["acknowledgement"].status == "suppressed"
    assert "restrict the use of their record" in rows["acknowledgement"].status_reason
    assert rows["gp_letter"].status == "suppressed"
    assert rows["risk_alert"].status == "sent"
    assert [m.to for m in mail.outbox] == [[service.duty_inbox_email]]

    rights.restriction_lift(
        request=request, user=coordinator, reason="Complaint settled", client_told=True
    )
    referral.refresh_from_db()
    assert referral.restricted_at is None
    again = notification_queue(kind="acknowledgement", referral=referral, occurrence="2")
    assert sending.notification_deliver(public_id=again.public_id) == sending.Outcome.SENT


def test_a_letter_stored_before_the_restriction_is_not_printed(service, coordinator):
    referral = make_referral(service, agreed=("letter",))
    letter = notification_queue(kind="acknowledgement", referral=referral)
    sending.notification_deliver(public_id=letter.public_id)
    _open(referral, coordinator, kind="restriction")

    assert printing.print_batch_create(user=coordinator) is None
    letter.refresh_from_db()
    assert letter.status == "suppressed" and letter.status_reason.startswith("Not printed")


def test_the_banner_shows_on_the_referral_pages_and_says_risk_duties_still_apply(
    client, coordinator, assessor
):
    referral = factories.ReferralFactory(client__service=coordinator.service)
    client.force_login(assessor)
    url = reverse("staff-referral-detail", args=[referral.public_id])
    assert "The use of this record is restricted" not in client.get(url).text

    _open(referral, coordinator, kind="restriction")

    page = client.get(url).text
    assert "The use of this record is restricted" in page
    assert "Risk and safeguarding duties still apply" in page
    # Only the office is shown the way to the request.
    assert "See the rights request" not in page
    client.force_login(coordinator)
    assert "See the rights request" in client.get(url).text
    messages_page = client.get(reverse("staff-referral-messages", args=[referral.public_id]))
    assert "The use of this record is restricted" in messages_page.text


def test_a_restriction_holds_the_referral_off_allocation(service, coordinator):
    referral = make_waiting(service)
    free = make_waiting(service)
    _open(referral, coordinator, kind="restriction")

    built = engine_input.allocation_problem(service=service)
    references = {row["id"] for row in built.data["referrals"]}
    assert referral.reference not in references and free.reference in references
    held = waiting.waiting_list(user=coordinator, filters=waiting.WaitingFilters(status="held"))
    assert [row.reference for row in held.rows] == [referral.reference]
    ready = waiting.waiting_list(user=coordinator, filters=waiting.WaitingFilters(status="waiting"))
    assert [row.reference for row in ready.rows] == [free.reference]
    therapist = make_therapist(
        service, [], [(1, "10:00", None)], user=factories.UserFactory(service=service)
    )
    with pytest.raises(services.AllocationError, match="restricted the use of their record"):
        decisions.allocation_choose(
            referral=referral,
            user=coordinator,
            slot_ids=[therapist.slots.get().pk],
            reason="Because",
        )


def test_lifting_needs_a_reason_and_the_client_told_and_refusing_lifts_it(client, coordinator):
    referral = factories.ReferralFactory(client__service=coordinator.service)
    request = _open(referral, coordinator, kind="restriction")
    client.force_login(coordinator)

    response = client.post(
        reverse("rights-restriction-lift", args=[request.public_id]),
        {"lift-reason": "The address was checked"},
    )
    assert response.status_code == 400
    assert "The client must be told before a restriction is lifted" in response.text
    assert "The address was checked" in response.text
    referral.refresh_from_db()
    assert referral.restricted_at is not None

    second = _open(referral, coordinator, kind="restriction")
    rights.rights_request_complete(
        request=second,
        user=coordinator,
        status="refused",
        outcome="Not a ground for restriction",
        client_told_of_ico=True,
    )
    second.refresh_from_db()
    assert second.restriction_lifted_at is not None
    referral.refresh_from_db()
    assert referral.restricted_at is not None  # the first is still in force

    response = client.post(
        reverse("rights-restriction-lift", args=[request.public_id]),
        {"lift-reason": "The address was checked", "lift-client_told": "on"},
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    request.refresh_from_db()
    assert referral.restricted_at is None
    assert request.restriction_lifted_by == coordinator
    assert request.restriction_lift_reason == "The address was checked"


def test_retention_keeps_a_referral_under_restriction_and_deletes_requests_with_one_gone(
    settings, coordinator
):
    from intake import retention

    settings.RETENTION_REFERRAL_NOT_SEEN_YEARS = 8
    now = timezone.now()
    old = retention.years_before(now, 8) - dt.timedelta(days=1)
    kept = factories.ReferralFactory(client__service=coordinator.service, status="withdrawn")
    gone = factories.ReferralFactory(client__service=coordinator.service, status="withdrawn")
    restriction = _open(kept, coordinator, kind="restriction")
    correction = _open(gone, coordinator)
    Referral.objects.filter(pk__in=[kept.pk, gone.pk]).update(updated_at=old)

    assert retention.referrals_not_seen_remove(now, 100) == 1

    assert Referral.objects.filter(pk=kept.pk).exists()
    assert not Referral.objects.filter(pk=gone.pk).exists()
    assert not RightsRequest.objects.filter(pk=correction.pk).exists()
    rights.restriction_lift(
        request=restriction, user=coordinator, reason="Claim settled", client_told=True
    )
    assert retention.referrals_not_seen_remove(now, 100) == 1
    assert not Referral.objects.filter(pk=kept.pk).exists()


# --- Access to the whole record (UK GDPR Art. 15) -----------------------------------------------


def test_the_office_records_a_subject_access_request_and_is_told_how_to_answer_it(
    client, coordinator
):
    referral = factories.ReferralFactory(client__service=coordinator.service)
    client.force_login(coordinator)
    today = timezone.localdate()
    new_url = reverse("rights-request-new", args=[referral.public_id])
    assert "A copy of their whole record" in client.get(new_url).text

    response = client.post(
        new_url,
        {
            "kind": "access",
            "details": "A copy of everything you hold about me, by post",
            "received_on_day": str(today.day),
            "received_on_month": str(today.month),
            "received_on_year": str(today.year),
            "source": "letter",
        },
    )

    request = RightsRequest.objects.get()
    assert response.status_code == 302
    assert request.kind == RightsRequest.Kind.ACCESS and request.due_on == rights.due_on(today)
    assert not request.in_force and Referral.objects.get(pk=referral.pk).restricted_at is None
    detail = client.get(response["Location"]).text
    assert "Access to their record request" in detail
    assert "a health professional" in detail  # who reads clinicians' words before they go


def test_completing_an_access_request_says_what_was_given(client, coordinator):
    request = _open(factories.ReferralFactory(client__service=coordinator.service), kind="access")
    client.force_login(coordinator)
    url = reverse("rights-request-complete", args=[request.public_id])

    missing = client.post(url, {"complete-status": "done", "complete-outcome": " "})
    assert missing.status_code == 400
    assert "Enter what was done, or why the request was refused" in missing.text
    assert "Done: what was given, corrected or restricted, and how" in missing.text
    with pytest.raises(rights.RightsError, match="Enter what was given to the client, how and"):
        rights.rights_request_complete(request=request, user=coordinator, status="done", outcome="")

    done = client.post(
        url, {"complete-status": "done", "complete-outcome": "Sent by recorded post, 2 May"}
    )
    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == "done" and request.outcome == "Sent by recorded post, 2 May"
