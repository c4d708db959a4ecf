"""The staff sign-in lockout, behind a proxy: per account *and* client address, with the
address found as everywhere else (common.client_address), never from a forged header."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
PROXY = "10.0.0.5"


def sign_in(client, password, **headers):
    return client.post(
        reverse("staff-login"), {"username": "alice", "password": password}, **headers
    )


def fail_until_locked(client, settings, **headers):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert sign_in(client, "wrong", **headers).status_code in (200, 429)


def test_failures_from_one_address_do_not_lock_the_account_elsewhere(assessor, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    fail_until_locked(Client(REMOTE_ADDR="198.51.100.1"), settings)

    assert sign_in(Client(REMOTE_ADDR="198.51.100.1"), PASSWORD).status_code == 429
    assert sign_in(Client(REMOTE_ADDR="198.51.100.2"), PASSWORD).status_code == 302


def test_a_forged_forwarded_header_does_not_escape_the_lock(assessor, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    fail_until_locked(Client(REMOTE_ADDR="198.51.100.1"), settings)

    forged = Client(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.50")
    assert sign_in(forged, PASSWORD).status_code == 429


def test_behind_one_proxy_each_client_has_its_own_lock(assessor, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    fail_until_locked(attacker, settings)

    # Every request arrives from the proxy; only the attacker's own address is locked.
    assert sign_in(attacker, PASSWORD).status_code == 429
    colleague = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert sign_in(colleague, PASSWORD).status_code == 302


def test_behind_one_proxy_the_right_most_entry_is_used(assessor, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    fail_until_locked(Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1"), settings)

    # Putting another address first in the header is no escape: the proxy appended the
    # real one on the right.
    forged = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.50, 198.51.100.1")
    assert sign_in(forged, PASSWORD).status_code == 429
