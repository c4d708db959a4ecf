"""A copy of the client's data (JSON and PDF) and corrections asked for in the portal
(docs/portal.md, "A copy of your data" and "Corrections"); HEAD on the pages before
signing in."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assessment.models import AssessmentAppointment
from audit.models import AuditEvent
from intake import clinical_record, rights
from intake.clinical_record import measure_response_record
from intake.models import MeasureResponse, Preferences, RightsRequest, RiskFlag
from notifications import letters, sending
from notifications.outbox import notification_queue
from portal import data
from portal.forms import CORRECTION_LIMIT
from portal.models import PortalSession, SignInLink
from portal.services import MAX_OPEN_CORRECTIONS
from tests import factories
from tests.notifications.people import make_referral
from tests.portal.conftest import ask, deliver_links, emailed_token, sign_in
from therapy.models import Goal, GoalRating, ProgressFlag, SessionResponse, TherapySession

pytestmark = pytest.mark.django_db


# --- HEAD on the pages before signing in ------------------------------------------------------


def test_head_on_the_start_page_answers_like_get(client):
    got = client.get(reverse("portal-start"))
    head = client.head(reverse("portal-start"))
    assert head.status_code == got.status_code == 200
    assert head["Content-Type"] == got["Content-Type"]
    assert head.content == b""


def test_head_on_a_sign_in_link_answers_like_get_and_does_not_spend_it(client, referral):
    ask(client, referral)
    deliver_links()
    url = reverse("portal-sign-in", kwargs={"token": emailed_token()})
    assert client.head(url).status_code == 200
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302  # still unspent after HEAD and GET
    bad = reverse("portal-sign-in", kwargs={"token": "not-a-real-token"})
    assert client.head(bad).status_code == client.get(bad).status_code == 404


# --- A copy of the client's data --------------------------------------------------------------

STAFF_WORDS = {
    "assessment": "Marker-assessor-presenting-notes",
    "formulation": "Marker-formulation",
    "risk_plan": "Marker-risk-plan",
    "risk_to_self": "Marker-risk-to-self",
    "reason": "Marker-recommendation-reason",
    "gp_summary": "Marker-gp-summary",
    "session_note": "Marker-session-note",
    "plan_reason": "Marker-plan-change-reason",
    "ending_plan": "Marker-ending-plan",
    "break_note": "Marker-break-note",
    "goal_closed": "Marker-goal-close-reason",
    "staff_flag": "Marker-staff-risk-flag",
    "flag_action": "Marker-flag-action-taken",
    "progress": "Marker-progress-flag",
}


def _record(referral, *, assessor, therapist, sessions: int = 1, messages: int = 1):
    """A referral with something in every part of the record: the client's answers, an
    assessment, therapy with `sessions` sessions, `messages` messages sent, a request."""
    today = timezone.localdate()
    referral.presenting_problem = "Marker-my-own-words about feeling low"
    referral.hopes = "To feel less alone"
    referral.difficulty_areas = ["low_mood", "work"]
    referral.received_at = timezone.now() - timedelta(days=150)
    referral.save()
    Preferences.objects.create(referral=referral, mode="in_person", language="Welsh")
    # A PHQ-9 at self-referral, item 9 answered: a risk flag from the client's own answer.
    _, raised = measure_response_record(
        referral=referral,
        measure="phq9",
        answers=[1, 2, 1, 0, 3, 1, 1, 0, 1],
        context=MeasureResponse.Context.SELF_REFERRAL,
    )
    assert raised and raised[0].source == RiskFlag.Source.PHQ9_ITEM9
    flag = factories.RiskFlagFactory(referral=referral, detail=STAFF_WORDS["staff_flag"])
    clinical_record.risk_flag_acknowledge(
        flag=flag, user=assessor, action_taken=STAFF_WORDS["flag_action"]
    )
    AssessmentAppointment.objects.create(
        service=referral.service,
        referral=referral,
        starts_at=timezone.now() - timedelta(days=60),
        duration_minutes=60,
        mode="video",
        booked_by=assessor,
    )
    factories.FinishedAssessmentFactory(
        referral=referral,
        assessor=assessor,
        presenting_status="answered",
        presenting_own_words=STAFF_WORDS["assessment"],
        risk_to_self="present",
        risk_to_self_detail=STAFF_WORDS["risk_to_self"],
        risk_plan=STAFF_WORDS["risk_plan"],
        formulation_status="answered",
        formulation_text=STAFF_WORDS["formulation"],
        recommendation_reason=STAFF_WORDS["reason"],
        letters_gp_summary=STAFF_WORDS["gp_summary"],
    )
    therapy = factories.TherapyFactory(referral=referral, therapist=therapist)
    factories.SessionPlanFactory(
        referral=referral,
        created_by=therapist,
        change_reason=STAFF_WORDS["plan_reason"],
        ending_plan=STAFF_WORDS["ending_plan"],
        breaks=[
            {
                "id": "b1",
                "starts_on": (today + timedelta(days=30)).isoformat(),
                "ends_on": (today + timedelta(days=37)).isoformat(),
                "kind": "client_holiday",
                "note": STAFF_WORDS["break_note"],
            }
        ],
    )
    goal = Goal.objects.create(
        service=referral.service,
        referral=referral,
        description="Speak up at work",
        agreed_on=today - timedelta(days=70),
        created_by=therapist,
        close_reason=STAFF_WORDS["goal_closed"],
    )
    GoalRating.objects.create(goal=goal, score=3, rated_on=goal.agreed_on, recorded_by=therapist)
    GoalRating.objects.create(goal=goal, score=6, rated_on=today, recorded_by=therapist)
    for number in range(sessions):
        session = TherapySession.objects.create(
            service=referral.service,
            referral=referral,
            therapy=therapy,
            occurred_on=today - timedelta(days=7 * (number + 1)),
            attendance="did_not_attend" if number == 0 else "attended",
            note=STAFF_WORDS["session_note"],
            recorded_by=therapist,
        )
        repeat, _ = measure_response_record(
            referral=referral,
            measure="gad7",
            answers=[1, 1, 1, 1, 1, 1, 1],
            context=MeasureResponse.Context.REVIEW,
        )
        SessionResponse.objects.create(session=session, response=repeat)
    ProgressFlag.objects.create(
        service=referral.service,
        referral=referral,
        reason="reliable_deterioration",
        detail=STAFF_WORDS["progress"],
        raised_at=timezone.now(),
    )
    for number in range(messages):
        queued = notification_queue(
            kind="waiting_checkin", referral=referral, occurrence=f"week-{number}"
        )
        assert sending.notification_deliver(public_id=queued.public_id) == "sent"
    rights.rights_request_open(
        referral=referral, kind="correction", details="My postcode is wrong", source="phone"
    )
    return referral


@pytest.fixture
def full_record(referral, assessor, therapist_user):
    return _record(referral, assessor=assessor, therapist=therapist_user)


TOP_LEVEL_KEYS = {
    "format",
    "made_at",
    "about_this_copy",
    "service",
    "client",
    "referral",
    "preferences",
    "consent",
    "assessment",
    "questionnaires",
    "risk_flags",
    "therapy",
    "messages",
    "rights_requests",
    "lists_cut_short",
    "withheld",
    "how_to_ask_for_everything",
}


def download_json(client) -> dict:
    response = client.get(reverse("portal-my-data-json"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    return json.loads(response.content)


def test_the_json_copy_holds_every_part_of_the_record(client, full_record, therapist_user):
    sign_in(client, full_record)
    copy = download_json(client)

    assert set(copy) == TOP_LEVEL_KEYS
    assert copy["format"] == "threshold-data-copy/1"
    assert copy["client"]["given_name"] == "Sam" and copy["client"]["date_of_birth"] == "1990-05-17"
    assert copy["client"]["email"] == "sam.client@example.org"
    assert copy["referral"]["reference"] == full_record.reference
    assert copy["referral"]["difficulties_in_your_words"].startswith("Marker-my-own-words")
    assert copy["referral"]["difficulty_areas"] == ["Low mood or depression", "Work or study"]
    steps = [step["what"] for step in copy["referral"]["status_history"]]
    assert steps[0] == "Referral received" and "Assessment booked (booked)" in steps
    assert "Assessment finished: Psychodynamic therapy" in steps and "Therapy started" in steps
    assert copy["preferences"]["language"] == "Welsh"
    # Consent with its history: every decision, with the words shown.
    topics = [row["topic"] for row in copy["consent"]]
    assert {"contact_email", "contact_sms", "letters_home"} <= set(topics)
    assert all(row["question_shown"] for row in copy["consent"])
    # Questionnaires with each item's words and answer, and the score.
    phq9 = next(q for q in copy["questionnaires"] if q["measure"] == "phq9")
    assert phq9["total"] == 10.0 and phq9["severity"]
    assert len(phq9["items"]) == 9
    assert phq9["items"][4]["answer"] == "Nearly every day" and phq9["items"][4]["value"] == 3
    assert phq9["items"][0]["question"]
    repeat = next(q for q in copy["questionnaires"] if q["measure"] == "gad7")
    assert repeat["at_session_on"] == copy["therapy"]["sessions"][0]["on"]
    # Risk: the flag the client's own answer raised, followed up or not; not staff's flag.
    assert [flag["raised_by"] for flag in copy["risk_flags"]] == [
        "PHQ-9 item 9 (thoughts of death or self-harm)"
    ]
    assessment = copy["assessment"]
    assert assessment["status"] == "Finished"
    assert assessment["recommendation"] == "Psychodynamic therapy"
    assert assessment["appointments"][0]["how"] == "Video call"
    therapy = copy["therapy"]
    assert therapy["periods"][0]["started_on"]
    assert therapy["session_plans"][0]["breaks"][0]["kind"] == "Client's holiday"
    assert therapy["goals"][0]["goal"] == "Speak up at work"
    assert [r["score"] for r in therapy["goals"][0]["ratings"]] == [3, 6]
    assert therapy["sessions_missed"] == 1 and therapy["sessions_attended"] == 0
    assert copy["messages"][0]["what"] == "Still waiting check-in"
    assert copy["messages"][0]["text"]
    assert copy["rights_requests"][0]["what_you_asked"] == "My postcode is wrong"
    assert copy["lists_cut_short"] == []
    assert copy["withheld"] and all(item["what"] and item["why"] for item in copy["withheld"])


def test_the_copy_leaves_out_what_staff_wrote_other_people_and_security_records(
    client, full_record, therapist_user, assessor
):
    sign_in(client, full_record)
    text = client.get(reverse("portal-my-data-json")).content.decode()

    for name, marker in STAFF_WORDS.items():
        assert marker not in text, name
    for person in (therapist_user, assessor):
        assert person.last_name not in text and person.username not in text
    for secret in PortalSession.objects.values_list("key_hash", flat=True):
        assert secret not in text
    for secret in SignInLink.objects.values_list("token_hash", flat=True):
        assert secret not in text
    # Sign-in links are one-time codes, not letters to keep.
    assert "Sign-in link for the client portal" not in text
    assert "/portal/sign-in/" not in text


def test_every_top_level_key_is_documented():
    documented = (settings.BASE_DIR / "docs" / "portal.md").read_text()
    missing = [key for key in sorted(TOP_LEVEL_KEYS) if f"`{key}`" not in documented]
    assert not missing


def test_the_copy_reads_the_same_number_of_times_however_many_sessions_and_letters(
    service, assessor, therapist_user
):
    small = _record(make_referral(service), assessor=assessor, therapist=therapist_user)
    big = _record(
        make_referral(service, email="big@example.org"),
        assessor=assessor,
        therapist=therapist_user,
        sessions=6,
        messages=5,
    )
    with CaptureQueriesContext(connection) as few:
        small_copy = data.portal_data_copy(referral=small)
    with CaptureQueriesContext(connection) as many:
        big_copy = data.portal_data_copy(referral=big)
    assert len(big_copy["therapy"]["sessions"]) == 6 and len(big_copy["messages"]) == 5
    assert len(small_copy["therapy"]["sessions"]) == 1
    assert len(many.captured_queries) == len(few.captured_queries) == 17


def test_a_list_at_its_limit_is_said_to_be_cut_short(client, full_record, monkeypatch):
    monkeypatch.setitem(data.LIMITS, "messages", 1)
    copy = data.portal_data_copy(referral=full_record)
    assert copy["lists_cut_short"] == ["messages"]


def test_the_pdf_copy_is_readable_and_says_what_is_left_out(client, full_record):
    sign_in(client, full_record)
    response = client.get(reverse("portal-my-data-pdf"))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    text = " ".join(letters.pdf_text(response.content).split())
    assert "A copy of your data" in text and full_record.reference in text
    assert "17 May 1990" in text
    assert "Little interest or pleasure in doing things" in text
    assert "Speak up at work" in text
    assert "Still waiting check-in" in text
    assert "What is not in this copy, and why" in text
    for marker in STAFF_WORDS.values():
        assert marker not in text


def test_downloads_are_on_the_audit_trail(client, full_record):
    sign_in(client, full_record)
    client.get(reverse("portal-my-data-json"))
    client.get(reverse("portal-my-data-pdf"))

    for view in ("portal-my-data-json", "portal-my-data-pdf"):
        event = AuditEvent.objects.get(view=view)
        assert event.action == AuditEvent.Action.READ and event.status == 200
        assert event.referral_id == full_record.public_id and event.user_id is None
        assert event.detail.get("by") == "client"


def test_a_copy_is_only_ever_of_the_sessions_own_referral(client, referral, service):
    other = make_referral(service, email="other@example.org", given_name="Robin")
    rights.rights_request_open(
        referral=other, kind="correction", details="Robin's own request", source="phone"
    )
    sign_in(client, referral)
    text = client.get(reverse("portal-my-data-json")).content.decode()
    assert "Robin" not in text and other.reference not in text


def test_signed_out_the_copy_is_not_given(client, full_record):
    for name in ("portal-my-data", "portal-my-data-json", "portal-my-data-pdf"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url.startswith(reverse("portal-start"))


def test_the_my_data_page_explains_the_copy_and_links_to_it(client, full_record):
    sign_in(client, full_record)
    assert reverse("portal-my-data") in client.get(reverse("portal-home")).text
    page = client.get(reverse("portal-my-data")).text
    assert reverse("portal-my-data-json") in page and reverse("portal-my-data-pdf") in page
    assert "What is not in the copy" in page and "subject access request" in page
    # Their request, recorded by staff from a call, and where it stands.
    assert "My postcode is wrong" in page and "Waiting for an answer" in page


# --- Corrections --------------------------------------------------------------------------------


def ask_correction(client, wrong="My date of birth is wrong", should="It is 18 May 1990"):
    return client.post(reverse("portal-correction"), {"wrong": wrong, "should_say": should})


def test_a_correction_becomes_a_staff_task_and_is_shown_back(client, referral, coordinator):
    sign_in(client, referral)
    assert client.get(reverse("portal-correction")).status_code == 200

    response = ask_correction(client)

    assert response.status_code == 302
    assert response.url == reverse("portal-my-data") + "?sent=correction"
    task = RightsRequest.objects.get(referral=referral)
    assert task.kind == RightsRequest.Kind.CORRECTION
    assert task.source == RightsRequest.Source.PORTAL and task.recorded_by is None
    assert "My date of birth is wrong" in task.details and "It is 18 May 1990" in task.details
    assert task.status == RightsRequest.Status.OPEN
    page = client.get(response.url).text
    assert "We have your request" in page and "My date of birth is wrong" in page
    assert f"{task.due_on:%-d %B %Y}" in page
    event = AuditEvent.objects.get(view="portal-correction", method="POST")
    assert event.action == AuditEvent.Action.WRITE and event.referral_id == referral.public_id

    staff = Client()
    staff.force_login(coordinator)
    tasks = staff.get(reverse("rights-tasks")).text
    assert referral.reference in tasks and "Client portal" in tasks


def test_a_correction_needs_both_answers_and_keeps_what_was_typed(client, referral):
    sign_in(client, referral)

    response = ask_correction(client, wrong="  ", should="Kept words")

    assert response.status_code == 400
    assert "Enter what is wrong in your record" in response.text
    assert "Kept words" in response.text
    response = ask_correction(client, wrong="Kept too", should="")
    assert response.status_code == 400
    assert "Enter what it should say, or that it should not be in your record" in response.text
    assert "Kept too" in response.text
    response = ask_correction(client, wrong="x" * (CORRECTION_LIMIT + 1))
    assert response.status_code == 400
    assert f"must be {CORRECTION_LIMIT} characters or fewer (you have" in response.text
    assert not RightsRequest.objects.exists()


def test_open_corrections_from_the_portal_are_bounded(client, referral, coordinator):
    sign_in(client, referral)
    for number in range(MAX_OPEN_CORRECTIONS):
        assert ask_correction(client, wrong=f"Wrong thing {number}").status_code == 302

    refused = ask_correction(client, wrong="One too many")

    assert refused.status_code == 400
    assert "You already have 3 correction requests waiting for an answer" in refused.text
    assert "One too many" in refused.text
    assert RightsRequest.objects.count() == MAX_OPEN_CORRECTIONS
    # Once staff answer one, the client can ask again.
    rights.rights_request_complete(
        request=RightsRequest.objects.first(), user=coordinator, status="done", outcome="Fixed"
    )
    assert ask_correction(client, wrong="Now there is room").status_code == 302


def test_copy_downloads_are_limited_per_referral(client, settings, referral, service):
    """A PDF copy costs about a second of CPU: the downloads, both forms counted together,
    are limited per referral, so signing in again does not start the count afresh."""
    settings.RATE_PORTAL_COPY_PER_REFERRAL = "3/h"
    sign_in(client, referral)
    for name in ("portal-my-data-json", "portal-my-data-pdf", "portal-my-data-json"):
        assert client.get(reverse(name)).status_code == 200

    refused = client.get(reverse("portal-my-data-pdf"))

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in refused
    assert "Too many downloads" in refused.text and "116 123" in refused.text
    assert reverse("portal-my-data") in refused.text  # the way back, in the navigation
    assert AuditEvent.objects.filter(view="portal-my-data-pdf", status=429).count() == 1
    # The page about the data is not limited; a new session for the same referral is.
    assert client.get(reverse("portal-my-data")).status_code == 200
    again = Client()
    sign_in(again, referral)
    assert again.get(reverse("portal-my-data-json")).status_code == 429
    # Another client's downloads are counted apart.
    other = make_referral(service, email="other@example.org", given_name="Robin")
    elsewhere = Client()
    sign_in(elsewhere, other)
    assert elsewhere.get(reverse("portal-my-data-pdf")).status_code == 200


# --- A copy of the whole record (a subject access request) --------------------------------------


def test_asking_for_the_whole_record_becomes_a_staff_task(client, referral, coordinator):
    sign_in(client, referral)
    assert "Ask for a copy of your whole record" in client.get(reverse("portal-my-data")).text
    assert client.get(reverse("portal-whole-record")).status_code == 200

    response = client.post(reverse("portal-whole-record"), {"details": "Mostly my assessment"})

    assert response.status_code == 302
    assert response.url == reverse("portal-my-data") + "?sent=access"
    task = RightsRequest.objects.get(referral=referral)
    assert task.kind == RightsRequest.Kind.ACCESS and task.source == RightsRequest.Source.PORTAL
    assert "Mostly my assessment" in task.details and task.status == RightsRequest.Status.OPEN
    page = client.get(response.url).text
    assert "We have your request" in page and f"{task.due_on:%-d %B %Y}" in page
    event = AuditEvent.objects.get(view="portal-whole-record", method="POST")
    assert event.action == AuditEvent.Action.WRITE and event.referral_id == referral.public_id
    staff = Client()
    staff.force_login(coordinator)
    assert "Access to their record" in staff.get(reverse("rights-tasks")).text


def test_one_whole_record_request_is_open_at_a_time_and_typed_words_are_kept(client, referral):
    sign_in(client, referral)
    assert client.post(reverse("portal-whole-record"), {}).status_code == 302
    task = RightsRequest.objects.get()

    again = client.post(reverse("portal-whole-record"), {"details": "Kept words"})

    assert again.status_code == 400
    assert f"We will send it by {task.due_on:%-d %B %Y}" in again.text
    assert "Kept words" in again.text
    too_long = client.post(
        reverse("portal-whole-record"), {"details": "x" * (CORRECTION_LIMIT + 1)}
    )
    assert too_long.status_code == 400
    assert f"must be {CORRECTION_LIMIT} characters or fewer (you have" in too_long.text
    assert RightsRequest.objects.count() == 1
