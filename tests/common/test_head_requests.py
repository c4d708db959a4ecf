"""HEAD is answered wherever GET is: link checkers and uptime monitors ask with HEAD."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/refer/", "/staff/login/"])
def test_public_pages_answer_head_as_they_answer_get(client, service, path):
    got = client.get(path)
    head = client.head(path)

    assert head.status_code == got.status_code == 200
    assert head.content == b""


def test_a_staff_page_answers_head_as_it_answers_get(client, assessor):
    client.force_login(assessor)
    path = reverse("assessment-worklist")

    assert client.head(path).status_code == client.get(path).status_code == 200
