"""Questionnaires in the client portal (docs/portal.md, "Questionnaires"): what is due under
the session plan or asked for by the therapist, one page per questionnaire with specific
errors that keep what was chosen, risk answers handled as in the self-referral (crisis help
at once, a risk flag, an urgent duty alert), the answers on the therapist's progress page
at once, and the client's own scores when they choose to look."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from intake.models import MeasureResponse, Referral, RiskFlag
from notifications.models import Notification
from tests import factories
from tests.notifications.people import make_referral
from tests.portal.conftest import sign_in
from therapy import selectors as therapy_selectors
from therapy import services as therapy_services
from therapy.models import QuestionnaireRequest, TherapySession

pytestmark = pytest.mark.django_db

CRISIS = ("If you need help now", "116123", "85258", "tel:999", "tel:111")


@pytest.fixture
def therapy(referral, therapist_user):
    """Sam is in therapy; the plan repeats PHQ-9 and GAD-7 every 4 attended sessions."""
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.IN_THERAPY)
    referral.refresh_from_db()
    factories.SessionPlanFactory(
        referral=referral,
        created_by=therapist_user,
        measures_every_sessions=4,
        repeat_measures=["phq9", "gad7"],
    )
    return factories.TherapyFactory(referral=referral, therapist=therapist_user)


def attend(therapy, *weeks_ago: int) -> None:
    for weeks in weeks_ago:
        TherapySession.objects.create(
            service=therapy.service,
            referral=therapy.referral,
            therapy=therapy,
            occurred_on=timezone.localdate() - dt.timedelta(weeks=weeks),
            attendance=TherapySession.Attendance.ATTENDED,
            recorded_by=therapy.therapist,
        )


def answers(values: list, **extra) -> dict:
    return {f"item_{n}": str(v) for n, v in enumerate(values, start=1)} | extra


def url(code: str) -> str:
    return reverse("portal-questionnaire", args=[code])


@pytest.fixture
def due(client, therapy):
    """Three attended sessions: the next is the questionnaires' turn, so they are due now."""
    attend(therapy, 3, 2, 1)
    sign_in(client, therapy.referral)
    return client


# --- What is due ------------------------------------------------------------------------------


def test_nothing_is_due_before_the_session_before_its_turn(client, therapy):
    attend(therapy, 2, 1)
    sign_in(client, therapy.referral)
    page = client.get(reverse("portal-questionnaires")).text
    assert "You have no questionnaires to fill in at the moment" in page
    assert url("phq9") not in page

    page = client.get(url("phq9"))
    assert page.status_code == 200 and "You do not have the PHQ-9 to fill in now" in page.text
    assert 'name="item_1"' not in page.text
    client.post(url("phq9"), answers([1] * 9))
    assert not MeasureResponse.objects.exists()


def test_the_plans_questionnaires_are_due_from_the_session_before_their_turn(due):
    page = due.get(reverse("portal-questionnaires")).text
    assert url("phq9") in page and url("gad7") in page and url("core10") not in page
    assert "as your session plan says" in page
    home = due.get(reverse("portal-home")).text
    assert "You have 2 questionnaires to fill in" in home
    assert reverse("portal-questionnaires") in home


def test_the_page_shows_every_item_with_its_options_and_prefer_not_to_say(due):
    page = due.get(url("phq9")).text
    assert "Over the last 2 weeks" in page
    for n in range(1, 10):
        assert f'name="item_{n}"' in page
    assert page.count('type="radio"') == 9 * 5
    assert page.count("Prefer not to say") >= 9
    assert "More than half the days" in page
    assert "not a way to ask for help in an emergency" in page


def test_an_unknown_questionnaire_is_404(due):
    assert due.get(url("nope")).status_code == 404


# --- Completing one ----------------------------------------------------------------------------


