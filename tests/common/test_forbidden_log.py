"""A refused page is logged as one line with the path and the account's id: no traceback
(a refusal is not a fault), no personal data."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from common import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def request_log(caplog):
    return [r for r in caplog.records if r.name.startswith(("django.request", "django.security"))]


@pytest.mark.parametrize("integration", [False, True], ids=["wrong-role", "integration"])
def test_a_403_is_logged_as_one_line_without_a_traceback(client, caplog, service, integration):
    user = UserFactory(
        username="frank",
        service=service,
        roles=[roles.PARTNER_REFERRER] if integration else [roles.THERAPIST],
    )
    client.force_login(user)
    url = reverse("assessment-worklist")

    with caplog.at_level(logging.INFO):
        response = client.get(url)

    assert response.status_code == 403
    [record] = request_log(caplog)
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"403 Forbidden: {url} user={user.pk}"
    assert record.exc_info is None and not record.exc_text
    assert "Traceback" not in caplog.text and "frank" not in caplog.text


def test_a_server_error_keeps_its_traceback(client, caplog, assessor, monkeypatch):
    """Only refusals are shortened: a real fault still logs what went wrong."""
    from intake import selectors

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(selectors, "referral_list", broken)
    client.raise_request_exception = False
    client.force_login(assessor)

    with caplog.at_level(logging.INFO):
        response = client.get(reverse("staff-referral-list"))

    assert response.status_code == 500
    [record] = request_log(caplog)
    assert record.exc_info is not None
