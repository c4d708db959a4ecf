"""Fixtures shared by the intake tests."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from common import roles
from intake.api_tokens import api_token_issue
from tests.factories import UserFactory


@pytest.fixture
def partner(service):
    return UserFactory(username="millane", service=service, roles=[roles.PARTNER_REFERRER])


@pytest.fixture
def api(partner):
    """A partner service's API client, signed in with its token."""
    client = APIClient()
    issued = api_token_issue(user=partner, name="Partner system")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    return client
