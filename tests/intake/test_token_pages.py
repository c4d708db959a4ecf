"""The service admin's partner API token pages: the service's integration accounts and their
tokens, a token issued with its key shown once, and a token revoked after a confirmation.
Everything goes through intake.api_tokens, as `manage.py api_token` does."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from common import roles
from intake.api_tokens import ApiToken, api_token_issue
from tests.factories import UserFactory
from tests.intake.test_api import BODY, URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, service_admin):
    client.force_login(service_admin)
    return client


def _api(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def test_the_list_shows_the_services_accounts_and_tokens_never_a_key(
    signed_in, partner, other_service, django_assert_max_num_queries
):
    used = api_token_issue(user=partner, name="Practice system")
    assert _api(used.key).post(URL, BODY, format="json").status_code == 201
    elsewhere = UserFactory(
        username="far-away", service=other_service, roles=[roles.PARTNER_REFERRER]
    )
    api_token_issue(user=elsewhere, name="Their system")

    with django_assert_max_num_queries(8):
        response = signed_in.get(reverse("api-token-list"))

    text = response.text
    assert response.status_code == 200
    assert partner.username in text and "far-away" not in text and "Their system" not in text
    assert used.token.prefix in text and "Practice system" in text
    assert "Never" not in text  # it was used: when and from where
    assert used.key not in text and used.token.key_hash not in text
    assert reverse("api-token-issue", args=[partner.public_id]) in text
    assert reverse("api-token-revoke", args=[used.token.pk]) in text


def test_issuing_shows_the_key_once_and_it_works(signed_in, partner):
    response = signed_in.post(
        reverse("api-token-issue", args=[partner.public_id]),
        {"name": "Practice system", "days": "30"},
    )

    token = ApiToken.objects.get(user=partner)
    assert response.status_code == 200
    key = response.context["key"]
    assert key.startswith(token.prefix) and key in response.text
    assert "This is the only time the key is shown" in response.text
    assert _api(key).post(URL, BODY, format="json").status_code == 201
    assert (token.expires_at - token.created_at).days in (29, 30)
    # Never again: not on the list, not in the database.
    assert key not in signed_in.get(reverse("api-token-list")).text
    assert key not in [str(v) for v in ApiToken.objects.values_list().get()]


def test_a_form_with_mistakes_keeps_what_was_typed(signed_in, partner):
    url = reverse("api-token-issue", args=[partner.public_id])

    empty = signed_in.post(url, {"name": "", "days": "30"})
    assert empty.status_code == 400 and "Enter what the token is for" in empty.text

    wrong = signed_in.post(url, {"name": "Practice system", "days": "0"})
    assert wrong.status_code == 400
    assert "Days until it expires must be at least 1" in wrong.text
    assert 'value="Practice system"' in wrong.text
    assert not ApiToken.objects.exists()


def test_only_the_services_integration_accounts_can_be_given_a_token(
    signed_in, coordinator, other_service
):
    elsewhere = UserFactory(service=other_service, roles=[roles.PARTNER_REFERRER])
    for account in (coordinator, elsewhere):
        response = signed_in.post(
            reverse("api-token-issue", args=[account.public_id]), {"name": "Sneaky"}
        )
        assert response.status_code == 404
    assert not ApiToken.objects.exists()


def test_revoking_asks_first_then_the_token_is_refused(signed_in, partner, other_service):
    issued = api_token_issue(user=partner, name="Practice system")
    url = reverse("api-token-revoke", args=[issued.token.pk])

    confirm = signed_in.get(url)
    assert confirm.status_code == 200 and "Revoke the token" in confirm.text
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None

    response = signed_in.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("api-token-list")
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert _api(issued.key).post(URL, BODY, format="json").status_code == 401
    listing = signed_in.get(reverse("api-token-list")).text
    assert "Revoked" in listing and url not in listing

    theirs = api_token_issue(
        user=UserFactory(service=other_service, roles=[roles.PARTNER_REFERRER]), name="x"
    )
    assert signed_in.post(reverse("api-token-revoke", args=[theirs.token.pk])).status_code == 404
    theirs.token.refresh_from_db()
    assert theirs.token.revoked_at is None


def test_the_service_admins_home_links_the_page(client, service_admin, coordinator):
    client.force_login(service_admin)
    assert reverse("api-token-list") in client.get(reverse("staff-home")).text
    client.force_login(coordinator)
    assert reverse("api-token-list") not in client.get(reverse("staff-home")).text
