"""Sessions live in PostgreSQL (so the public form and sign-in work while Redis is down), and
a page that changes nothing in the session does not rewrite its row: a wizard page read
again costs a SELECT, not an UPDATE and a commit. The expiry still slides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.intake.walk import MINIMAL, post_step, step_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def session_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if "django_session" in q["sql"]
        and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    ]


def test_reading_a_page_again_does_not_rewrite_the_session(client, referral_service):
    post_step(client, "safety", MINIMAL["safety"])
    client.get(step_url("about"))
    with CaptureQueriesContext(connection) as reads:
        page = client.get(step_url("about"))
    assert page.status_code == 200
    assert session_writes(reads) == []


def test_an_answer_is_written_at_once_and_kept(client, referral_service):
    post_step(client, "safety", MINIMAL["safety"])
    client.get(step_url("about"))
    with CaptureQueriesContext(connection) as posted:
        moved_on = post_step(client, "about", MINIMAL["about"])
    assert moved_on.status_code == 302
    assert len(session_writes(posted)) == 1
    # The answers are in the row, read back by a fresh request.
    about = client.get(step_url("about"))
    assert 'value="Ashdown"' in about.content.decode()


def test_an_unchanged_session_still_slides_its_expiry_after_a_few_minutes(
    client, referral_service, settings
):
    post_step(client, "safety", MINIMAL["safety"])
    client.get(step_url("about"))
    row = Session.objects.get()
    # The row was last written more than the refresh interval ago.
    earlier = row.expire_date - timedelta(minutes=10)
    Session.objects.filter(pk=row.pk).update(expire_date=earlier)
    client.get(step_url("about"))
    row.refresh_from_db()
    expected = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs((row.expire_date - expected).total_seconds()) < 60
