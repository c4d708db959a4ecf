"""The save-and-return email goes through the outbox like every other message: a row, retries,
follow-up, exactly once. Its code is issued when the email is sent and only its hash is kept,
so no table ever holds a code in clear (checked with raw SQL over every text column)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from common.sessions import SessionStore
from intake.models import ReferralDraft
from notifications import actions, sending, sweeps, tasks
from notifications.models import Notification
from tests import factories
from tests.intake.walk import MINIMAL, post_step, walk
from tests.notifications.conftest import wait_for

Status = Notification.Status
CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b")


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def save_part_way(client) -> str:
    """Walk to the GP page, save, and read the code shown on screen."""
    walk(client, MINIMAL, stop_before="gp")
    response = post_step(client, "gp", {}, save_draft="1")
    assert response.url == reverse("refer-saved")
    return client.get(response.url).text.split('class="th-code">')[1].split("<")[0]


def emailed_code(body: str) -> str:
    [link] = re.findall(r"https?://\S+/refer/resume/\S*", body)
    assert link.split("#", 1)[0].endswith("/refer/resume/")  # the code is not in the URL
    code = link.split("#", 1)[1]
    assert CODE.fullmatch(code) and code in CODE.findall(body)
    return code


def resume(client, code: str):
    client.cookies.clear()
    return client.post(reverse("refer-resume"), {"code": code})


def tables_holding(*texts: str) -> list[str]:
    """Every table.column whose text (or JSON) contains any of these, in any case and with or
    without the dashes; sessions in the database are decoded first."""
    needles = {variant for text in texts for variant in (text.upper(), text.replace("-", ""))}
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() "
            "AND data_type IN ('text', 'character varying', 'json', 'jsonb')"
        )
        for table, column in cursor.fetchall():
            for needle in needles:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" WHERE upper("{column}"::text) LIKE %s',
                    [f"%{needle}%"],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column}")
        cursor.execute("SELECT session_data FROM django_session")
        for (data,) in cursor.fetchall():
            decoded = str(SessionStore().decode(data)).upper()
            if any(needle in decoded for needle in needles):
                found.append("django_session (decoded)")
    return found


@pytest.mark.django_db
def test_the_emailed_code_opens_the_draft_and_no_table_holds_a_code_in_clear(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shown = save_part_way(client)
    row = Notification.objects.get(kind="draft_resume_link")

    assert sending.notification_deliver(public_id=row.public_id) == sending.Outcome.SENT

    [message] = mailoutbox
    code = emailed_code(message.body)
    row.refresh_from_db()
    assert row.status == Status.SENT and row.to_address == "robin@example.com"
    assert row.body_text and "[code removed]" in row.body_text  # kept as sent, less the code
    assert tables_holding(shown, code) == []
    response = resume(client, code)
    assert response.status_code == 302, response.text
    assert ReferralDraft.objects.get().used_at is not None


@pytest.mark.django_db
def test_sending_again_issues_a_fresh_code_and_the_earlier_emailed_code_stops_working(
    client, mailoutbox, django_capture_on_commit_callbacks, service
):
    with django_capture_on_commit_callbacks(execute=True):
        shown = save_part_way(client)
    first = Notification.objects.get(kind="draft_resume_link")
    sending.notification_deliver(public_id=first.public_id)
    first.refresh_from_db()
    staff = factories.UserFactory(service=service)
    with django_capture_on_commit_callbacks(execute=True):
        again = actions.notification_resend(
            notification=first, user=staff, reason="They could not find the email"
        )
    sending.notification_deliver(public_id=again.public_id)

    old, new = (emailed_code(message.body) for message in mailoutbox)
    assert old != new and shown not in (old, new)
    assert "could not find a saved referral" in resume(client, old).text
    assert resume(client, new).status_code == 302


@pytest.mark.django_db
def test_a_link_for_a_draft_already_opened_is_not_sent(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shown = save_part_way(client)
    assert resume(client, shown).status_code == 302  # opened with the code on screen

    row = Notification.objects.get(kind="draft_resume_link")
    assert sending.notification_deliver(public_id=row.public_id) == sending.Outcome.CANCELLED
    assert mailoutbox == []


@pytest.mark.services
def test_the_resume_email_goes_through_redis_and_a_worker_exactly_once(
    start_worker, smtp_sink, client
):
    start_worker()
    shown = save_part_way(client)  # commits: the publisher hands the row to Redis
    row = Notification.objects.get(kind="draft_resume_link")

    assert wait_for(lambda: Notification.objects.get(pk=row.pk).status == Status.SENT, 30)
    # The sweeper and a duplicate task find it sent and do nothing.
    sweeps.outbox_sweep(now=timezone.now() + timedelta(hours=1))
    tasks.dispatch(row.public_id)
    sending.notification_deliver(public_id=row.public_id)

    assert wait_for(lambda: len(smtp_sink.received()) > 1, 3) is False
    [message] = smtp_sink.to("robin@example.com")
    [body] = [
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    ]
    code = emailed_code(body)
    assert tables_holding(shown, code) == []
    response = resume(client, code)
    assert response.status_code == 302, response.text
