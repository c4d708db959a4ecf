"""GET /api/v1/referrals/<id>/fhir: one referral's record as a FHIR R4 Bundle."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from api.fhir import definitions as d
from audit.models import AuditEvent
from common import roles
from intake import rights
from intake.api_tokens import api_token_issue
from intake.models import MeasureResponse
from tests import factories
from tests.api.fhir_support import (
    add_therapy,
    check_bundle,
    make_referral,
    resources,
    withdraw_email_consent,
)

pytestmark = pytest.mark.django_db


def url(referral) -> str:
    return f"/api/v1/referrals/{referral.public_id}/fhir"


@pytest.fixture
def referral(service, therapist_user, coordinator):
    referral = make_referral(service)
    add_therapy(referral, therapist_user, coordinator)
    withdraw_email_consent(referral)
    return referral


@pytest.fixture
def bundle(client, referral, therapist_user):
    client.force_login(therapist_user)
    response = client.get(url(referral))
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    return response.json()


def by_measure(bundle, code):
    return next(
        r
        for r in resources(bundle, "QuestionnaireResponse")
        if r["questionnaire"].startswith(d.questionnaire_url(code))
    )


def item(response, link_id):
    return next(i for i in response["item"] if i["linkId"] == link_id)


def test_the_therapists_bundle_holds_the_whole_record_and_is_valid_fhir(bundle):
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert check_bundle(bundle) == []
    counts = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    assert counts == {
        "Patient": 1,
        "ServiceRequest": 1,
        "QuestionnaireResponse": 4,
        "Questionnaire": 4,
        "Consent": 3,  # two decisions and the later withdrawal
        "Flag": 1,  # PHQ-9 item 9
        "Practitioner": 1,
        "PractitionerRole": 1,
        "Goal": 2,
        "Observation": 4,  # two ratings each
        "CarePlan": 1,
        "Encounter": 1,  # one session attended, one missed
    }


def test_the_referral_is_a_uk_core_service_request_naming_patient_and_therapist(bundle, referral):
    (request,) = resources(bundle, "ServiceRequest")
    (patient,) = resources(bundle, "Patient")
    (role,) = resources(bundle, "PractitionerRole")
    assert request["meta"]["profile"] == [
        "https://fhir.hl7.org.uk/StructureDefinition/UKCore-ServiceRequest"
    ]
    assert request["id"] == str(referral.public_id)
    assert request["identifier"][0]["value"] == referral.reference
    assert request["subject"]["reference"] == f"urn:uuid:{patient['id']}"
    assert request["performer"] == [
        {"reference": f"urn:uuid:{role['id']}", "type": "PractitionerRole"}
    ]
    assert {c["code"] for r in request["reasonCode"] for c in r["coding"]} == {"low_mood", "loss"}
    notes = {n["extension"][0]["valueCode"]: n["text"] for n in request["note"]}
    assert notes == {
        "presenting_problem": "Low since the winter",
        "hopes": "To sleep again",
        "previous_help": "Counselling at college",
    }
    (wishes,) = [e for e in request["extension"] if e["url"] == d.EXT_PREFERENCES]
    assert {"url": "interpreter_needed", "valueBoolean": True} in wishes["extension"]
    assert [w["valueCode"] for w in wishes["extension"] if w["url"] == "availability"] == [
        "tue_morning",
        "thu_evening",
    ]
    assert patient["identifier"] == [{"system": d.NHS_NUMBER, "value": "9434765919"}]
    assert patient["birthDate"] == "1984-02-29"


def test_prefer_not_to_say_is_a_data_absent_reason_never_a_blank(bundle):
    (patient,) = resources(bundle, "Patient")
    assert "gender" not in patient
    assert patient["_gender"] == {
        "extension": [{"url": d.DATA_ABSENT, "valueCode": "asked-declined"}]
    }
    phq9 = by_measure(bundle, "phq9")
    assert item(phq9, "3")["answer"] == [
        {
            "valueCoding": {
                "system": d.DATA_ABSENT_CODES,
                "code": "asked-declined",
                "display": "Asked But Declined",
            }
        }
    ]
    wsas = by_measure(bundle, "wsas")
    assert item(wsas, "1")["answer"][0]["valueCoding"]["code"] == "not-applicable"
    # A missed item is missing: no answer at all, and never "declined".
    core10 = by_measure(bundle, "core10")
    assert "answer" not in item(core10, "4")


def test_answers_and_totals_are_as_stored(bundle, referral):
    phq9 = by_measure(bundle, "phq9")
    assert item(phq9, "1")["answer"][0]["valueCoding"]["code"] == "phq9-1"
    assert item(phq9, "9")["answer"][0]["valueCoding"]["display"] == "Several days"
    stored = MeasureResponse.objects.get(referral=referral, measure="core10")
    assert item(by_measure(bundle, "core10"), "total")["answer"] == [
        {"valueDecimal": float(stored.total)}
    ]
    # PHQ-9 with a declined item has no total: none is made up.
    assert "total" not in {i["linkId"] for i in phq9["item"]}


def test_loinc_codes_only_where_checked(bundle):
    questionnaires = {q["id"]: q for q in resources(bundle, "Questionnaire")}
    assert questionnaires["phq9"]["code"][0]["code"] == "44249-1"
    assert item(questionnaires["phq9"], "total")["code"][0]["code"] == "44261-6"
    assert questionnaires["gad7"]["code"][0]["code"] == "69737-5"
    assert item(questionnaires["gad7"], "total")["code"][0]["code"] == "70274-6"
    for code in ("core10", "wsas"):
        assert "code" not in questionnaires[code]
        assert "code" not in item(questionnaires[code], "total")


def test_each_consent_decision_is_there_with_the_withdrawal_current(bundle):
    by_topic = {}
    for consent in resources(bundle, "Consent"):
        topic = consent["category"][0]["coding"][0]["code"]
        decision = consent["extension"][0]["valueCode"]
        by_topic.setdefault(topic, []).append(
            (decision, consent["status"], consent["provision"]["type"])
        )
    assert by_topic == {
        "contact_email": [("granted", "inactive", "permit"), ("withdrawn", "active", "deny")],
        "tell_gp": [("refused", "active", "deny")],
    }
    first = resources(bundle, "Consent")[0]
    assert base64.b64decode(first["sourceAttachment"]["data"]).decode() == "May we email you?"


def test_goals_ratings_plan_sessions_and_flag(bundle):
    goals = resources(bundle, "Goal")
    observations = {o["id"]: o for o in resources(bundle, "Observation")}
    for goal in goals:
        rated = [
            observations[r["reference"].removeprefix("urn:uuid:")] for r in goal["outcomeReference"]
        ]
        assert [o["valueInteger"] for o in rated] == [2, 6]
        assert all(o["focus"][0]["reference"] == f"urn:uuid:{goal['id']}" for o in rated)
    (plan,) = resources(bundle, "CarePlan")
    timing = plan["activity"][0]["detail"]["scheduledTiming"]["repeat"]
    assert (timing["frequency"], timing["periodUnit"], timing["dayOfWeek"]) == (1, "wk", ["tue"])
    assert len(plan["goal"]) == 2
    (encounter,) = resources(bundle, "Encounter")
    assert encounter["status"] == "finished" and encounter["class"]["code"] == "VR"
    (flag,) = resources(bundle, "Flag")
    assert flag["status"] == "active" and flag["code"]["coding"][0]["code"] == "phq9_item9"


def test_the_assessor_gets_the_referral_without_the_therapy_record(client, service, assessor):
    referral = make_referral(service)  # waiting for assessment: the assessor's to assess
    client.force_login(assessor)

    bundle = client.get(url(referral)).json()

    assert check_bundle(bundle) == []
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "ServiceRequest", "QuestionnaireResponse", "Flag"} <= kinds
    assert not kinds & {"Goal", "Observation", "CarePlan", "Encounter"}


@pytest.mark.parametrize(
    ("who", "status"),
    [("coordinator", 403), ("service_admin", 403), ("other_therapist", 404), ("other_staff", 404)],
)
def test_who_may_not_export_gets_an_operation_outcome(
    client, referral, request, service, who, status
):
    if who == "other_therapist":
        user = factories.UserFactory(service=service, roles=[roles.THERAPIST])
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)

    response = client.get(url(referral))

    assert response.status_code == status
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == ("forbidden" if status == 403 else "not-found")
    assert body["issue"][0]["diagnostics"]


def test_nobody_and_integration_accounts_read_nothing(referral, service):
    anonymous = APIClient().get(url(referral))
    assert anonymous.status_code == 401
    assert anonymous.json()["issue"][0]["code"] == "login"
    partner = factories.UserFactory(service=service, roles=[roles.PARTNER_REFERRER])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=partner, name='x').key}")
    refused = api.get(url(referral))
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"


def test_an_unknown_referral_is_404(client, therapist_user):
    client.force_login(therapist_user)
    response = client.get(f"/api/v1/referrals/{uuid.uuid4()}/fhir")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_the_export_is_audited_as_a_read_of_the_referral(client, referral, therapist_user):
    client.force_login(therapist_user)
    client.get(url(referral))
    event = AuditEvent.objects.get(view="api-fhir-referral-export")
    assert event.action == AuditEvent.Action.READ
    assert (event.object_type, event.referral_id) == ("referral", referral.public_id)
    assert event.user == therapist_user and event.status == 200


def _queries(client, referral) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(referral))
    assert response.status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_record(
    client, service, therapist_user, coordinator
):
    small = make_referral(service, key="small")
    add_therapy(small, therapist_user, coordinator, sessions=1, goals=1)
    other_therapist = factories.UserFactory(service=service, roles=[roles.THERAPIST])
    large = make_referral(service, key="large")
    add_therapy(large, other_therapist, coordinator, sessions=30, goals=3)
    for _ in range(5):
        withdraw_email_consent(large)

    client.force_login(therapist_user)
    few = _queries(client, small)
    client.force_login(other_therapist)
    many = _queries(client, large)

    assert few == many


def _review_measures(referral, count: int) -> None:
    """`count` questionnaires repeated in therapy, PHQ-9 and GAD-7 in turn."""
    for n in range(count):
        code, items = ("phq9", 9) if n % 2 == 0 else ("gad7", 7)
        MeasureResponse.objects.create(
            referral=referral,
            measure=code,
            context=MeasureResponse.Context.REVIEW,
            answers=[n % 4] * items,
            total=(n % 4) * items,
            band="mild",
            completed_at=timezone.now() - dt.timedelta(weeks=count - n),
        )


def test_the_number_of_queries_does_not_grow_with_sessions_measures_goals_or_flags(
    client, service, therapist_user, coordinator
):
    """A long therapy's record (many sessions, repeated questionnaires, goals rated every
    few weeks, several open flags) costs the same queries as a short one's: one per kind of
    record, never one per record."""
    small = make_referral(service, key="small")
    add_therapy(small, therapist_user, coordinator, sessions=1, goals=1)
    other_therapist = factories.UserFactory(service=service, roles=[roles.THERAPIST])
    large = make_referral(service, key="large")
    add_therapy(large, other_therapist, coordinator, sessions=40, goals=5)
    _review_measures(large, 20)
    for goal in large.goals.all():
        for weeks in range(3, 9):
            goal.ratings.create(
                score=weeks,
                rated_on=timezone.localdate() - dt.timedelta(weeks=weeks),
                recorded_by=other_therapist,
            )
    for _ in range(3):
        factories.RiskFlagFactory(referral=large)

    client.force_login(therapist_user)
    few = _queries(client, small)
    client.force_login(other_therapist)
    many = _queries(client, large)
    bundle = client.get(url(large)).json()

    assert few == many
    assert len(resources(bundle, "Encounter")) == 20  # every other session attended
    assert len(resources(bundle, "Observation")) == 5 * 8
    assert len(resources(bundle, "QuestionnaireResponse")) >= 20
    assert len(resources(bundle, "Flag")) >= 3
    assert check_bundle(bundle) == []


def test_the_bundle_checks_catch_a_dangling_reference_and_an_unchecked_code(bundle):
    """The checks above can fail: a reference to nothing and an unchecked LOINC code."""
    (request,) = resources(bundle, "ServiceRequest")
    request["subject"]["reference"] = f"urn:uuid:{uuid.uuid4()}"
    (questionnaire,) = [q for q in resources(bundle, "Questionnaire") if q["id"] == "wsas"]
    questionnaire["code"] = [{"system": d.LOINC, "code": "12345-6"}]

    problems = check_bundle(bundle)

    assert any("ServiceRequest.subject" in p and "not in the Bundle" in p for p in problems)
    assert any("LOINC 12345-6" in p for p in problems)


def test_an_id_that_is_no_uuid_is_a_fhir_404(client, therapist_user):
    client.force_login(therapist_user)
    response = client.get("/api/v1/referrals/null,null/fhir")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response.json()["issue"][0]["code"] == "not-found"


def test_a_restricted_record_is_not_exported(client, referral, therapist_user, coordinator):
    rights.rights_request_open(
        referral=referral,
        kind="restriction",
        details="Please do not share my record while I think",
        source="phone",
        recorded_by=coordinator,
    )
    client.force_login(therapist_user)

    response = client.get(url(referral))

    assert response.status_code == 409
    (issue,) = response.json()["issue"]
    assert issue["code"] == "business-rule" and "Art. 18" in issue["diagnostics"]


def _columns(row) -> tuple:
    return tuple(getattr(row, field.attname) for field in type(row)._meta.concrete_fields)


def test_the_records_read_with_the_referral_are_the_rows_the_database_holds(
    referral, therapist_user
):
    """The export reads every kind of record in the referral's one query, as JSON, and makes
    model rows of it again: each column (times, dates, decimals, JSON, encrypted text) is
    what reading the row itself gives."""
    from allocation.models import Allocation, Therapist
    from api.fhir import export
    from intake.models import ConsentRecord, RiskFlag
    from therapy.models import Goal, GoalRating, SessionPlan, TherapySession

    factories.SessionPlanFactory(referral=referral, created_by=therapist_user, version=2)
    read, sight = export.referral_for_export(user=therapist_user, public_id=referral.public_id)
    assert sight.therapy_record

    def same(model, rows, expected) -> None:
        got = export._rows(model, rows)
        assert [_columns(row) for row in got] == [_columns(row) for row in expected]
        assert got, model

    same(
        ConsentRecord,
        read.consents_json,
        ConsentRecord.objects.filter(client=referral.client).order_by("recorded_at", "id"),
    )
    same(
        MeasureResponse,
        read.responses_json,
        MeasureResponse.objects.filter(referral=referral).order_by("completed_at", "id"),
    )
    flags = RiskFlag.objects.filter(referral=referral, acknowledged_at=None)
    same(RiskFlag, read.flags_json, flags.order_by("raised_at", "id"))
    allocation = Allocation.objects.get(referral=referral, status=Allocation.Status.ACTIVE)
    same(Allocation, [read.allocation_json], [allocation])
    same(Therapist, [read.allocation_json["_therapist"]], [allocation.therapist])
    goals = Goal.objects.filter(referral=referral).order_by("agreed_on", "id")
    same(Goal, read.goals_json, goals)
    for goal, row in zip(goals, read.goals_json, strict=True):
        same(GoalRating, row["_ratings"], goal.ratings.order_by("rated_on", "id"))
    same(SessionPlan, [read.plan_json], [SessionPlan.objects.get(referral=referral, version=2)])
    attended = TherapySession.objects.filter(referral=referral, attendance="attended")
    same(TherapySession, read.sessions_json, attended.order_by("occurred_on", "id"))
    assert any(
        isinstance(row.answers, list) for row in export._rows(MeasureResponse, read.responses_json)
    )