def test_answers_go_on_the_record_and_the_therapists_progress_page_shows_them(
    due, therapy, therapist_user
):
    response = due.post(url("phq9"), answers([2, 2, 2, 2, 2, 2, 1, 1, 0]))
    saved = MeasureResponse.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("portal-questionnaire-saved", args=[saved.public_id])
    assert saved.context == MeasureResponse.Context.PORTAL and saved.recorded_by is None
    assert saved.answers == [2, 2, 2, 2, 2, 2, 1, 1, 0] and saved.total == 14

    page = due.get(response.url).text
    assert "your PHQ-9 answers are saved" in page
    assert "If you need help now" not in page.split("<footer")[0]
    assert url("gad7") in page and url("phq9") not in page  # GAD-7 is still to do

    staff = Client()
    staff.force_login(therapist_user)
    progress = staff.get(reverse("progress", args=[therapy.referral.public_id])).text
    assert "Online, during therapy" in progress
    assert "14 (moderate)" in progress
    assert not RiskFlag.objects.exists()


def test_completing_them_online_counts_as_the_rounds_questionnaires(due, therapy):
    attend(therapy, 0)  # the fourth: staff would now be asked for questionnaires
    assert therapy_selectors.attended_since_measures(therapy.referral) == 4
    due.post(url("phq9"), answers([1] * 9))
    due.post(url("gad7"), answers([1] * 7))
    assert MeasureResponse.objects.count() == 2
    assert therapy_selectors.attended_since_measures(therapy.referral) == 0
    page = due.get(reverse("portal-questionnaires")).text
    assert "You have no questionnaires to fill in at the moment" in page


def test_prefer_not_to_say_is_kept_apart_and_raises_no_risk(due):
    response = due.post(url("phq9"), answers([1] * 8 + ["prefer_not_to_say"]))
    saved = MeasureResponse.objects.get()
    assert saved.answers[8] == "prefer_not_to_say" and saved.total is None
    assert "prefer not to say" in saved.withheld_reason
    assert not RiskFlag.objects.exists()
    assert not Notification.objects.filter(kind="risk_alert").exists()
    page = due.get(response.url).text
    assert "If you need help now" not in page.split("<footer")[0]


def test_errors_name_each_question_and_keep_what_was_chosen(due):
    response = due.post(url("phq9"), answers([3, 2, 1, 0, 2], item_6="9"))
    assert response.status_code == 400
    page = response.text
    assert "Question 6: select one of the answers shown, or &#x27;Prefer not to say&#x27;" in page
    for n in (7, 8, 9):
        assert f"Question {n}: select an answer, or &#x27;Prefer not to say&#x27;" in page
    assert "Question 1:" not in page
    for n, value in enumerate([3, 2, 1, 0, 2], start=1):
        checked = re.search(rf'<input[^>]*name="item_{n}"[^>]*value="{value}"[^>]*>', page)
        assert checked and "checked" in checked.group(0)
    assert "nhsuk-error-summary" in page
    assert not MeasureResponse.objects.exists()


def test_a_questionnaire_done_in_another_tab_is_not_recorded_twice(due):
    due.post(url("phq9"), answers([1] * 9))
    again = due.post(url("phq9"), answers([1] * 9))
    assert again.status_code == 200 and "You do not have the PHQ-9" in again.text
    assert MeasureResponse.objects.count() == 1


# --- Risk ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "given", "source"),
    [
        ("phq9", [1] * 8 + [2], RiskFlag.Source.PHQ9_ITEM9),
        ("core10", [1] * 5 + [1] + [1] * 4, RiskFlag.Source.CORE10_ITEM6),
    ],
)
def test_a_risk_answer_shows_crisis_help_at_once_and_alerts_the_duty_clinician(
    client, therapy, therapist_user, code, given, source
):
    attend(therapy, 1)
    therapy_services.questionnaire_request(
        referral=therapy.referral, user=therapist_user, measure=code
    )
    sign_in(client, therapy.referral)
    response = client.post(url(code), answers(given))
    page = client.get(response.url).text
    body = page.split("<footer")[0]
    assert all(words in body for words in CRISIS)
    assert body.index("If you need help now") < body.index("<h1")
    assert "We have told our duty clinician" in body

    flag = RiskFlag.objects.get()
    assert flag.source == source and flag.acknowledged_at is None
    assert "online in the client portal" in flag.detail
    alert = Notification.objects.get(kind="risk_alert")
    assert alert.recipient == "duty_inbox" and alert.urgent
    assert not Notification.objects.filter(kind="risk_alert", recipient="client").exists()

    staff = Client()
    staff.force_login(therapist_user)
    progress = staff.get(reverse("progress", args=[therapy.referral.public_id])).text
    assert "Open risk flag" in progress


# --- Asked for by the therapist ------------------------------------------------------------------


