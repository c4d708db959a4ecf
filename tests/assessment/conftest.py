"""Fixtures and helpers for assessment tests (therapy's tests use them too)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assessment.models import Assessment
from intake import clinical_record
from intake.models import ConsentRecord, MeasureResponse
from tests import factories

MANAGEMENT = "assessment-current_step"


@pytest.fixture
def referral(service):
    return factories.ReferralFactory(
        client__service=service,
        client__given_name="Robin",
        client__family_name="Ashdown",
        reference="TH-BCDF-GHJK",
        received_at=timezone.now() - timedelta(weeks=3),
        presenting_problem="It is hard to let people get close.",
    )


@pytest.fixture
def their_referral(other_service):
    return factories.ReferralFactory(client__service=other_service, reference="TH-MNPQ-RSTV")


def consent(referral, topic, decision="granted"):
    return ConsentRecord.objects.create(
        client=referral.client,
        referral=referral,
        topic=topic,
        decision=decision,
        wording="test",
        wording_version="t1",
        via=ConsentRecord.Via.SELF_REFERRAL,
        recorded_at=timezone.now(),
    )


def online_answers(referral, measure, answers, *, days_ago=20):
    response, _flags = clinical_record.measure_response_record(
        referral=referral,
        measure=measure,
        answers=answers,
        context=MeasureResponse.Context.SELF_REFERRAL,
        completed_at=timezone.now() - timedelta(days=days_ago),
    )
    return response


def step_url(assessment: Assessment, step: str) -> str:
    return reverse("assessment-step", args=[assessment.public_id, step])


def post_step(client, assessment, step, data=None, **extra):
    payload = {MANAGEMENT: step}
    for name, value in (data or {}).items():
        payload[f"{step}-{name}"] = value
    payload.update(extra)
    return client.post(step_url(assessment, step), payload)


def start(client, referral) -> Assessment:
    response = client.post(reverse("assessment-start", args=[referral.public_id]))
    assert response.status_code == 302, response
    return Assessment.objects.get(referral=referral)


ANSWERED = "answered"
DECLINED = "declined"
NOT_ASKED = "not_asked"


def measure_items(count, value="1"):
    return {f"item_{n}": value for n in range(1, count + 1)}


FULL = {
    "presenting": {
        "status": ANSWERED,
        "own_words": "I keep people at arm's length and then feel alone.",
        "impact": "My partner says I go quiet for days.",
    },
    "relationships": {
        "status": ANSWERED,
        "patterns": ["keeping_distance", "others_first"],
        "detail": "Close friendships fade when I feel I need something.",
    },
    "history": {
        "status": ANSWERED,
        "background": "Grew up caring for a parent who was often unwell.",
        "previous_help": "Six sessions of counselling at university; it helped a little.",
    },
    "circumstances": {
        "status": ANSWERED,
        "living": "Lives with partner, works full time.",
        "support": "A sister they speak to weekly.",
    },
    "risk": {
        "to_self": "none_identified",
        "to_others": "none_identified",
        "from_others": "none_identified",
        "safeguarding": "none_identified",
        "level": "low",
        "plan": "Knows to call NHS 111 option 2 if things get worse.",
    },
    "measures": {"phq9": "entered", "gad7": "entered", "core10": "entered", "wsas": "not_done"},
    "phq9": measure_items(9, "2") | {"item_9": "0"},
    "gad7": measure_items(7, "2"),
    "core10": measure_items(10, "2") | {"item_6": "0"},
    "formulation": {
        "status": ANSWERED,
        "text": "Closeness may feel dangerous because needing others once meant being let down.",
        "approach_explained": "yes",
        "client_view": "partly",
        "client_view_words": "It makes some sense, I want to understand it more.",
    },
    "recommendation": {
        "choice": "psychodynamic",
        "sessions_per_week": "2",
        "reason": "Long-standing relational difficulties and interest in understanding them.",
    },
    "letters": {},
}

MINIMAL = {
    "presenting": {"status": NOT_ASKED},
    "relationships": {"status": NOT_ASKED},
    "history": {"status": NOT_ASKED},
    "circumstances": {"status": NOT_ASKED},
    "risk": {
        "to_self": "none_identified",
        "to_others": "not_asked",
        "from_others": "not_asked",
        "safeguarding": "not_asked",
        "level": "none_known",
    },
    "measures": {"phq9": "not_done", "gad7": "not_done", "core10": "not_done", "wsas": "not_done"},
    "formulation": {"status": NOT_ASKED},
    "recommendation": {
        "choice": "signpost",
        "signpost_to": "Local wellbeing college, selfreferral online",
        "reason": "Wants practical courses first.",
    },
    "letters": {},
}


def walk(client, assessment, answers: dict, *, stop_before: str | None = None):
    response = None
    for step, data in answers.items():
        if step == stop_before:
            break
        response = post_step(client, assessment, step, data)
        errors = response.context["form"].errors if response.status_code == 200 else None
        assert response.status_code == 302, f"step {step} did not move on: {errors}"
    return response


def finish(client, assessment):
    return post_step(client, assessment, "check", {})
