"""What the client sees and changes: where the referral stands, appointments, plan and goals,
letters as PDFs, consent with its history, contact details, withdrawing; each change in
force at once (a queued message re-checked when sent) and seen by staff; and no way for one
client's session to reach another's records."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessment.models import AssessmentAppointment
from intake.models import ConsentRecord, Referral
from notifications import letters, sending
from notifications.models import Notification
from notifications.outbox import notification_queue
from tests import factories
from tests.notifications.people import make_referral
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.django_db


def home_text(client) -> str:
    response = client.get(reverse("portal-home"))
    assert response.status_code == 200
    return response.text


# --- Where the referral stands ----------------------------------------------------------------


def test_a_new_referral_shows_what_happens_next_and_the_wait_so_far(client, referral):
    Referral.objects.filter(pk=referral.pk).update(received_at=timezone.now() - timedelta(days=17))
    sign_in(client, referral)

    page = home_text(client)

    assert "We have your referral" in page and "An assessor will contact you" in page
    assert "Waiting so far" in page and "2 weeks and 3 days" in page
    assert "You have no appointments booked" in page


def test_a_booked_assessment_is_shown(client, referral, assessor):
    at = timezone.localtime().replace(hour=10, minute=30, second=0, microsecond=0) + timedelta(
        days=5
    )
    site = factories.SiteFactory(service=referral.service, name="Riverside Clinic")
    AssessmentAppointment.objects.create(
        service=referral.service,
        referral=referral,
        starts_at=at,
        duration_minutes=60,
        mode="in_person",
        site=site,
        room="Room 2",
        booked_by=assessor,
    )
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.ASSESSMENT_BOOKED)
    sign_in(client, referral)

    page = home_text(client)

    assert "Your assessment is booked" in page
    assert f"{at:%A} {at.day} {at:%B %Y} at 10:30 a.m." in page
    assert "Riverside Clinic, Room 2" in page and "about 60 minutes" in page


def test_in_therapy_the_regular_time_place_breaks_ending_goals_and_plan_are_shown(
    client, referral, therapist_user
):
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.IN_THERAPY)
    referral.refresh_from_db()
    factories.TherapyFactory(referral=referral, therapist=therapist_user)
    today = timezone.localdate()
    starts, ends = today + timedelta(days=14), today + timedelta(days=27)
    plan = factories.SessionPlanFactory(
        referral=referral,
        regular_times=[{"weekday": 1, "time": "10:00"}],
        breaks=[
            {
                "id": "b1",
                "starts_on": starts.isoformat(),
                "ends_on": ends.isoformat(),
                "kind": "therapist_leave",
                "note": "Private note for staff",
            },
            {
                "id": "b0",
                "starts_on": (today - timedelta(days=60)).isoformat(),
                "ends_on": (today - timedelta(days=50)).isoformat(),
                "kind": "client_holiday",
                "note": "",
            },
        ],
    )
    from therapy.models import Goal

    Goal.objects.create(
        service=referral.service,
        referral=referral,
        description="Feel able to speak up at work",
        agreed_on=today - timedelta(days=70),
        created_by=therapist_user,
    )
    sign_in(client, referral)

    page = home_text(client)

    assert "You are in therapy" in page
    assert "Tuesday at 10:00" in page and "Once a week" in page and "Video call" in page
    assert f"No sessions from {starts.day} {starts:%B %Y} to {ends.day} {ends:%B %Y}" in page
    assert "Private note for staff" not in page
    assert page.count("No sessions from") == 1  # a break that is over is not shown
    assert f"Planned for {plan.ends_on.day} {plan.ends_on:%B %Y}" in page
    assert "16 sessions" in page
    assert "Feel able to speak up at work" in page
    assert "Waiting so far" not in page
    # Once in therapy, ending is planned with the therapist, not withdrawn here.
    assert "withdraw your referral" not in page


# --- Letters --------------------------------------------------------------------------------


def sent_letter(referral, kind="acknowledgement"):
    row = notification_queue(kind=kind, referral=referral)
    assert sending.notification_deliver(public_id=row.public_id) == sending.Outcome.SENT
    return row


def test_letters_sent_are_listed_and_download_as_pdfs(client, service):
    referral = make_referral(service, agreed=("letter", "email"), preferred="letter")
    letter = sent_letter(referral)
    referral_by_email = make_referral(service, agreed=("email",), email="sam.other@example.org")
    assert referral_by_email.pk  # another client, whose messages stay theirs
    sign_in(client, referral)
    # The sign-in link itself is not a letter to keep.
    page = client.get(reverse("portal-letters")).text

    assert "Acknowledgement of referral" in page and "Sign-in link" not in page
    response = client.get(reverse("portal-letter-pdf", kwargs={"public_id": letter.public_id}))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "We have received your referral" in letters.pdf_text(response.content)


def test_an_email_sent_downloads_as_a_letter_pdf(client, referral):
    email = sent_letter(referral)
    assert Notification.objects.get(pk=email.pk).channel == "email"
    sign_in(client, referral)

    response = client.get(reverse("portal-letter-pdf", kwargs={"public_id": email.public_id}))

    assert response.status_code == 200
    text = letters.pdf_text(response.content)
    assert "We have received your referral" in text and referral.reference in text


def test_one_clients_session_cannot_open_anothers_records(client, referral, service):
    other = make_referral(service, agreed=("email",), email="other@example.org")
    theirs = sent_letter(other)
    sign_in(client, referral)

    url = reverse("portal-letter-pdf", kwargs={"public_id": theirs.public_id})
    response = client.get(url)
    assert response.status_code == 404
    assert other.reference not in response.text
    # Ids in the address are never trusted: made-up ones and malformed ones are a 404 too.
    assert (
        client.get("/portal/letters/00000000-0000-0000-0000-000000000000/pdf/").status_code == 404
    )
    assert client.get("/portal/letters/not-a-uuid/pdf/").status_code == 404
    assert client.get("/portal/choices/not_a_topic/").status_code == 404
    assert client.get("/portal/choices/privacy_notice/").status_code == 404
    # Every page shows this client's referral only.
    assert other.reference not in home_text(client)


# --- Consent and contact --------------------------------------------------------------------


def test_choices_show_every_decision_with_its_history_and_words(client, referral):
    sign_in(client, referral)
    client.post(reverse("portal-choice-change", kwargs={"topic": "tell_gp"}), {"decision": "yes"})
    client.post(reverse("portal-choice-change", kwargs={"topic": "tell_gp"}), {"decision": "no"})

    page = client.get(reverse("portal-choices")).text

    assert "May we tell your GP about your referral and your care?" in page
    assert "Withdrawn" in page and "client portal" in page and "version portal-1" in page
    assert "May we contact you by sms?" in page  # the words agreed to at the referral
    records = ConsentRecord.objects.filter(client=referral.client, topic="tell_gp")
    assert [r.decision for r in records] == ["granted", "withdrawn"]
    assert all(r.via == "portal" and r.wording_version == "portal-1" for r in records)


def test_saying_no_first_is_a_refusal_not_a_withdrawal(client, referral):
    sign_in(client, referral)
    client.post(
        reverse("portal-choice-change", kwargs={"topic": "outcome_data"}), {"decision": "no"}
    )
    assert ConsentRecord.objects.get(topic="outcome_data").decision == "refused"


def test_a_choice_without_an_answer_is_an_error_on_the_page(client, referral):
    sign_in(client, referral)
    response = client.post(reverse("portal-choice-change", kwargs={"topic": "voicemail"}), {})
    assert response.status_code == 400 and "Select yes or no" in response.text
    response = client.post(
        reverse("portal-choice-change", kwargs={"topic": "voicemail"}), {"decision": "maybe"}
    )
    assert response.status_code == 400


def test_a_consent_change_applies_to_a_message_already_queued(client, referral, sms_outbox):
    """Queued while email was agreed; the client says no more email in the portal (signed
    in by text); the outbox, sending later, uses texts."""
    sign_in(client, referral, channel="sms", sms_outbox=sms_outbox)
    mail.outbox.clear()
    sms_outbox.clear()
    queued = notification_queue(kind="waiting_checkin", referral=referral, occurrence="week-6")

    client.post(
        reverse("portal-choice-change", kwargs={"topic": "contact_email"}), {"decision": "no"}
    )
    sending.notification_deliver(public_id=queued.public_id)

    assert mail.outbox == []
    row = Notification.objects.get(pk=queued.pk)
    assert row.status == "sent" and row.channel == "sms" and len(sms_outbox) == 1


def test_withdrawing_every_channel_suppresses_a_queued_message(client, referral, sms_outbox):
    sign_in(client, referral, channel="sms", sms_outbox=sms_outbox)
    queued = notification_queue(kind="waiting_checkin", referral=referral, occurrence="week-6")
    for topic in ("contact_email", "letters_home"):
        client.post(reverse("portal-choice-change", kwargs={"topic": topic}), {"decision": "no"})
    client.post(
        reverse("portal-choice-change", kwargs={"topic": "contact_sms"}), {"decision": "no"}
    )

    assert sending.notification_deliver(public_id=queued.public_id) == "suppressed"


def test_contact_details_change_at_once_for_staff_and_queued_messages(
    client, referral, coordinator
):
    sign_in(client, referral)
    mail.outbox.clear()
    queued = notification_queue(kind="waiting_checkin", referral=referral, occurrence="week-6")

    response = client.post(
        reverse("portal-contact"),
        {
            "email": "sam.new@example.org",
            "mobile_phone": "07400 123 456",
            "landline_phone": "",
            "address": "9 New Street\nMillbrook",
            "preferred_channel": "email",
            "safe_contact_times": "Not before 10am",
        },
    )

    assert response.status_code == 302
    sending.notification_deliver(public_id=queued.public_id)
    assert mail.outbox[-1].to == ["sam.new@example.org"]
    staff = Client()
    staff.force_login(coordinator)
    staff_page = staff.get(
        reverse("staff-referral-detail", kwargs={"public_id": referral.public_id})
    )
    assert "sam.new@example.org" in staff_page.text and "+447400123456" in staff_page.text
    assert "Not before 10am" in staff_page.text


def test_staff_see_a_consent_change_on_the_referral(client, referral, coordinator):
    sign_in(client, referral)
    client.post(reverse("portal-choice-change", kwargs={"topic": "tell_gp"}), {"decision": "yes"})
    staff = Client()
    staff.force_login(coordinator)

    page = staff.get(reverse("staff-referral-detail", kwargs={"public_id": referral.public_id}))

    assert "client portal" in page.text and "wording portal-1" in page.text


def test_bad_contact_details_are_errors_that_keep_what_was_typed(client, referral):
    sign_in(client, referral)
    before = referral.client.email

    response = client.post(
        reverse("portal-contact"),
        {
            "email": "not an email",
            "mobile_phone": "0113 496 0000",
            "address": "x" * 600,
            "preferred_channel": "pigeon",
            "safe_contact_times": "\x00",
        },
    )

    assert response.status_code == 400
    page = response.text
    assert "Enter an email address in the correct format" in page
    assert "That looks like a landline number" in page
    assert "Postal address must be 500 characters or fewer" in page
    assert 'value="not an email"' in page
    referral.client.refresh_from_db()
    assert referral.client.email == before


# --- Withdrawing ----------------------------------------------------------------------------


def test_withdrawing_asks_to_confirm_and_says_what_happens_to_the_data(client, referral):
    sign_in(client, referral)
    page = client.get(reverse("portal-withdraw")).text
    assert "8 years" in page and "20 years" in page

    unanswered = client.post(reverse("portal-withdraw"), {})
    assert unanswered.status_code == 400
    assert "Select whether you want to withdraw your referral" in unanswered.text
    kept = client.post(reverse("portal-withdraw"), {"confirm": "no"})
    assert kept.url == reverse("portal-home")
    referral.refresh_from_db()
    assert referral.status == Referral.Status.SUBMITTED

    done = client.post(reverse("portal-withdraw"), {"confirm": "yes"})

    assert done.url == reverse("portal-withdrawn")
    referral.refresh_from_db()
    assert referral.status == Referral.Status.WITHDRAWN
    assert "Your referral is withdrawn" in client.get(done.url).text
    assert "Your referral is withdrawn" in home_text(client)


def test_a_reminder_queued_before_withdrawing_is_not_sent(client, referral):
    sign_in(client, referral)
    mail.outbox.clear()
    queued = notification_queue(kind="waiting_checkin", referral=referral, occurrence="week-6")
    client.post(reverse("portal-withdraw"), {"confirm": "yes"})

    assert sending.notification_deliver(public_id=queued.public_id) == "cancelled"
    assert mail.outbox == []


def test_in_therapy_the_referral_is_not_withdrawn_here(client, referral):
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.IN_THERAPY)
    sign_in(client, referral)

    assert "talk to your therapist about ending" in client.get(reverse("portal-withdraw")).text
    response = client.post(reverse("portal-withdraw"), {"confirm": "yes"})
    assert response.status_code == 400
    referral.refresh_from_db()
    assert referral.status == Referral.Status.IN_THERAPY


def test_pages_need_a_session(client, referral):
    for name in ("portal-home", "portal-letters", "portal-choices", "portal-contact"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url.startswith(reverse("portal-start"))
    assert client.post(reverse("portal-withdraw"), {"confirm": "yes"}).status_code == 302
    referral.refresh_from_db()
    assert referral.status == Referral.Status.SUBMITTED


def test_a_number_already_held_is_kept_when_something_else_changes(client, referral):
    """The client's mobile came with the referral; saving other details keeps it as it is."""
    sign_in(client, referral)
    response = client.post(
        reverse("portal-contact"),
        {
            "email": "sam.client@example.org",
            "mobile_phone": referral.client.mobile_phone,
            "address": referral.client.address,
            "safe_contact_times": "Weekday evenings",
        },
    )
    assert response.status_code == 302
    referral.client.refresh_from_db()
    assert referral.client.mobile_phone == "+447700900123"
    assert referral.client.safe_contact_times == "Weekday evenings"


