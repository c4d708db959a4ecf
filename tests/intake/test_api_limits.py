"""The partner API's limits: throttles that apply (counted in the shared cache), and lists
no longer than a referral can hold, each refused with a clear JSON answer."""

from __future__ import annotations

from types import SimpleNamespace

import django_ratelimit.core
import pytest
import yaml
from rest_framework.test import APIClient

from intake.models import Referral
from tests.intake.test_api import BODY as SHARED_BODY
from tests.intake.test_api import URL

pytestmark = pytest.mark.django_db
CONSENT = {
    "topic": "contact_email",
    "granted": True,
    "wording": "May we email you?",
    "wording_version": "gp-1",
}
PHQ9 = {"measure": "phq9", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 1]}
BODY = {**SHARED_BODY, "consents": [CONSENT], "questionnaires": [PHQ9]}


@pytest.fixture(autouse=True)
def _clock_held_still(monkeypatch):
    """The counting windows are fixed ones: hold their clock still so none ends mid-test."""
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: 1_800_000_000))


def test_a_burst_of_referrals_is_throttled_with_a_json_429(api, settings):
    settings.RATE_API_REFERRALS = "5/m"
    answers = [api.post(URL, BODY, format="json") for _ in range(20)]

    assert [r.status_code for r in answers[:5]] == [201] * 5
    refused = answers[5]
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("application/json")
    assert "throttled" in refused.json()["detail"].lower()
    assert int(refused["Retry-After"]) > 0
    assert Referral.objects.count() == 5


def test_the_default_rates_are_applied(api):
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_THROTTLE_CLASSES, "throttle rates set but no throttle applies"


def test_anonymous_callers_are_throttled_by_client_address_not_a_forged_header(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.RATE_API_ANON = "2/m"
    statuses = [
        APIClient(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        .get("/api/schema/")
        .status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert APIClient(REMOTE_ADDR="198.51.100.2").get("/api/schema/").status_code == 200


def test_two_thousand_questionnaires_are_refused(api):
    one = PHQ9
    response = api.post(URL, {**BODY, "questionnaires": [one] * 2000}, format="json")

    assert response.status_code == 400
    assert "questionnaires" in response.json()["errors"]
    assert Referral.objects.count() == 0


def test_each_measure_is_sent_at_most_once(api):
    one = PHQ9
    response = api.post(URL, {**BODY, "questionnaires": [one, one]}, format="json")

    assert response.status_code == 400
    [message] = response.json()["errors"]["questionnaires"]
    assert "phq9" in message and "once" in message


@pytest.mark.parametrize(
    "field, value",
    [
        ("difficulty_areas", ["low_mood"] * 2000),
        ("current_services", ["none"] * 2000),
        ("consents", [CONSENT] * 2000),
    ],
)
def test_other_lists_are_capped(api, field, value):
    response = api.post(URL, {**BODY, field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Referral.objects.count() == 0


def test_answers_longer_than_any_questionnaire_are_refused(api):
    body = {**BODY, "questionnaires": [{"measure": "phq9", "answers": [0] * 100_000}]}
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert "questionnaires" in response.json()["errors"]


def test_preferences_availability_is_capped(api):
    body = {**BODY, "preferences": {"availability": ["mon_morning"] * 2000}}
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert "preferences" in response.json()["errors"]


def test_the_request_size_limit_is_set_below_djangos_default(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 1024 * 1024


def test_the_schema_documents_429_and_413_for_a_referral(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    responses = schema["paths"]["/api/v1/referrals/"]["post"]["responses"]
    assert {"400", "413", "429"} <= set(responses)
    assert "Retry-After" in str(responses["429"])
