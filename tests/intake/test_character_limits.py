"""Text over a limit is never cut off: the page counts characters as they are typed, and the
server says the limit and keeps every character for the person to shorten."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import RiskFlagFactory
from tests.intake.walk import MINIMAL, post_step, step_url, walk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def test_public_step_counts_characters_and_keeps_text_over_the_limit(client):
    walk(client, MINIMAL, stop_before="contact-preferences")
    page = client.get(step_url("contact-preferences")).text
    assert " maxlength=" not in page
    assert 'data-maxlength="200"' in page  # the times it is not safe to contact them

    too_long = "Not on weekday mornings. " * 9  # 225 characters
    response = post_step(client, "contact-preferences", {"safe_contact_times": too_long})

    assert response.status_code == 200
    assert "must be 200 characters or fewer" in response.text
    assert too_long.strip() in response.text


def test_staff_acknowledgement_over_the_limit_says_so_and_keeps_the_text(client, service, assessor):
    flag = RiskFlagFactory(referral__client__service=service)
    referral = flag.referral
    client.force_login(assessor)
    too_long = "Called the client. " * 106  # 2014 characters
    url = reverse("staff-risk-acknowledge", args=[referral.public_id, flag.public_id])

    response = client.post(url, {"action_taken": too_long})

    assert response.status_code == 400
    text = response.content.decode()
    assert "What was done must be 2000 characters or fewer" in text
    assert too_long.strip() in text
    assert 'data-maxlength="2000"' in text


def test_a_long_answer_to_a_question_is_named_plainly(client):
    walk(client, MINIMAL, stop_before="difficulties")
    response = post_step(client, "difficulties", {"presenting_problem": "x" * 2001})
    assert "Your answer must be 2000 characters or fewer (you have 2001)" in response.text
    assert "(optional) must be" not in response.text
