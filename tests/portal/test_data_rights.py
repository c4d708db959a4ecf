"""A copy of the client's data (JSON and PDF) and corrections asked for in the portal
(docs/portal.md, "A copy of your data" and "Corrections"); HEAD on the pages before
signing in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.portal.conftest import ask, deliver_links, emailed_token

pytestmark = pytest.mark.django_db


# --- HEAD on the pages before signing in ------------------------------------------------------


def test_head_on_the_start_page_answers_like_get(client):
    got = client.get(reverse("portal-start"))
    head = client.head(reverse("portal-start"))
    assert head.status_code == got.status_code == 200
    assert head["Content-Type"] == got["Content-Type"]
    assert head.content == b""


def test_head_on_a_sign_in_link_answers_like_get_and_does_not_spend_it(client, referral):
    ask(client, referral)
    deliver_links()
    url = reverse("portal-sign-in", kwargs={"token": emailed_token()})
    assert client.head(url).status_code == 200
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302  # still unspent after HEAD and GET
    bad = reverse("portal-sign-in", kwargs={"token": "not-a-real-token"})
    assert client.head(bad).status_code == client.get(bad).status_code == 404
