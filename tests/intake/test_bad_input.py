"""Input a person could get wrong: a clear, specific answer, everything kept, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from intake.models import Referral
from tests.intake.walk import MANAGEMENT, MINIMAL, post_step, step_url, walk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def about(**changes):
    return {**MINIMAL["about"], **changes}


def errors_on(response) -> str:
    assert response.status_code == 200, response.status_code
    assert "There is a problem" in response.text
    return response.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"date_of_birth_day": "31", "date_of_birth_month": "2"},
            "Date of birth must be a real date",
        ),
        ({"date_of_birth_year": "2090"}, "Date of birth must be in the past"),
        ({"date_of_birth_year": "90"}, "Year must include 4 numbers"),
        ({"date_of_birth_month": ""}, "Date of birth must include a month"),
        (
            {"date_of_birth_day": "", "date_of_birth_month": "", "date_of_birth_year": ""},
            "Enter your date of birth",
        ),
        ({"date_of_birth_year": "2015"}, "You need to be 18 or over"),
        ({"date_of_birth_day": "99999999999999999999"}, "Date of birth must be a real date"),
        ({"date_of_birth_month": "99999999999999999999"}, "Date of birth must be a real date"),
        ({"date_of_birth_year": "99999999999999999999"}, "Year must include 4 numbers"),
        ({"nhs_number": "943 476 5918"}, "not a valid NHS number"),
        ({"nhs_number": "12345"}, "NHS number must be 10 digits"),
        ({"postcode": "NOT A CODE"}, "Enter a real UK postcode"),
        ({"given_name": ""}, "Enter your first name"),
        ({"given_name": "x" * 101}, "First name must be 100 characters or fewer"),
    ],
)
def test_about_you_errors_are_specific_and_keep_what_was_typed(client, changes, message):
    walk(client, MINIMAL, stop_before="about")
    response = post_step(client, "about", about(**changes))

    page = errors_on(response)
    assert message in page
    assert 'href="#id_about-' in page  # the summary links to the field
    if changes.get("given_name", "Robin"):
        assert "Ashdown" in page  # other answers are kept


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Give us at least one way to contact you"),
        (
            {"email": "not-an-email", "email_ok": "yes"},
            "Enter an email address in the correct format",
        ),
        ({"email_ok": "yes"}, "Enter your email address"),
        (
            {"mobile_ok": "yes", "mobile_phone": "12", "mobile_uses": ["sms"]},
            "Enter a real phone number",
        ),
        (
            {"mobile_ok": "yes", "mobile_phone": "call me", "mobile_uses": ["sms"]},
            "Enter a phone number",
        ),
        (
            {"mobile_ok": "yes", "mobile_phone": "0113 496 0000", "mobile_uses": ["sms"]},
            "That looks like a landline number",
        ),
        (
            {"mobile_ok": "yes", "mobile_phone": "07400 123456"},
            "Select whether we may text you, call you, or both",
        ),
        ({"email": "a@example.com", "email_ok": "no"}, "Give us at least one way"),
    ],
)
def test_contact_errors(client, data, message):
    walk(client, MINIMAL, stop_before="contact")
    page = errors_on(post_step(client, "contact", data))
    assert message in page


def test_over_long_text_is_refused_with_a_count_and_kept(client):
    walk(client, MINIMAL, stop_before="difficulties")
    text = "a" * 2001
    page = errors_on(post_step(client, "difficulties", {"presenting_problem": text}))
    assert "2000 characters or fewer" in page
    assert text in page


def test_html_and_script_are_stored_as_text_and_escaped_everywhere(client, assessor):
    script = '<script>alert("x")</script><b>bold</b>'
    answers = {
        **MINIMAL,
        "about": about(given_name=script[:100]),
        "difficulties": {"presenting_problem": script, "hopes": script},
    }
    walk(client, answers)
    check = client.get(step_url("check")).text
    assert "<script>alert" not in check
    assert "&lt;script&gt;" in check
    post_step(client, "check", {})
    referral = Referral.objects.get()
    assert referral.presenting_problem == script  # stored exactly, as text
    client.force_login(assessor)
    staff_page = client.get(reverse("staff-referral-detail", args=[referral.public_id])).text
    assert "<script>alert" not in staff_page


def test_unknown_step_name_redirects_to_where_the_person_is(client):
    walk(client, MINIMAL, stop_before="contact")
    response = client.get(step_url("no-such-step"))
    assert response.status_code == 302
    assert response.url == step_url("contact")


def test_jumping_ahead_sends_back_to_the_first_unfinished_step(client):
    walk(client, MINIMAL, stop_before="gp")
    response = client.get(step_url("consent"))
    assert response.status_code == 302
    assert response.url == step_url("gp")
    assert client.get(step_url("check")).url == step_url("gp")


def test_tampered_step_in_the_form_is_not_an_error_page(client):
    walk(client, MINIMAL, stop_before="gp")
    response = client.post(step_url("gp"), {MANAGEMENT: "../../admin"})
    assert response.status_code == 302
    assert response.url == step_url("gp")
    response = client.post(step_url("gp"), {"gp-gp_registered": "yes"})  # no management form
    assert response.status_code == 302
    assert response.url == step_url("gp")


def test_post_to_a_finished_wizard_shows_the_confirmation(client):
    walk(client, MINIMAL)
    post_step(client, "check", {})
    replay = post_step(client, "consent", MINIMAL["consent"])
    assert replay.status_code in (200, 302)
    assert Referral.objects.count() == 1


def test_questionnaire_needs_an_answer_to_every_item_or_prefer_not_to_say(client):
    walk(client, {**MINIMAL, "questionnaires": {"answer_now": "yes"}}, stop_before="preferences")
    page = errors_on(post_step(client, "phq9", {"item_1": "1"}))
    assert "Question 2: select an answer, or &#x27;Prefer not to say&#x27;" in page
    assert post_step(client, "phq9", {"item_1": "9"}).status_code == 200  # out of range


def test_gender_requirement_needs_a_strength_and_interpreter_a_language(client):
    walk(client, MINIMAL, stop_before="preferences")
    page = errors_on(
        post_step(
            client,
            "preferences",
            {
                "therapist_gender_matters": "yes",
                "therapist_gender": "female",
                "interpreter_needed": "yes",
            },
        )
    )
    assert "preference or a requirement" in page
    assert "language you would need an interpreter for" in page


def test_consent_step_requires_the_confirmation(client):
    walk(client, MINIMAL, stop_before="consent")
    page = errors_on(post_step(client, "consent", {"outcome_data": "yes"}))
    assert "Confirm that these answers are yours" in page
