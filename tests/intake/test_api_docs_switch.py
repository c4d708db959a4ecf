"""The API schema and its browsable docs can be switched off (API_DOCS_PUBLIC): production
need not publish its API's shape to everyone. The API itself answers either way."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.django_db

DOC_URLS = ["/api/schema/", "/api/docs/"]


@pytest.mark.parametrize("url", DOC_URLS)
def test_the_docs_are_served_when_public(client, settings, url):
    settings.API_DOCS_PUBLIC = True
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", DOC_URLS)
def test_the_docs_answer_404_when_switched_off(client, settings, url):
    settings.API_DOCS_PUBLIC = False
    assert client.get(url).status_code == 404


def test_the_api_still_answers_with_the_docs_off(api, settings):
    settings.API_DOCS_PUBLIC = False
    response = api.post("/api/v1/referrals/", {}, format="json")
    assert response.status_code == 400


def _setting(env: dict) -> str:
    code = "from django.conf import settings; print(settings.API_DOCS_PUBLIC)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PATH": "/usr/bin:/bin",
            # Production settings refuse to start without a field key (tests/settings.py's).
            "FIELD_ENCRYPTION_KEYS": os.environ["FIELD_ENCRYPTION_KEYS"],
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_the_default_is_on_in_development_and_off_in_production():
    assert _setting({"DEBUG": "1"}) == "True"
    assert _setting({"DEBUG": "0", "SECRET_KEY": "x" * 50}) == "False"
    assert _setting({"DEBUG": "0", "SECRET_KEY": "x" * 50, "API_DOCS_PUBLIC": "1"}) == "True"
