"""Driving the self-referral wizard through Django's test client, step by step."""

from __future__ import annotations

from django.urls import reverse

MANAGEMENT = "self_referral_wizard-current_step"


def step_url(step: str) -> str:
    return reverse("refer-step", args=[step])


def post_step(client, step: str, data: dict | None = None, *, follow: bool = False, **extra):
    payload = {MANAGEMENT: step}
    for name, value in (data or {}).items():
        payload[f"{step}-{name}"] = value
    payload.update(extra)
    return client.post(step_url(step), payload, follow=follow)


MINIMAL = {
    "safety": {"safe_now": "yes", "age_ok": "yes"},
    "about": {
        "given_name": "Robin",
        "family_name": "Ashdown",
        "date_of_birth_day": "17",
        "date_of_birth_month": "5",
        "date_of_birth_year": "1990",
    },
    "gender": {},
    "contact": {"email": "robin@example.com", "email_ok": "yes"},
    "contact-preferences": {},
    "gp": {"gp_registered": "not_sure"},
    "difficulties": {},
    "questionnaires": {"answer_now": "no"},
    "preferences": {},
    "consent": {"outcome_data": "no", "answers_own": "on"},
}


def walk(client, answers: dict[str, dict], *, stop_before: str | None = None):
    """Post every step in order, following redirects; returns the last response."""
    response = None
    for step, data in answers.items():
        if step == stop_before:
            break
        response = post_step(client, step, data)
        errors = response.context["form"].errors if response.status_code == 200 else None
        assert response.status_code == 302, f"step {step} did not move on: {errors}"
    return response


def submit(client):
    return post_step(client, "check", {})
