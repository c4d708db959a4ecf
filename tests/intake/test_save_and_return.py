"""Save and come back later: server-side drafts, single-use codes, expiry and purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from intake import drafts
from intake.models import Referral, ReferralDraft
from tests.intake.walk import MINIMAL, post_step, step_url, walk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def save_on(client, step: str, data: dict) -> str:
    response = post_step(client, step, data, save_draft="1")
    assert response.url == reverse("refer-saved")
    page = client.get(response.url).text
    code = page.split('class="th-code">')[1].split("<")[0]
    return code


def test_save_and_return_keeps_everything_including_the_unfinished_page(client):
    walk(client, MINIMAL, stop_before="difficulties")
    code = save_on(client, "difficulties", {"presenting_problem": "Half a sentence"})
    assert ReferralDraft.objects.count() == 1
    draft = ReferralDraft.objects.get()
    assert code not in str(draft.data) and code.replace("-", "") not in draft.token_hash

    client.cookies.clear()  # a new browser, days later
    response = client.post(reverse("refer-resume"), {"code": code.lower()})

    assert response.status_code == 302
    assert response.url == step_url("difficulties")
    page = client.get(response.url).text
    assert "Half a sentence" in page
    walk(
        client,
        {
            k: v
            for k, v in MINIMAL.items()
            if k in ("difficulties", "questionnaires", "preferences", "consent")
        },
    )
    post_step(client, "check", {})
    assert Referral.objects.get().client.given_name == "Robin"


def test_saved_page_shows_crisis_help_after_a_risk_answer(client):
    answers = {**MINIMAL, "safety": {"safe_now": "no", "age_ok": "yes"}}
    walk(client, {"safety": answers["safety"]})
    post_step(client, "urgent-help", {})
    response = post_step(client, "about", {"given_name": "Robin"}, save_draft="1")
    page = client.get(response.url).text
    assert "Your answers are saved" in page
    assert "Urgent advice: </span>If you need help now" in page


def test_saved_page_shows_crisis_help_after_a_phq9_item_9_answer(client):
    walk(client, {**MINIMAL, "questionnaires": {"answer_now": "yes"}}, stop_before="preferences")
    phq9 = {f"item_{n}": "1" for n in range(1, 10)}
    post_step(client, "phq9", phq9)
    response = post_step(client, "gad7", {"item_1": "1"}, save_draft="1")
    page = client.get(response.url).text
    assert "Urgent advice: </span>If you need help now" in page


def test_saved_page_has_no_crisis_box_without_a_risk_answer(client):
    walk(client, MINIMAL, stop_before="gp")
    page = client.get(post_step(client, "gp", {}, save_draft="1").url).text
    assert "Your answers are saved" in page
    assert "Urgent advice" not in page


def test_code_is_shown_once(client):
    walk(client, MINIMAL, stop_before="contact")
    save_on(client, "contact", {})
    assert client.get(reverse("refer-saved")).status_code == 302


def test_a_code_works_once(client):
    walk(client, MINIMAL, stop_before="gp")
    code = save_on(client, "gp", {})
    client.post(reverse("refer-resume"), {"code": code})

    again = client.post(reverse("refer-resume"), {"code": code})

    assert again.status_code == 400
    assert "already been used" in again.text


def test_an_expired_code_says_so(client):
    walk(client, MINIMAL, stop_before="gp")
    code = save_on(client, "gp", {})
    ReferralDraft.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = client.post(reverse("refer-resume"), {"code": code})

    assert response.status_code == 400
    assert "expired" in response.text


def test_unknown_and_malformed_codes_get_clear_errors(client):
    response = client.post(reverse("refer-resume"), {"code": "BCDF-GHJK-MNPQ"})
    assert "could not find a saved referral" in response.text
    response = client.post(reverse("refer-resume"), {"code": "abc"})
    assert "12 letters and numbers" in response.text


def test_resume_attempts_are_rate_limited(client):
    for _ in range(drafts.RESUME_LIMIT[0]):
        client.post(reverse("refer-resume"), {"code": "BCDF-GHJK-MNPQ"})
    response = client.post(reverse("refer-resume"), {"code": "BCDF-GHJK-MNPQ"})
    assert "Too many tries" in response.text


def test_the_link_page_does_not_use_up_the_code(client):
    walk(client, MINIMAL, stop_before="gp")
    save_on(client, "gp", {})
    # The emailed link carries its code after "#": the browser asks only for the page.
    page = client.get(reverse("refer-resume"))
    assert page.status_code == 200
    assert ReferralDraft.objects.get().used_at is None


def test_resume_link_is_queued_in_the_outbox_only_with_consent_to_email(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    from notifications.models import Notification
    from notifications.sending import notification_deliver

    walk(client, MINIMAL, stop_before="gp")  # email given and agreed in MINIMAL
    with django_capture_on_commit_callbacks(execute=True):
        save_on(client, "gp", {})
    client.cookies.clear()
    walk(
        client,
        {
            **MINIMAL,
            "contact": {
                "mobile_ok": "yes",
                "mobile_phone": "07400 123456",
                "mobile_uses": ["sms"],
            },
        },
        stop_before="gp",
    )
    with django_capture_on_commit_callbacks(execute=True):
        save_on(client, "gp", {})

    # Only the draft whose owner agreed to email, and as an outbox row like every message.
    [row] = Notification.objects.filter(kind="draft_resume_link")
    assert row.referral is None and row.recipient == "client"
    notification_deliver(public_id=row.public_id)  # what the worker does with it

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["robin@example.com"]
    assert "/refer/resume/#" in mailoutbox[0].body
    assert "116 123" in mailoutbox[0].body
    assert Notification.objects.get(pk=row.pk).status == "sent"


def test_expired_drafts_and_abandoned_sessions_are_purged(client, settings):
    # Database sessions (embedded mode) need the purge; Redis sessions expire by themselves.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    walk(client, MINIMAL, stop_before="gp")
    save_on(client, "gp", {})
    walk(client, MINIMAL, stop_before="gp")  # an abandoned journey, never saved
    ReferralDraft.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    from intake.tasks import drafts_purge

    assert Session.objects.exists()

    drafts_purge()

    assert not ReferralDraft.objects.exists()
    assert not Session.objects.exists()
