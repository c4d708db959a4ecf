"""POST /api/v1/referrals/ for GP practices and partner services."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import yaml
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils import timezone
from rest_framework.test import APIClient

from intake.models import ConsentRecord, PrivacyNotice, Referral, RiskFlag

pytestmark = pytest.mark.django_db
URL = "/api/v1/referrals/"


BODY = {
    "source": "gp",
    "given_name": "Sam",
    "family_name": "Reyes",
    "date_of_birth": "1984-02-29",
    "nhs_number": "9434765919",
    "email": "sam@example.com",
    "consents": [
        {
            "topic": "contact_email",
            "granted": True,
            "wording": "May we email you?",
            "wording_version": "gp-1",
        }
    ],
    "questionnaires": [{"measure": "phq9", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 1]}],
}


def test_partner_creates_a_referral_in_its_own_service(api, service):
    response = api.post(URL, BODY, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    referral = Referral.objects.get(public_id=body["id"])
    assert body["reference"] == referral.reference
    assert referral.service == service and referral.source == "gp"
    assert referral.client.nhs_number == "9434765919"
    consent = ConsentRecord.objects.get()
    assert consent.via == "api" and consent.decision == "granted"
    assert body["risk_flags"] == 1  # PHQ-9 item 9 answered 1
    assert RiskFlag.objects.get().source == "phq9_item9"


def test_idempotency_key_makes_retries_safe(api):
    first = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="gp-123")
    again = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="gp-123")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Referral.objects.count() == 1


def test_reusing_a_key_for_a_different_referral_is_a_conflict(api):
    api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="gp-123")
    other = api.post(
        URL, {**BODY, "given_name": "Alex"}, format="json", HTTP_IDEMPOTENCY_KEY="gp-123"
    )
    assert other.status_code == 409
    assert other.json()["code"] == "conflict"
    assert "different referral" in other.json()["errors"]["Idempotency-Key"][0]


def test_without_a_key_each_post_is_a_new_referral(api):
    api.post(URL, BODY, format="json")
    api.post(URL, BODY, format="json")
    assert Referral.objects.count() == 2


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"nhs_number": "9434765918"}, "nhs_number", "not a valid NHS number"),
        ({"date_of_birth": "2099-01-01"}, "date_of_birth", "must be in the past"),
        ({"date_of_birth": "1984-02-30"}, "date_of_birth", "Date has wrong format"),
        ({"postcode": "XX"}, "postcode", "real UK postcode"),
        ({"mobile_phone": "0113 496 0000"}, "mobile_phone", "landline"),
        ({"email": "nope"}, "email", "valid email"),
        ({"given_name": ""}, "given_name", "may not be blank"),
        ({"source": "self"}, "source", "not a valid choice"),
        ({"presenting_problem": "x" * 2001}, "presenting_problem", "no more than 2000"),
        ({"questionnaires": [{"measure": "phq9", "answers": [1, 2]}]}, "questionnaires", "9"),
    ],
)
def test_bad_fields_get_field_level_400s(api, changes, field, message):
    response = api.post(URL, {**BODY, **changes}, format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors, errors
    assert message.lower() in str(errors[field]).lower()
    assert not Referral.objects.exists()


def test_malformed_json_is_a_400_not_a_500(api):
    response = api.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_only_partner_accounts_may_post(service, assessor):
    anonymous = APIClient().post(URL, BODY, format="json")
    assert anonymous.status_code in (401, 403)
    staff = APIClient()
    staff.force_authenticate(assessor)
    assert staff.post(URL, BODY, format="json").status_code == 403


def test_script_in_text_is_kept_as_text(api):
    body = {**BODY, "presenting_problem": "<script>alert(1)</script>"}
    api.post(URL, body, format="json")
    assert Referral.objects.get().presenting_problem == "<script>alert(1)</script>"


def test_openapi_schema_describes_the_endpoint(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/referrals/" in text
    assert "Idempotency-Key" in text
    assert client.get("/api/docs/").status_code == 200


# --- Content types: only JSON can carry a whole referral -------------------------------

RISK_BODY = {
    **BODY,
    "questionnaires": [{"measure": "phq9", "answers": [3, 3, 3, 3, 3, 3, 3, 3, 3]}],
}


def test_a_json_referral_with_a_risk_answer_keeps_its_flag_and_consents(api):
    response = api.post(URL, RISK_BODY, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["risk_flags"] == 1
    referral = Referral.objects.get()
    assert referral.risk_level == Referral.Risk.MEDIUM
    assert RiskFlag.objects.get(referral=referral).source == "phq9_item9"
    assert ConsentRecord.objects.filter(referral=referral).count() == 1


def _as_parts(body: dict) -> dict:
    # What a partner's form library sends: nested values as JSON text in their own parts.
    return {
        name: json.dumps(value) if isinstance(value, list | dict) else value
        for name, value in body.items()
    }


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        ("multipart/form-data", lambda body: encode_multipart(BOUNDARY, _as_parts(body))),
        ("application/x-www-form-urlencoded", lambda body: urlencode(_as_parts(body))),
        ("text/plain", json.dumps),
        ("application/xml", lambda body: "<referral/>"),
    ],
)
def test_other_content_types_are_refused_and_create_nothing(api, content_type, encode):
    if content_type == "multipart/form-data":
        content_type = MULTIPART_CONTENT
    response = api.generic("POST", URL, encode(RISK_BODY), content_type=content_type)

    assert response.status_code == 415, response.content
    assert "application/json" in response.json()["detail"]
    assert not Referral.objects.exists()
    assert not RiskFlag.objects.exists()


def test_the_schema_offers_only_json_for_a_referral(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    operation = schema["paths"]["/api/v1/referrals/"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json"}
    assert "415" in operation["responses"]


# --- Bad input answers a JSON 400, never a 500 -----------------------------------------


def test_json_nested_100000_deep_is_a_json_400(api):
    response = api.generic(
        "POST", URL, "[" * 100_000 + "]" * 100_000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "nested" in response.json()["detail"]
    assert not Referral.objects.exists()


def test_answers_nested_5000_deep_are_a_json_400(api):
    deep = "[" * 5000 + "1" + "]" * 5000
    body = json.dumps({**BODY, "questionnaires": []})[:-1]
    body += ', "questionnaires": [{"measure": "phq9", "answers": ' + deep + "}]}"
    body = body.replace('"questionnaires": [], ', "")

    response = api.generic("POST", URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "nested" in json.dumps(response.json())
    assert not Referral.objects.exists()


def test_a_body_over_the_size_limit_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {**BODY, "presenting_problem": "x" * 2000, "hopes": "y" * 2000}
    body["consents"][0]["wording"] = "z" * 9000

    response = api.post(URL, body, format="json")

    assert response.status_code == 413
    assert "10000 bytes" in response.json()["detail"]
    assert not Referral.objects.exists()


def test_answers_nested_a_little_are_refused_by_item(api):
    body = {**BODY, "questionnaires": [{"measure": "phq9", "answers": [[1]] * 9}]}

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert "questionnaires" in response.json()["errors"]


# --- Consents: the partner's own wording and its version, kept whole --------------------


def test_a_consent_keeps_the_partners_wording_whole_and_its_declared_version(api, service):
    PrivacyNotice.objects.create(
        service=service, version="7", text="Our notice", published_at=timezone.now()
    )
    wording = (
        "Your GP practice would like to share this referral with the talking therapies "
        "service. They will contact you by email about an assessment. " * 4
    ).strip()
    assert len(wording) > 300
    consent = {
        "topic": "contact_email",
        "granted": True,
        "wording": wording,
        "wording_version": "ashby-gp-consent-2026-03",
    }

    response = api.post(URL, {**BODY, "consents": [consent]}, format="json")

    assert response.status_code == 201, response.json()
    record = ConsentRecord.objects.get()
    assert record.wording == wording
    assert record.wording_version == "ashby-gp-consent-2026-03"
    assert record.notice is None  # the partner showed its own words, not our notice


def test_a_consent_without_its_wording_version_is_refused(api):
    consent = {"topic": "contact_email", "granted": True, "wording": "May we email you?"}

    response = api.post(URL, {**BODY, "consents": [consent]}, format="json")

    assert response.status_code == 400
    assert "wording_version" in json.dumps(response.json()["errors"]["consents"])
    assert not Referral.objects.exists()


def test_the_schema_documents_the_consent_wording_fields(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    consent = schema["components"]["schemas"]["ConsentInput"]
    assert {"wording", "wording_version"} <= set(consent["required"])
    assert "maxLength" not in consent["properties"]["wording"] or (
        consent["properties"]["wording"]["maxLength"] > 300
    )
    assert consent["properties"]["wording_version"]["description"]
