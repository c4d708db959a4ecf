"""Signing staff in for tests with two-factor sign-in switched on, as in production.

Django's `Client.force_login` signs a session in with no password; the suite's conftest makes
it also pass the two-factor code step (`force_login_verified`), with an authenticator made
for the user here, so the ~130 tests that sign staff in read as they always did. A test about
the code step itself signs in with `sign_in_unverified`, or types a code from `current_code`.
"""

from __future__ import annotations

import time

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from common.two_factor import APP_DEVICE_NAME

# Django's own, kept before conftest replaces it.
plain_force_login = Client.force_login


def authenticator_for(user) -> TOTPDevice:
    """The user's confirmed authenticator, made if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=True)
    return device


def current_code(device: TOTPDevice, *, at: float | None = None) -> str:
    """The code an authenticator app holding the device's key shows now (or at `at`)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def next_code(device: TOTPDevice) -> str:
    """A code the device has not yet accepted: now's, or the next period's if now's is
    spent (a device takes each code once)."""
    device.refresh_from_db()
    now = time.time()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = now
    if totp.t() > device.last_t:
        return current_code(device, at=now)
    return current_code(device, at=now + device.step)


def verify_session(client: Client, user) -> None:
    """Mark the client's signed-in session as past the code step, as a right code would."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = authenticator_for(user).persistent_id
    session.save()


def force_login_verified(client: Client, user, backend=None) -> None:
    plain_force_login(client, user, backend)
    verify_session(client, user)


def sign_in_unverified(client: Client, user) -> None:
    """Signed in with the password only: every staff page sends this session to the code
    step."""
    plain_force_login(client, user)


def sign_in_through_the_forms(client: Client, user, password: str):
    """Sign in as a person does: the password, then a code from their authenticator app
    (made for them if they have none). Returns the answer to the code step."""
    from django.urls import reverse

    response = client.post(
        reverse("staff-login"), {"username": user.username, "password": password}
    )
    assert response.status_code == 302, "the password was refused"
    assert response["Location"].startswith(reverse("staff-two-factor")), response["Location"]
    return client.post(response["Location"], {"code": next_code(authenticator_for(user))})