# --- Navigation --------------------------------------------------------------------------------

NAV = {
    "portal-home": "Your referral",
    "portal-letters": "Letters and messages",
    "portal-questionnaires": "Questionnaires",
    "portal-my-data": "Your data",
    "portal-choices": "Contact and consent",
}


def _nav_links(text: str) -> list[tuple[str, bool, str]]:
    [nav] = re.findall(r'<nav class="th-client-nav"[^>]*>(.*?)</nav>', text, re.S)
    return [
        (href, bool(current), label.strip())
        for href, current, label in re.findall(
            r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav
        )
    ]


@pytest.mark.parametrize(
    ("page", "current"),
    [
        ("portal-home", "portal-home"),
        ("portal-letters", "portal-letters"),
        ("portal-questionnaires", "portal-questionnaires"),
        ("portal-progress", "portal-questionnaires"),
        ("portal-my-data", "portal-my-data"),
        ("portal-correction", "portal-my-data"),
        ("portal-choices", "portal-choices"),
        ("portal-contact", "portal-choices"),
        ("portal-withdraw", None),
    ],
)
def test_every_part_is_reachable_from_every_page_with_the_current_one_marked(
    signed_in, page, current
):
    response = signed_in.get(reverse(page))
    assert response.status_code == 200

    links = _nav_links(response.text)

    assert [(href, label) for href, _, label in links] == [
        (reverse(name), label) for name, label in NAV.items()
    ]
    assert [href for href, is_current, _ in links if is_current] == (
        [reverse(current)] if current else []
    )
