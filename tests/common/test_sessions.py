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
from tests.support.two_factor import sign_in_through_the_forms

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
    response = sign_in_through_the_forms(client, user, "correct horse battery staple")
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


# Session data is encrypted at rest with the field encryption keys (docs/security.md,
# "Sessions"): unfinished self-referral answers are never in the table in clear.


def _raw_session_data() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session")
        return [row[0] for row in cursor.fetchall()]


def test_wizard_answers_are_not_stored_in_clear_and_the_wizard_goes_on(client, referral_service):
    post_step(client, "safety", MINIMAL["safety"])
    post_step(client, "about", MINIMAL["about"])
    post_step(client, "gender", MINIMAL["gender"])
    post_step(client, "contact", MINIMAL["contact"])

    rows = _raw_session_data()
    assert len(rows) == 1
    assert rows[0].startswith("gAAAAA")
    for typed in ("Robin", "Ashdown", "robin@example.com", "robin", "1990"):
        assert typed not in rows[0]

    # Read back on the next request: the answers are still there and the wizard continues.
    about = client.get(step_url("about"))
    assert 'value="Ashdown"' in about.content.decode()
    moved_on = post_step(client, "contact-preferences", MINIMAL["contact-preferences"])
    assert moved_on.status_code == 302
    assert moved_on["Location"].endswith(step_url("gp"))


def _store_raw(data: str) -> str:
    key = "k" * 32
    Session.objects.create(
        session_key=key, session_data=data, expire_date=timezone.now() + timedelta(hours=1)
    )
    return key


def test_a_session_stored_in_clear_before_encryption_is_read_once_and_written_encrypted():
    """Someone half way through the form when encryption is switched on loses nothing: the
    signed session from before is read, and the next write stores it encrypted."""
    from django.contrib.sessions.backends.base import SessionBase

    clear = SessionBase.encode(SessionStore(), {"answer": "Robin"})  # signed, not encrypted
    key = _store_raw(clear)
    store = SessionStore(session_key=key)
    assert store.load() == {"answer": "Robin"}

    store["answer"] = "Robin Ashdown"
    store.save()

    raw = Session.objects.get(session_key=key).session_data
    assert raw.startswith("gAAAAA") and "Robin" not in raw
    assert SessionStore(session_key=key).load() == {"answer": "Robin Ashdown"}


def test_a_clear_session_with_a_forged_signature_reads_as_empty():
    key = _store_raw("eyJhbnN3ZXIiOiJtYWxsb3J5In0:1abcde:forged-signature-not-valid")
    assert SessionStore(session_key=key).load() == {}


def test_a_session_no_key_opens_reads_as_empty_and_the_page_still_answers(
    client, referral_service, settings
):
    from cryptography.fernet import Fernet

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    post_step(client, "safety", MINIMAL["safety"])
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    # The wizard starts again rather than failing.
    page = client.get(step_url("about"), follow=True)
    assert page.status_code == 200


def test_a_session_written_under_an_old_key_reads_after_rotation(settings):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    store = SessionStore()
    store["answer"] = "Robin"
    store.save()

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert SessionStore(session_key=store.session_key).load() == {"answer": "Robin"}

    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert SessionStore(session_key=store.session_key).load() == {}
