"""Fixtures shared by the intake tests."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from common import roles
from tests.factories import UserFactory


@pytest.fixture
def partner(service):
    return UserFactory(username="millane", service=service, roles=[roles.PARTNER_REFERRER])


@pytest.fixture
def api(partner):
    """A partner service's API client, signed in with its token."""
    client = APIClient()
    token = Token.objects.create(user=partner)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
