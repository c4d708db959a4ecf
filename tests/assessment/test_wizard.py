"""The assessment wizard, as an assessor goes through it: full, minimal, declined sections,
risk raised; drafts and resuming; locking and addenda; tampering and bad ids."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from assessment.models import Assessment, AssessmentAddendum, AssessmentMeasure
from assessment.selectors import referral_recommendation
from intake.models import ConsentRecord, MeasureResponse, Referral, RiskFlag
from notifications.models import Notification
from tests.assessment.conftest import (
    DECLINED,
    FULL,
    MANAGEMENT,
    MINIMAL,
    consent,
    finish,
    measure_items,
    online_answers,
    post_step,
    start,
    step_url,
    walk,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, assessor):
    client.force_login(assessor)
    return client


def test_full_assessment_moves_referral_to_waiting_list_with_what_allocation_reads(
    signed_in, referral, assessor
):
    consent(referral, ConsentRecord.Topic.TELL_GP)
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, FULL)

    check = signed_in.get(step_url(assessment, "check"))
    assert check.status_code == 200
    assert "keep people at arm" in check.text
    assert "Putting other people&#x27;s needs first" in check.text
    assert "16 (moderately severe)" in check.text  # PHQ-9: 8 items of 2, item 9 of 0
    assert "joins the waiting list for a therapist" in check.text

    response = finish(signed_in, assessment)

    assert response.status_code == 302
    assert response.url == reverse("assessment-detail", args=[assessment.public_id])
    assessment.refresh_from_db()
    referral.refresh_from_db()
    assert assessment.status == Assessment.Status.FINISHED
    assert assessment.finished_by == assessor
    assert assessment.draft_data == {}
    assert referral.status == Referral.Status.AWAITING_ALLOCATION
    assert referral.risk_level == Referral.Risk.LOW
    recommendation = referral_recommendation(referral=referral)
    assert (recommendation.modality, recommendation.sessions_per_week) == ("psychodynamic", 2)
    scored = MeasureResponse.objects.get(referral=referral, measure="phq9")
    assert scored.context == MeasureResponse.Context.ASSESSMENT and scored.total == 16
    assert AssessmentMeasure.objects.get(assessment=assessment, measure="wsas").source == "not_done"
    kinds = list(Notification.objects.values_list("kind", "recipient"))
    assert ("gp_letter", "gp") in kinds
    assert not RiskFlag.objects.exists()
    page = signed_in.get(response.url).text
    assert "Finished and locked" in page and "arm&#x27;s length" in page


def test_minimal_assessment_signposts_and_keeps_sections_not_asked(signed_in, referral):
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, MINIMAL)

    response = finish(signed_in, assessment)

    assert response.status_code == 302
    referral.refresh_from_db()
    assessment.refresh_from_db()
    assert referral.status == Referral.Status.SIGNPOSTED
    assert assessment.presenting_status == "not_asked"
    assert assessment.presenting_own_words == ""
    assert assessment.recommendation_modality == ""
    assert not Notification.objects.filter(kind="gp_letter").exists()  # no consent to tell GP
    page = signed_in.get(response.url).text
    assert "Not asked yet" in page


def test_client_chose_not_to_say_is_kept_apart_from_not_asked(signed_in, referral):
    answers = {**FULL}
    answers["relationships"] = {"status": DECLINED}
    answers["history"] = {"status": DECLINED}
    answers["risk"] = {**FULL["risk"], "from_others": "declined"}
    answers["measures"] = {**FULL["measures"], "core10": "declined"}
    answers.pop("core10")
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, answers)
    finish(signed_in, assessment)

    assessment.refresh_from_db()
    assert assessment.relationships_status == "declined"
    assert assessment.circumstances_status == "answered"
    assert assessment.risk_from_others == "declined"
    row = AssessmentMeasure.objects.get(assessment=assessment, measure="core10")
    assert row.source == "declined" and row.response is None
    page = signed_in.get(reverse("assessment-detail", args=[assessment.public_id])).text
    assert page.count("The client chose not to say") >= 3


def test_risk_raised_at_assessment_flags_alerts_and_sets_level(signed_in, referral):
    answers = {**FULL}
    answers["risk"] = {
        **FULL["risk"],
        "to_self": "present",
        "to_self_detail": "Thoughts of not wanting to be here most evenings; no plans.",
        "level": "high",
        "plan": "Safety plan agreed; crisis numbers given; GP to be informed today.",
    }
    answers["phq9"] = measure_items(9, "2")  # item 9 answered 2: a risk item
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, answers)
    check = signed_in.get(step_url(assessment, "check")).text
    assert "A risk flag is raised" in check

    finish(signed_in, assessment)

    referral.refresh_from_db()
    assert referral.risk_level == Referral.Risk.HIGH
    sources = set(RiskFlag.objects.filter(referral=referral).values_list("source", flat=True))
    assert sources == {RiskFlag.Source.PHQ9_ITEM9, RiskFlag.Source.ASSESSMENT}
    alert = Notification.objects.get(kind="risk_alert")
    assert alert.recipient == "duty_inbox"
    assert len(alert.context["reasons"]) == 2


@pytest.mark.parametrize(
    ("step", "data", "message"),
    [
        (
            "presenting",
            {"status": "answered"},
            "Enter what the client said about their difficulties",
        ),
        (
            "presenting",
            {"status": "not_asked", "own_words": "something"},
            "You selected &#x27;Not asked yet&#x27; but there is text below",
        ),
        ("presenting", {}, "Select whether the client talked about their difficulties"),
        (
            "relationships",
            {"status": "answered", "patterns": ["other"]},
            "Describe the other pattern",
        ),
        (
            "risk",
            {**FULL["risk"], "to_others": "present"},
            "Describe the risk to others that was identified",
        ),
        (
            "risk",
            {**FULL["risk"], "to_self": "present", "to_self_detail": "x", "level": "none_known"},
            "so the level cannot be &#x27;None known&#x27;",
        ),
        ("risk", {**FULL["risk"], "level": "medium", "plan": ""}, "Enter the plan to keep"),
        ("risk", {**FULL["risk"], "to_self": ""}, "Select an answer for risk to self"),
        ("measures", {"phq9": "entered"}, "Select how the GAD-7 was completed"),
        (
            "formulation",
            {"status": "answered", "text": "x"},
            "Select whether the approach was explained",
        ),
        (
            "formulation",
            {"status": "answered", "text": "x", "approach_explained": "yes"},
            "Select how the client saw the approach",
        ),
        ("recommendation", {"choice": "psychodynamic", "reason": "x"}, "Select how many sessions"),
        ("recommendation", {"choice": "signpost", "reason": "x"}, "Enter the service the client"),
        (
            "recommendation",
            {"choice": "other_modality", "reason": "x"},
            "Select which kind of therapy",
        ),
        (
            "recommendation",
            {"choice": "other_modality", "modality": "cbt", "offered_here": "no", "reason": "x"},
            "Enter where the client is being referred",
        ),
        ("recommendation", {"choice": "discharge"}, "Enter the reason for this recommendation"),
        (
            "presenting",
            {"status": "answered", "own_words": "x" * 4001},
            "must be 4000 characters or fewer",
        ),
    ],
)
def test_invalid_or_inconsistent_entries_get_specific_messages_and_keep_input(
    signed_in, referral, step, data, message
):
    assessment = start(signed_in, referral)

    response = post_step(signed_in, assessment, step, data)

    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text
    for value in data.values():
        if isinstance(value, str) and len(value) > 3 and value not in ("answered", "entered"):
            assert value[:40] in response.text


def test_measure_entry_requires_every_item_and_names_the_question(signed_in, referral):
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, FULL, stop_before="phq9")
    response = post_step(signed_in, assessment, "phq9", measure_items(8, "1"))
    assert "Question 9: select the client&#x27;s answer" in response.text


def test_prefer_not_to_say_and_not_answered_are_scored_differently(signed_in, referral):
    answers = {**FULL}
    answers["phq9"] = measure_items(9, "1") | {"item_3": "prefer_not_to_say"}
    answers["core10"] = measure_items(10, "1") | {"item_6": "0", "item_2": "missing"}
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, answers)
    finish(signed_in, assessment)

    phq9 = MeasureResponse.objects.get(measure="phq9", referral=referral)
    core10 = MeasureResponse.objects.get(measure="core10", referral=referral)
    assert phq9.answers[2] == "prefer_not_to_say" and phq9.total is None
    assert "prefer not to say" in phq9.withheld_reason
    assert core10.answers[1] is None and core10.total is not None  # prorated


def test_client_online_answers_are_shown_and_reused_not_copied(signed_in, referral):
    phq9 = online_answers(referral, "phq9", [2] * 8 + [0])
    gad7 = online_answers(referral, "gad7", [1] * 7)
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, FULL, stop_before="measures")
    page = signed_in.get(step_url(assessment, "measures")).text
    assert "Use the answers the client gave online" in page
    assert "total 16, moderately severe" in page

    answers = {k: v for k, v in FULL.items() if k not in ("phq9", "gad7", "presenting")}
    answers["measures"] = {
        "phq9": "online",
        "gad7": "online",
        "core10": "not_done",
        "wsas": "not_done",
    }
    walk(signed_in, assessment, answers)
    finish(signed_in, assessment)

    rows = {r.measure: r for r in AssessmentMeasure.objects.filter(assessment=assessment)}
    assert rows["phq9"].source == "online" and rows["phq9"].response == phq9
    assert rows["gad7"].response == gad7
    assert MeasureResponse.objects.filter(referral=referral).count() == 2  # nothing duplicated


def test_online_choice_is_not_offered_without_online_answers(signed_in, referral):
    assessment = start(signed_in, referral)
    response = post_step(
        signed_in,
        assessment,
        "measures",
        {"phq9": "online", "gad7": "not_done", "core10": "not_done", "wsas": "not_done"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.text


def test_cross_section_problems_stop_finishing_and_link_to_the_fix(signed_in, referral):
    RiskFlag.objects.create(
        service=referral.service,
        referral=referral,
        source=RiskFlag.Source.SAFETY_QUESTION,
        detail="Said they were not safe",
        raised_at=referral.received_at,
    )
    answers = {**MINIMAL}
    answers["risk"] = {**MINIMAL["risk"], "to_self": "not_asked"}
    answers["recommendation"] = {"choice": "psychodynamic", "sessions_per_week": "1", "reason": "x"}
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, answers)

    response = finish(signed_in, assessment)

    assert response.status_code == 200
    page = response.text
    assert "The assessment cannot be finished yet" in page
    assert "Ask about risk to self before finishing" in page
    assert "Record the formulation, or that the client chose not to discuss it" in page
    assert "Acknowledge the open risk flag" in page
    assert reverse("staff-referral-detail", args=[referral.public_id]) in page
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.DRAFT
    assert assessment.draft_data["step_data"]["risk"]  # nothing lost


def test_phq9_item_9_with_no_known_risk_is_inconsistent(signed_in, referral):
    answers = {**FULL}
    answers["risk"] = {**FULL["risk"], "level": "none_known"}
    answers["phq9"] = measure_items(9, "1")
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, answers)
    response = finish(signed_in, assessment)
    assert "PHQ-9 question 9 was answered above 0" in response.text


def test_save_as_draft_keeps_unfinished_typing_and_resumes_on_another_device(
    client, signed_in, referral, assessor
):
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, FULL, stop_before="history")
    response = post_step(
        signed_in,
        assessment,
        "history",
        {"status": "answered", "background": "Half-written note about school"},
        save_draft="1",
    )
    assert response.status_code == 302
    assert response.url == reverse("assessment-worklist")
    worklist = signed_in.get(response.url).text
    assert "Draft saved" in worklist and "In progress" in worklist

    from django.test import Client

    other_device = Client()
    other_device.force_login(assessor)
    resumed = other_device.post(reverse("assessment-start", args=[referral.public_id]))
    assert resumed.url == step_url(assessment, "history")
    page = other_device.get(resumed.url).text
    assert "Half-written note about school" in page
    draft = Assessment.objects.get(pk=assessment.pk).draft_data
    assert "csrfmiddlewaretoken" not in str(draft)


def test_a_finished_assessment_is_locked_and_corrections_are_addenda(signed_in, referral, assessor):
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, MINIMAL)
    finish(signed_in, assessment)

    for step in ("presenting", "check", "finish"):
        response = signed_in.get(step_url(assessment, step))
        assert response.status_code == 302
        assert response.url == reverse("assessment-detail", args=[assessment.public_id])
    response = post_step(signed_in, assessment, "presenting", {"status": "declined"})
    assert response.status_code == 302
    assert finish(signed_in, assessment).status_code == 302
    assessment.refresh_from_db()
    assert assessment.presenting_status == "not_asked"

    detail = reverse("assessment-detail", args=[assessment.public_id])
    bad = signed_in.post(detail, {"section": "risk", "text": "  "})
    assert bad.status_code == 200 and "Enter the addendum" in bad.text
    signed_in.post(
        detail, {"section": "risk", "text": "Client later said there is a safeguarding concern."}
    )
    addendum = AssessmentAddendum.objects.get()
    assert addendum.author == assessor and addendum.section == "risk"
    page = signed_in.get(detail).text
    assert "later said there is a safeguarding concern" in page
    assert "Risk, added by" in page


def test_tampered_and_unknown_steps_never_error(signed_in, referral):
    assessment = start(signed_in, referral)
    assert signed_in.get(step_url(assessment, "no-such-step")).status_code == 302
    assert signed_in.get(step_url(assessment, "phq9")).status_code == 302  # not chosen
    response = signed_in.post(step_url(assessment, "presenting"), {MANAGEMENT: "../../etc"})
    assert response.status_code == 302
    response = signed_in.post(step_url(assessment, "presenting"), {"presenting-status": "x"})
    assert response.status_code == 302  # no management field at all
    assert signed_in.get(f"/staff/assessments/{uuid.uuid4()}/presenting/").status_code == 404
    assert signed_in.get("/staff/assessments/not-a-uuid/presenting/").status_code == 404
    assert signed_in.get(f"/staff/assessments/{uuid.uuid4()}/").status_code == 404


def test_finish_redirects_to_the_first_incomplete_section(signed_in, referral):
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, {"presenting": MINIMAL["presenting"]})
    response = finish(signed_in, assessment)
    assert response.status_code == 302
    assert response.url == step_url(assessment, "relationships")


def test_change_link_returns_to_the_check_page(signed_in, referral):
    assessment = start(signed_in, referral)
    walk(signed_in, assessment, MINIMAL)
    signed_in.get(step_url(assessment, "presenting") + "?change=1")
    response = post_step(
        signed_in, assessment, "presenting", {"status": "answered", "own_words": "Now shared"}
    )
    assert response.url == step_url(assessment, "check")


def test_other_service_cannot_start_or_open_an_assessment(client, other_staff, referral, assessor):
    client.force_login(assessor)
    assessment = start(client, referral)
    client.force_login(other_staff)
    assert client.post(reverse("assessment-start", args=[referral.public_id])).status_code == 404
    assert client.get(step_url(assessment, "presenting")).status_code == 404
    assert client.get(reverse("assessment-detail", args=[assessment.public_id])).status_code == 404


def test_only_assessors_use_the_wizard(client, coordinator, referral, assessor):
    client.force_login(assessor)
    assessment = start(client, referral)
    client.force_login(coordinator)
    assert client.get(step_url(assessment, "presenting")).status_code == 403
    assert client.post(reverse("assessment-start", args=[referral.public_id])).status_code == 403


def test_a_questionnaire_page_that_no_longer_applies_never_loops(signed_in, referral):
    assessment = start(signed_in, referral)
    choose = {"phq9": "entered", "gad7": "not_done", "core10": "not_done", "wsas": "not_done"}
    post_step(signed_in, assessment, "measures", choose)
    assert signed_in.get(step_url(assessment, "phq9")).status_code == 200
    post_step(signed_in, assessment, "measures", {**choose, "phq9": "not_done"})
    Assessment.objects.filter(pk=assessment.pk).update(
        draft_data={**Assessment.objects.get(pk=assessment.pk).draft_data, "step": "phq9"}
    )
    first = signed_in.get(step_url(assessment, "phq9"))
    assert first.status_code == 302
    assert signed_in.get(first.url).status_code == 200
    resumed = signed_in.post(reverse("assessment-start", args=[referral.public_id]))
    assert signed_in.get(resumed.url, follow=True).status_code == 200


def test_the_letters_step_says_the_outcome_letter_goes_and_the_portal_shows_it(signed_in, referral):
    """The client's outcome letter exists (assessment_outcome): the step no longer says to
    wait for it, and points to the client portal, where the client reads their letters."""
    assessment = start(signed_in, referral)
    page = signed_in.get(step_url(assessment, "letters"))
    assert page.status_code == 200
    assert "once the service's outcome letter is set up" not in page.text
    assert "letter about the outcome is sent" in page.text
    assert reverse("portal-start") in page.text
