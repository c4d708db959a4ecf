"""Staff sign-in: clear errors, and a lockout after repeated failures (django-axes)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.two_factor import authenticator_for, next_code

pytestmark = pytest.mark.django_db


def test_staff_sign_in_lands_on_the_home_page(client, assessor):
    """The password, then the code from the authenticator app, then home."""
    password = client.post(
        reverse("staff-login"), {"username": "alice", "password": "correct horse battery staple"}
    )
    assert password["Location"] == f"{reverse('staff-two-factor')}?next=/staff/"

    response = client.post(
        password["Location"], {"code": next_code(authenticator_for(assessor))}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("staff-home")
    assert "What needs your attention" in response.text


def test_wrong_password_gives_an_error_summary_and_keeps_the_username(client, assessor):
    response = client.post(reverse("staff-login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert 'value="alice"' in response.text


def test_repeated_failures_pause_sign_in(client, assessor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("staff-login"), {"username": "alice", "password": "wrong"})

    response = client.post(
        reverse("staff-login"),
        {"username": "alice", "password": "correct horse battery staple"},
    )

    assert response.status_code == 429
    assert "Sign in is paused" in response.text


def test_every_public_page_links_to_crisis_help(client):
    page = client.get(reverse("home")).text
    assert "NHS 111" in page and "option 2" in page
    assert "999" in page
    assert "116 123" in page
    assert 'class="nhsuk-skip-link"' in page


def test_an_integration_account_is_refused_at_sign_in_with_a_clear_message(client, service):
    from common import roles
    from tests.factories import UserFactory

    UserFactory(username="mill-lane", service=service, roles=[roles.PARTNER_REFERRER])

    response = client.post(
        reverse("staff-login"),
        {"username": "mill-lane", "password": "correct horse battery staple"},
    )

    assert response.status_code == 200
    assert "integration account for the partner API" in response.text
    assert 'value="mill-lane"' in response.text
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("staff-home")).status_code == 302


def test_a_wrong_password_for_an_integration_account_says_only_that_it_is_wrong(client, service):
    """The account's kind is told only to someone who knows its password."""
    from common import roles
    from tests.factories import UserFactory

    UserFactory(username="mill-lane", service=service, roles=[roles.PARTNER_REFERRER])

    response = client.post(reverse("staff-login"), {"username": "mill-lane", "password": "nope"})

    assert "The username or password is not right" in response.text
    assert "integration account" not in response.text
