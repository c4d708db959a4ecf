"""Asking the client to complete a questionnaire in the client portal, from the progress page
(therapy.services.questionnaire_request), and what counts as due for them online
(therapy.selectors.questionnaires_due)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from common import roles
from intake.models import Client, MeasureResponse, Referral
from notifications.models import Notification
from tests import factories
from tests.assessment.conftest import consent
from tests.therapy.conftest import current_therapy
from tests.therapy.test_therapy import parts, plan_for, weekly
from therapy import selectors, services
from therapy.models import QuestionnaireRequest, TherapySession

pytestmark = pytest.mark.django_db


def ask_url(referral) -> str:
    return reverse("progress-questionnaire-ask", args=[referral.public_id])


def attend(referral, *weeks_ago):
    therapy = current_therapy(referral)
    for weeks in weeks_ago:
        TherapySession.objects.create(
            service=referral.service,
            referral=referral,
            therapy=therapy,
            occurred_on=timezone.localdate() - timedelta(weeks=weeks),
            attendance=TherapySession.Attendance.ATTENDED,
            recorded_by=therapy.therapist,
        )


def test_the_therapist_asks_from_the_progress_page_and_sees_it_waiting(
    client, in_therapy, therapist
):
    client.force_login(therapist)
    page = client.get(reverse("progress", args=[in_therapy.public_id])).text
    assert "Questionnaires online" in page and 'name="measure"' in page

    response = client.post(ask_url(in_therapy), {"measure": "core10"})
    assert response.status_code == 302
    asked = QuestionnaireRequest.objects.get()
    assert (asked.measure, asked.asked_by, asked.service_id) == (
        "core10",
        therapist,
        in_therapy.service_id,
    )
    assert asked.is_open and asked.response is None
    page = client.get(response.url).text
    assert "The client is asked to complete the CORE-10 online" in page
    assert "CORE-10: asked by Frankie" in page and "not done yet" in page


def test_a_coordinator_may_ask_too(client, in_therapy, coordinator):
    client.force_login(coordinator)
    assert client.post(ask_url(in_therapy), {"measure": "wsas"}).status_code == 302
    assert QuestionnaireRequest.objects.get().asked_by == coordinator


def test_nothing_chosen_or_asked_twice_is_refused_on_the_progress_page(
    client, in_therapy, therapist
):
    client.force_login(therapist)
    empty = client.post(ask_url(in_therapy), {})
    assert empty.status_code == 400
    assert "Select the questionnaire to ask the client to complete" in empty.text
    assert "nhsuk-error-summary" in empty.text

    client.post(ask_url(in_therapy), {"measure": "phq9"})
    again = client.post(ask_url(in_therapy), {"measure": "phq9"})
    assert again.status_code == 400
    assert "already been asked to complete the PHQ-9 and has not done it yet" in again.text
    # What was chosen is kept.
    chosen = re.search(r'<input[^>]*name="measure"[^>]*value="phq9"[^>]*>', again.text)
    assert chosen and "checked" in chosen.group(0)
    assert QuestionnaireRequest.objects.count() == 1


def test_only_while_in_therapy(in_therapy, therapist):
    Referral.objects.filter(pk=in_therapy.pk).update(status=Referral.Status.ENDED)
    in_therapy.refresh_from_db()
    with pytest.raises(services.TherapyError, match="only while they are in therapy"):
        services.questionnaire_request(referral=in_therapy, user=therapist, measure="phq9")


def test_staff_of_another_service_cannot_ask(in_therapy, other_service):
    outsider = factories.UserFactory(service=other_service, roles=[roles.THERAPIST])
    with pytest.raises(services.TherapyError, match="another service"):
        services.questionnaire_request(referral=in_therapy, user=outsider, measure="phq9")


def test_an_unknown_measure_is_refused(in_therapy, therapist):
    with pytest.raises(services.TherapyError, match="Select a questionnaire"):
        services.questionnaire_request(referral=in_therapy, user=therapist, measure="bdi")


def test_one_open_request_per_questionnaire_is_held_by_the_database(in_therapy, therapist):
    services.questionnaire_request(referral=in_therapy, user=therapist, measure="phq9")
    with pytest.raises(IntegrityError), transaction.atomic():
        QuestionnaireRequest.objects.create(
            service=in_therapy.service,
            referral=in_therapy,
            measure="phq9",
            asked_by=therapist,
            asked_at=timezone.now(),
        )


def test_completing_it_online_closes_the_request(in_therapy, therapist):
    asked = services.questionnaire_request(referral=in_therapy, user=therapist, measure="gad7")
    done = services.questionnaire_complete_online(
        referral=in_therapy, measure="gad7", answers=[1] * 7
    )
    asked.refresh_from_db()
    assert asked.response == done.response and asked.completed_at == done.response.completed_at
    assert done.response.context == MeasureResponse.Context.PORTAL
    # Asked again later: a new request, the old one kept.
    services.questionnaire_request(referral=in_therapy, user=therapist, measure="gad7")
    assert QuestionnaireRequest.objects.filter(measure="gad7").count() == 2


def cancel_url(referral, asked) -> str:
    return reverse("progress-questionnaire-cancel", args=[referral.public_id, asked.public_id])


def test_the_therapist_cancels_a_request_from_the_progress_page(client, in_therapy, therapist):
    asked = services.questionnaire_request(referral=in_therapy, user=therapist, measure="core10")
    client.force_login(therapist)
    page = client.get(reverse("progress", args=[in_therapy.public_id])).text
    assert f'action="{cancel_url(in_therapy, asked)}"' in page
    assert 'Cancel<span class="nhsuk-u-visually-hidden"> the request for the CORE-10' in page

    response = client.post(cancel_url(in_therapy, asked))

    assert response.status_code == 302
    assert not QuestionnaireRequest.objects.filter(referral=in_therapy).exists()
    assert "core10" not in {due.code for due in selectors.questionnaires_due(referral=in_therapy)}
    page = client.get(response.url).text
    assert "The request for the CORE-10 is cancelled" in page
    assert "CORE-10: asked by" not in page
    # Cancelled twice (another tab): nothing left to cancel.
    assert client.post(cancel_url(in_therapy, asked)).status_code == 404
    # It can be asked for again.
    assert client.post(ask_url(in_therapy), {"measure": "core10"}).status_code == 302


def test_a_coordinator_may_cancel_too(client, in_therapy, therapist, coordinator):
    asked = services.questionnaire_request(referral=in_therapy, user=therapist, measure="phq9")
    client.force_login(coordinator)
    assert client.post(cancel_url(in_therapy, asked)).status_code == 302
    assert not QuestionnaireRequest.objects.exists()


def test_a_completed_request_cannot_be_cancelled(client, in_therapy, therapist):
    asked = services.questionnaire_request(referral=in_therapy, user=therapist, measure="gad7")
    services.questionnaire_complete_online(referral=in_therapy, measure="gad7", answers=[1] * 7)
    client.force_login(therapist)
    assert client.post(cancel_url(in_therapy, asked)).status_code == 404
    asked.refresh_from_db()
    assert not asked.is_open


def test_a_request_is_cancelled_only_through_its_own_referral(
    client, in_therapy, therapist, service
):
    asked = services.questionnaire_request(referral=in_therapy, user=therapist, measure="phq9")
    other = factories.ReferralFactory(service=service)
    client.force_login(therapist)
    wrong = reverse("progress-questionnaire-cancel", args=[other.public_id, asked.public_id])
    assert client.post(wrong).status_code == 404
    assert client.get(cancel_url(in_therapy, asked)).status_code == 405
    assert QuestionnaireRequest.objects.get().is_open


# --- Due under the session plan -------------------------------------------------------------


def test_the_plans_questionnaires_fall_due_the_session_before_their_turn(in_therapy, therapist):
    plan_for(in_therapy, therapist)  # PHQ-9 and GAD-7 every 4 attended sessions
    attend(in_therapy, 5, 4)
    assert selectors.questionnaires_due(referral=in_therapy) == []
    attend(in_therapy, 3)
    due = selectors.questionnaires_due(referral=in_therapy)
    assert [(d.code, d.by_plan, d.request) for d in due] == [
        ("phq9", True, None),
        ("gad7", True, None),
    ]


def test_each_questionnaire_is_counted_from_when_it_was_last_done(in_therapy, therapist):
    plan_for(in_therapy, therapist)
    attend(in_therapy, 5, 4, 3)
    services.questionnaire_complete_online(referral=in_therapy, measure="phq9", answers=[0] * 9)
    assert [d.code for d in selectors.questionnaires_due(referral=in_therapy)] == ["gad7"]
    with pytest.raises(services.TherapyError, match="do not have this questionnaire"):
        services.questionnaire_complete_online(referral=in_therapy, measure="phq9", answers=[0] * 9)


def test_questionnaires_done_at_a_session_count_too(client, in_therapy, therapist):
    plan_for(in_therapy, therapist)
    attend(in_therapy, 5, 4)
    session = TherapySession.objects.order_by("-occurred_on").first()
    services.review_measures_record(
        referral=in_therapy,
        user=therapist,
        session=session,
        results={"phq9": [0] * 9, "gad7": [0] * 7},
    )
    attend(in_therapy, 3, 2)
    assert selectors.questionnaires_due(referral=in_therapy) == []
    attend(in_therapy, 1)
    assert len(selectors.questionnaires_due(referral=in_therapy)) == 2


def test_the_caseload_counts_questionnaires_done_online(client, in_therapy, therapist):
    plan_for(in_therapy, therapist)
    attend(in_therapy, 5, 4, 3, 2)
    [row] = selectors.therapist_caseload(user=therapist).object_list
    assert row.measures_due
    services.questionnaire_complete_online(referral=in_therapy, measure="phq9", answers=[0] * 9)
    [row] = selectors.therapist_caseload(user=therapist).object_list
    assert not row.measures_due


@pytest.mark.parametrize(("agreed", "linked"), [("contact_email", True), (None, False)])
def test_the_reminder_links_to_the_portal_when_the_client_can_sign_in(
    client, in_therapy, therapist, settings, agreed, linked
):
    """A client who agrees to email (and gave one) can sign in to the portal: the reminder
    says where to fill the questionnaires in online; otherwise, at the next session."""
    Client.objects.filter(pk=in_therapy.client_id).update(email="sam@example.org")
    if agreed:
        consent(in_therapy, agreed)
    plan_for(in_therapy, therapist)
    client.force_login(therapist)
    for week in range(3):
        client.post(
            reverse("sessions", args=[in_therapy.public_id]),
            parts("occurred_on", weekly(in_therapy, week)) | {"attendance": "attended"},
        )
    reminder = Notification.objects.get(kind="questionnaire_reminder")
    expected = settings.SITE_URL + "/portal/questionnaires/" if linked else ""
    assert reminder.context["questionnaire_link"] == expected
