"""Words that agree with themselves: one service name in every header and title, and a
title that starts with "Error: " whenever a form on the page has errors."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import RiskFlagFactory

pytestmark = pytest.mark.django_db


def title(page: str) -> str:
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1)


def header_name(page: str) -> str:
    return re.search(r'nhsuk-header__service-name">(.*?)<', page).group(1)


def test_public_and_staff_pages_name_the_service_the_same_way(client, service, assessor):
    public = client.get(reverse("home")).text
    client.force_login(assessor)
    staff = client.get(reverse("staff-home")).text

    for page in (public, staff):
        assert header_name(page) == settings.SERVICE_NAME
        assert title(page).endswith(f" – {settings.SERVICE_NAME} – NHS")
    assert service.name not in header_name(staff)


def test_a_failed_acknowledgement_has_an_error_title(client, service, assessor):
    flag = RiskFlagFactory(referral__client__service=service)
    referral = flag.referral
    client.force_login(assessor)
    url = reverse("staff-risk-acknowledge", args=[referral.public_id, flag.public_id])

    response = client.post(url, {"action_taken": ""})

    assert response.status_code == 400
    assert title(response.text).startswith("Error: ")
    page = client.get(reverse("staff-referral-detail", args=[referral.public_id])).text
    assert not title(page).startswith("Error")
