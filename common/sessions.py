"""The session engine: Django's database sessions, written only when something changed.

formtools' wizard storage marks the session modified whenever it is read, and
SESSION_SAVE_EVERY_REQUEST slides the expiry, so with Django's engine every page (each step
of the self-referral read again, every staff page) rewrites the whole row: an UPDATE and a
commit per request. Here a session whose contents are as loaded is written again only when
its stored expiry is more than REFRESH_SECONDS behind where a write would move it, so the
expiry still slides, a few minutes at a time. Any change is written at once. The comparison
is of the serialised contents, never of the stored text, which differs on every write.

The stored data is encrypted (docs/security.md, "Sessions"): Django's signed text is
encrypted with the field encryption keys (`common.encryption`, FIELD_ENCRYPTION_KEYS,
newest first), so unfinished self-referral answers are never in the table in clear. A
session that no key opens, or one stored in clear before encryption, reads as empty: the
person signs in again or the form starts again, never an error.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from common.encryption import TOKEN_PREFIX, UndecryptableValue, decrypt, encrypt, encrypting

REFRESH_SECONDS = 300


class SessionStore(DatabaseSessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._as_loaded: bytes | None = None
        self._expires_as_loaded = None

    def encode(self, session_dict):
        return encrypt(super().encode(session_dict))

    def decode(self, session_data):
        if not encrypting():  # the plain-text benchmark baseline only
            return super().decode(session_data)
        if not session_data.startswith(TOKEN_PREFIX):
            # Stored before encryption was switched on: signed, so read it (a bad signature
            # reads as empty); the next write stores it encrypted.
            return super().decode(session_data)
        try:
            return super().decode(decrypt(session_data))
        except UndecryptableValue:
            return {}

    def _get_session_from_db(self):
        stored = super()._get_session_from_db()
        if stored is not None:
            self._expires_as_loaded = stored.expire_date
        return stored

    def load(self):
        data = super().load()
        if self._expires_as_loaded is not None:
            self._as_loaded = self.serializer().dumps(data)
        return data

    def save(self, must_create=False):
        if not must_create and self._unchanged_and_fresh():
            return
        super().save(must_create=must_create)
        self._as_loaded = None  # written: the next save compares nothing stale

    def _unchanged_and_fresh(self) -> bool:
        if self.session_key is None or self._as_loaded is None:
            return False
        if self.serializer().dumps(self._get_session()) != self._as_loaded:
            return False
        would_expire = timezone.now() + timedelta(seconds=self.get_expiry_age())
        return would_expire - self._expires_as_loaded < timedelta(seconds=REFRESH_SECONDS)


# Staff session limits (common.middleware.StaffSessionLimitsMiddleware). Times are whole
# seconds since the epoch, as the session is JSON.
SIGNED_IN_AT = "_staff_signed_in_at"
LAST_SEEN = "_staff_last_seen"
# The last-seen time is rewritten at most as often as the sliding expiry is, so reading pages
# adds no writes of its own. It can lag by up to this much, so an idle session may end this
# much early, never late.
LAST_SEEN_STEP_SECONDS = REFRESH_SECONDS
IDLE = "idle"
TOO_LONG = "too_long"


def staff_session_start(session, *, now: int) -> None:
    """A sign-in starts both clocks (connected to user_logged_in in common.apps)."""
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN] = now


def staff_session_touch(session, *, now: int, idle_seconds: int, max_seconds: int) -> str | None:
    """Record a request of a signed-in session; say why it must end (IDLE, TOO_LONG) or None.
    A session signed in before these limits existed starts its clocks now."""
    if SIGNED_IN_AT not in session or LAST_SEEN not in session:
        staff_session_start(session, now=now)
        return None
    if now - session[SIGNED_IN_AT] > max_seconds:
        return TOO_LONG
    if now - session[LAST_SEEN] > idle_seconds:
        return IDLE
    if now - session[LAST_SEEN] >= LAST_SEEN_STEP_SECONDS:
        session[LAST_SEEN] = now
    return None