def test_a_questionnaire_the_therapist_asks_for_is_due_until_it_is_done(
    client, therapy, therapist_user
):
    attend(therapy, 1)
    staff = Client()
    staff.force_login(therapist_user)
    asked = staff.post(
        reverse("progress-questionnaire-ask", args=[therapy.referral.public_id]),
        {"measure": "wsas"},
    )
    assert asked.status_code == 302
    request = QuestionnaireRequest.objects.get()
    assert request.measure == "wsas" and request.asked_by == therapist_user

    sign_in(client, therapy.referral)
    page = client.get(reverse("portal-questionnaires")).text
    assert url("wsas") in page and url("phq9") not in page
    assert "Your therapist asked you to fill this in on" in page
    form = client.get(url("wsas")).text
    assert "Does not apply to me" in form  # the WSAS work item

    client.post(url("wsas"), answers(["not_applicable", 2, 2, 2, 2]))
    request.refresh_from_db()
    assert not request.is_open and request.response.measure == "wsas"
    assert request.response.answers[0] == "not_applicable"
    assert url("wsas") not in client.get(reverse("portal-questionnaires")).text
    progress = staff.get(reverse("progress", args=[therapy.referral.public_id])).text
    assert "WSAS: Work and Social Adjustment Scale" in progress
    assert "not done yet" not in progress


def test_nothing_is_due_once_therapy_has_ended(client, therapy, therapist_user):
    attend(therapy, 3, 2, 1)
    therapy_services.questionnaire_request(
        referral=therapy.referral, user=therapist_user, measure="core10"
    )
    Referral.objects.filter(pk=therapy.referral.pk).update(status=Referral.Status.ENDED)
    sign_in(client, therapy.referral)
    page = client.get(reverse("portal-questionnaires")).text
    assert "Questionnaires can be filled in here while you are in therapy" in page
    assert client.get(url("core10")).status_code == 200
    assert 'name="item_1"' not in client.get(url("core10")).text


# --- Isolation and the audit -----------------------------------------------------------------


def test_another_clients_answers_page_is_404(due, service):
    other = make_referral(service, agreed=("email",))
    theirs = MeasureResponse.objects.create(
        referral=other,
        measure="phq9",
        context=MeasureResponse.Context.PORTAL,
        answers=[0] * 9,
        total=0,
        completed_at=timezone.now(),
    )
    for public_id in (theirs.public_id, uuid.uuid4()):
        saved = due.get(reverse("portal-questionnaire-saved", args=[public_id]))
        assert saved.status_code == 404


def test_questionnaire_pages_are_on_the_audit_trail(due, therapy):
    due.get(url("phq9"))
    due.post(url("phq9"), answers([0] * 9))
    read = AuditEvent.objects.get(view="portal-questionnaire", method="GET")
    write = AuditEvent.objects.get(view="portal-questionnaire", method="POST")
    assert read.action == AuditEvent.Action.READ and write.action == AuditEvent.Action.WRITE
    assert write.referral_id == therapy.referral.public_id and write.status == 302
    assert write.detail.get("by") == "client" and write.user_id is None


def test_pages_need_a_portal_session(client, therapy):
    for name in ("portal-questionnaires", "portal-progress"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url.startswith(reverse("portal-start"))
    response = client.post(url("phq9"), answers([0] * 9))
    assert response.status_code == 302 and not MeasureResponse.objects.exists()


# --- Their own progress ------------------------------------------------------------------------


def test_their_scores_are_shown_only_when_they_choose_to_look(due, therapy):
    due.post(url("phq9"), answers([2] * 8 + [0]))
    home = due.get(reverse("portal-home")).text
    assert "See how your scores have changed" in home and "th-chart" not in home

    page = due.get(reverse("portal-progress")).text
    assert 'role="img"' in page and 'id="chart-phq9-title"' in page
    assert "<table" in page and "16 (moderately severe)" in page
    assert "a lower total means fewer difficulties" in page
    assert "asks about low mood over the last 2 weeks" in page
    assert "Totals go from 0 to 27" in page
    assert "Usual cut-off 10" in page and "Caseness" not in page


def test_the_scores_page_says_so_when_there_are_none(due):
    page = due.get(reverse("portal-progress")).text
    assert "You have not filled in any questionnaires with us yet" in page
