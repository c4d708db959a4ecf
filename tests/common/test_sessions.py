"""Sessions live in PostgreSQL (so the public form and sign-in work while Redis is down), and
a page that changes nothing in the session does not rewrite its row: a wizard page read
again costs a SELECT, not an UPDATE and a commit. The expiry still slides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common.sessions import LAST_SEEN, SIGNED_IN_AT, SessionStore
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


# Staff sessions: JSON only, an idle limit and an absolute limit, and sign-out ends the
# session on the server (docs/security.md, "Sessions").


def test_sessions_are_serialised_as_json(settings):
    from django.contrib.sessions.serializers import JSONSerializer
    from django.utils.module_loading import import_string

    assert import_string(settings.SESSION_SERIALIZER) is JSONSerializer


def test_staff_session_limits_have_their_documented_defaults(settings):
    assert settings.STAFF_SESSION_IDLE_MINUTES == 30
    assert settings.STAFF_SESSION_MAX_HOURS == 12


def _signed_in(client, user):
    response = client.post(
        reverse("staff-login"),
        {"username": user.username, "password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def _age_session(key: str, **moved_back) -> None:
    """Move the session's own clock back, as if that much time had passed."""
    store = SessionStore(session_key=key)
    for name, seconds in moved_back.items():
        store[name] = store[name] - seconds
    store.save()


def test_an_idle_staff_session_ends_and_the_sign_in_page_says_why(client, assessor, settings):
    key = _signed_in(client, assessor)
    assert client.get(reverse("staff-home")).status_code == 200
    _age_session(key, **{LAST_SEEN: settings.STAFF_SESSION_IDLE_MINUTES * 60 + 1})

    response = client.get(reverse("staff-home"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("staff-login"))
    assert "signed out because you had not used" in response.text
    assert not Session.objects.filter(session_key=key).exists()


def test_a_staff_session_in_use_stays_signed_in(client, assessor, settings):
    key = _signed_in(client, assessor)
    _age_session(key, **{LAST_SEEN: settings.STAFF_SESSION_IDLE_MINUTES * 60 - 60})
    assert client.get(reverse("staff-home")).status_code == 200


def test_a_staff_session_ends_after_the_absolute_limit_however_busy(client, assessor, settings):
    key = _signed_in(client, assessor)
    _age_session(key, **{SIGNED_IN_AT: settings.STAFF_SESSION_MAX_HOURS * 3600 + 1})

    response = client.get(reverse("staff-home"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("staff-login"))
    assert "signed in for" in response.text
    assert not Session.objects.filter(session_key=key).exists()


def test_the_idle_limit_is_a_setting(client, assessor, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 5
    key = _signed_in(client, assessor)
    _age_session(key, **{LAST_SEEN: 5 * 60 + 1})
    response = client.get(reverse("staff-home"))
    assert response.status_code == 302


def test_signing_out_ends_the_session_on_the_server(client, assessor):
    key = _signed_in(client, assessor)
    response = client.post(reverse("staff-logout"))
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()

    # The old key, replayed by someone who copied the cookie, is nobody.
    replay = Client()
    replay.cookies[django_settings.SESSION_COOKIE_NAME] = key
    page = replay.get(reverse("staff-home"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("staff-login"))
