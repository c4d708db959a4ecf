"""POST /api/v1/fhir/ServiceRequest: a referral from another system, as a FHIR Bundle."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from rest_framework.test import APIClient

from api.fhir import definitions as d
from audit.models import AuditEvent
from common import roles
from intake.api_tokens import api_token_issue
from intake.models import ConsentRecord, MeasureResponse, Referral, RiskFlag
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/fhir/ServiceRequest"
FHIR = "application/fhir+json"


def _coding(code, option):
    return {"valueCoding": {"system": d.CS_ANSWER, "code": f"{code}-{option}"}}


DECLINED = {"valueCoding": {"system": d.DATA_ABSENT_CODES, "code": "asked-declined"}}
PATIENT = "urn:uuid:8d3c1f0e-3b1a-4c55-9a53-0f3c4a1d2b01"
REQUEST = "urn:uuid:8d3c1f0e-3b1a-4c55-9a53-0f3c4a1d2b02"
PHQ9 = "urn:uuid:8d3c1f0e-3b1a-4c55-9a53-0f3c4a1d2b03"
CONSENT = "urn:uuid:8d3c1f0e-3b1a-4c55-9a53-0f3c4a1d2b04"

BUNDLE = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {
            "fullUrl": PATIENT,
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": d.NHS_NUMBER, "value": "9434765919"}],
                "name": [{"use": "official", "family": "Reyes", "given": ["Sam"]}],
                "telecom": [{"system": "email", "value": "sam@example.com"}],
                "birthDate": "1984-02-29",
                "_gender": {"extension": [{"url": d.DATA_ABSENT, "valueCode": "asked-declined"}]},
                "address": [{"text": "1 Park Row, Leeds", "postalCode": "LS1 4AP"}],
            },
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "fullUrl": REQUEST,
            "resource": {
                "resourceType": "ServiceRequest",
                "extension": [{"url": d.EXT_SOURCE, "valueCode": "gp"}],
                "status": "active",
                "intent": "order",
                "subject": {"reference": PATIENT},
                "note": [{"text": "Low mood since a bereavement"}],
                "supportingInfo": [{"reference": PHQ9}],
            },
            "request": {"method": "POST", "url": "ServiceRequest"},
        },
        {
            "fullUrl": PHQ9,
            "resource": {
                "resourceType": "QuestionnaireResponse",
                "questionnaire": d.questionnaire_url("phq9"),
                "status": "completed",
                "subject": {"reference": PATIENT},
                "item": [
                    {"linkId": str(n), "answer": [DECLINED if n == 3 else _coding("phq9", 1)]}
                    for n in range(1, 10)
                ],
            },
            "request": {"method": "POST", "url": "QuestionnaireResponse"},
        },
        {
            "fullUrl": CONSENT,
            "resource": {
                "resourceType": "Consent",
                "extension": [{"url": d.EXT_WORDING_VERSION, "valueString": "gp-form-3"}],
                "status": "active",
                "scope": {"coding": [{"system": d.CONSENT_SCOPE, "code": "patient-privacy"}]},
                "category": [{"coding": [{"system": d.CS_CONSENT_TOPIC, "code": "contact_email"}]}],
                "patient": {"reference": PATIENT},
                "sourceAttachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(b"May we email you?").decode(),
                },
                "provision": {"type": "permit"},
            },
            "request": {"method": "POST", "url": "Consent"},
        },
    ],
}


@pytest.fixture
def partner(service):
    return factories.UserFactory(service=service, roles=[roles.PARTNER_REFERRER])


@pytest.fixture
def api(partner):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=partner, name='x').key}")
    return client


def post(api, bundle, **headers):
    return api.post(URL, json.dumps(bundle), content_type=FHIR, **headers)


def bundle_with(change) -> dict:
    bundle = copy.deepcopy(BUNDLE)
    change(bundle)
    return bundle


def resource(bundle, index):
    return bundle["entry"][index]["resource"]


def issues(response) -> list[dict]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    assert response["Content-Type"].startswith(FHIR)
    return body["issue"]


def test_a_partner_sends_a_referral_as_a_bundle(api, service):
    response = post(api, BUNDLE)

    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith(FHIR)
    body = response.json()
    assert body["resourceType"] == "ServiceRequest"
    referral = Referral.objects.get(public_id=body["id"])
    assert response["Location"].endswith(f"/api/v1/referrals/{referral.public_id}/fhir")
    assert referral.service == service and referral.source == "gp"
    assert referral.presenting_problem == "Low mood since a bereavement"
    client = referral.client
    assert (client.given_name, client.family_name, client.nhs_number) == (
        "Sam",
        "Reyes",
        "9434765919",
    )
    assert client.gender_identity == "prefer_not_to_say"
    assert client.postcode == "LS1 4AP"
    consent = ConsentRecord.objects.get(referral=referral)
    assert (consent.topic, consent.decision, consent.via) == ("contact_email", "granted", "api")
    assert (consent.wording, consent.wording_version) == ("May we email you?", "gp-form-3")


def test_the_same_risk_handling_as_the_json_api(api):
    response = post(api, BUNDLE)

    referral = Referral.objects.get(public_id=response.json()["id"])
    answers = MeasureResponse.objects.get(referral=referral).answers
    # "Prefer not to say" arrives as itself, kept apart from a missed item.
    assert answers[2] == "prefer_not_to_say" and None not in answers
    flag = RiskFlag.objects.get(referral=referral)
    assert flag.source == "phq9_item9" and flag.is_open
    assert referral.risk_level == Referral.Risk.MEDIUM
    assert Notification.objects.filter(referral=referral, kind="risk_alert").exists()


def test_an_idempotency_key_makes_retries_safe(api):
    first = post(api, BUNDLE, HTTP_IDEMPOTENCY_KEY="gp-42")
    again = post(api, BUNDLE, HTTP_IDEMPOTENCY_KEY="gp-42")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Referral.objects.count() == 1


def test_a_key_reused_for_another_referral_is_a_conflict(api):
    post(api, BUNDLE, HTTP_IDEMPOTENCY_KEY="gp-42")
    other = bundle_with(lambda b: resource(b, 0)["name"][0].update(given=["Alex"]))

    response = post(api, other, HTTP_IDEMPOTENCY_KEY="gp-42")

    assert response.status_code == 409
    (issue,) = issues(response)
    assert issue["code"] == "conflict" and "different referral" in issue["diagnostics"]
    assert Referral.objects.count() == 1


def test_a_malformed_key_is_refused(api):
    response = post(api, BUNDLE, HTTP_IDEMPOTENCY_KEY="x" * 65)
    assert response.status_code == 400
    assert "64 characters" in issues(response)[0]["diagnostics"]


@pytest.mark.parametrize(
    ("change", "expression", "words"),
    [
        (
            lambda b: resource(b, 0)["identifier"][0].update(value="9434765918"),
            "Bundle.entry[0].resource.identifier[0].value",
            "not a valid NHS number",
        ),
        (
            lambda b: resource(b, 0).update(birthDate="2099-01-01"),
            "Bundle.entry[0].resource.birthDate",
            "must be in the past",
        ),
        (
            lambda b: resource(b, 0)["address"][0].update(postalCode="XX"),
            "Bundle.entry[0].resource.address[0].postalCode",
            "postcode",
        ),
        (
            lambda b: resource(b, 2)["item"][0].update(answer=[_coding("phq9", 7)]),
            "Bundle.entry[2].resource.item",
            "out of range",
        ),
        (
            lambda b: resource(b, 3)["category"][0]["coding"][0].update(code="carrier_pigeon"),
            "Bundle.entry[3].resource.category",
            "not a valid choice",
        ),
        (
            lambda b: resource(b, 1)["extension"].append(
                {"url": d.EXT_PREFERENCES, "extension": [{"url": "mode", "valueCode": "pigeon"}]}
            ),
            "Bundle.entry[1].resource.extension[1].extension[0]",
            "not a valid choice",
        ),
        (
            lambda b: resource(b, 3)["sourceAttachment"].pop("data"),
            "Bundle.entry[3].resource.sourceAttachment.data",
            "required",
        ),
    ],
)
def test_a_referral_the_json_api_would_refuse_is_a_422_pointing_at_the_element(
    api, change, expression, words
):
    response = post(api, bundle_with(change))

    assert response.status_code == 422, response.content
    found = issues(response)
    assert any(
        i["expression"] == [expression] and words in i["diagnostics"] and i["severity"] == "error"
        for i in found
    ), found
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("change", "expression", "words"),
    [
        (
            lambda b: resource(b, 2).update(questionnaire="https://elsewhere.example/Q/phq9"),
            "Bundle.entry[2].resource.questionnaire",
            "one of this service's questionnaires",
        ),
        (
            lambda b: resource(b, 2).update(status="in-progress"),
            "Bundle.entry[2].resource.status",
            "Only a completed",
        ),
        (
            lambda b: resource(b, 2)["item"].append(
                {"linkId": "10", "answer": [_coding("phq9", 0)]}
            ),
            "Bundle.entry[2].resource.item[9].linkId",
            "items 1 to 9",
        ),
        (
            lambda b: resource(b, 1).update(subject={"reference": "Patient/someone-else"}),
            "Bundle.entry[1].resource.subject",
            "the Bundle's Patient",
        ),
        (lambda b: b["entry"].pop(0), "Bundle.entry", "exactly one Patient"),
    ],
)
def test_fhir_that_is_no_referral_here_is_a_422(api, change, expression, words):
    response = post(api, bundle_with(change))

    assert response.status_code == 422, response.content
    assert any(
        i["expression"] == [expression] and words in i["diagnostics"] for i in issues(response)
    ), issues(response)


@pytest.mark.parametrize(
    ("body", "expression", "code"),
    [
        ({"resourceType": "Patient"}, "Bundle", "structure"),
        (
            bundle_with(lambda b: resource(b, 0).update(birthDate="29/02/1984")),
            "Bundle.entry[0].resource.birthDate",
            "value",
        ),
        (
            bundle_with(lambda b: resource(b, 1).update(colour="blue")),
            "Bundle.entry[1].resource.colour",
            "structure",
        ),
        (
            bundle_with(lambda b: resource(b, 3).pop("scope")),
            "Bundle.entry[3].resource.scope",
            "required",
        ),
        (bundle_with(lambda b: b.update(type="searchset")), "Bundle.type", "value"),
    ],
)
def test_what_is_not_valid_fhir_is_a_400(api, body, expression, code):
    response = post(api, body)

    assert response.status_code == 400, response.content
    assert any(i["expression"] == [expression] and i["code"] == code for i in issues(response))


def test_json_that_is_not_json_is_a_400_outcome(api):
    response = api.post(URL, "{not json", content_type=FHIR)
    assert response.status_code == 400
    assert issues(response)[0]["code"] == "structure"


def test_a_form_body_is_a_415_outcome(api):
    response = api.post(URL, {"resourceType": "Bundle"})
    assert response.status_code == 415
    assert issues(response)[0]["code"] == "not-supported"


def test_plain_json_is_accepted_too(api):
    response = api.post(URL, BUNDLE, format="json")
    assert response.status_code == 201


def test_nobody_and_staff_may_not_send(client, coordinator):
    anonymous = APIClient().post(URL, BUNDLE, format="json")
    assert anonymous.status_code == 401
    assert issues(anonymous)[0]["code"] == "login"
    client.force_login(coordinator)
    staff = client.post(URL, json.dumps(BUNDLE), content_type=FHIR)
    assert staff.status_code == 403
    assert issues(staff)[0]["code"] == "forbidden"
    assert not Referral.objects.exists()


def test_a_refused_topic_and_the_senders_own_notice(api):
    def change(bundle):
        resource(bundle, 3)["provision"]["type"] = "deny"
        notice = copy.deepcopy(bundle["entry"][3])
        notice["fullUrl"] = "urn:uuid:8d3c1f0e-3b1a-4c55-9a53-0f3c4a1d2b09"
        notice["resource"]["category"][0]["coding"][0]["code"] = "privacy_notice"
        bundle["entry"].append(notice)

    response = post(api, bundle_with(change))

    assert response.status_code == 201, response.content
    (consent,) = ConsentRecord.objects.all()
    assert (consent.topic, consent.decision) == ("contact_email", "refused")


def test_the_import_is_audited_against_the_new_referral(api, partner):
    response = post(api, BUNDLE)

    event = AuditEvent.objects.get(view="api-fhir-servicerequest-create")
    assert event.action == AuditEvent.Action.WRITE and event.user == partner
    assert str(event.referral_id) == response.json()["id"]


def test_the_fhir_version_parameter_is_accepted(api):
    response = api.post(URL, json.dumps(BUNDLE), content_type=f"{FHIR}; fhirVersion=4.0")
    assert response.status_code == 201, response.content
