"""Schemathesis fuzzes the partner API from its own schema (/api/schema/), as each kind of
caller: a partner's token, a staff member's session (the API accepts sessions, but only
partner accounts may send referrals) and nobody. Every check schemathesis has runs on every
answer: no 5xx, and every status, header, content type and body the schema documents.

Bounded and repeatable: a fixed number of examples per caller, derandomised.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
import yaml
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from intake.api_tokens import api_token_issue

load_all_checks()
ALL_CHECKS = CHECKS.get_all()
# Every check but one: "schema-valid data is accepted". The server checks what no schema
# can say (an NHS number's check digit, an age within the service's range as of today, a
# real postcode or phone number, an answer within each questionnaire item's options, a
# gender preference with its strength), so schema-valid data is rightly refused at times.
# What a schema can say, it says: test_the_schema_shows_the_server_s_constraints.
# A caller who may not send referrals is refused whatever it sends, by design.
CHECKS_RUN = [c for c in ALL_CHECKS if c.__name__ != "positive_data_acceptance"]

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _served_schema() -> dict:
    """The document /api/schema/ serves (test_the_fuzzed_schema_is_the_served_one checks it),
    built without a request: schemathesis parametrizes at collection, before any database."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


served = schemathesis.openapi.from_dict(_served_schema())
served.app = get_wsgi_application()
# The partner's operation here; the REST API's reads are fuzzed as staff below.
schema = served.include(method="POST", path="/api/v1/referrals/")
reads = served.include(method="GET", path_regex=r"^/api/v1/(?!fhir)")


@pytest.fixture(autouse=True)
def _wsgi_calls(db, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]  # schemathesis' WSGI host
    # As Django's test client does: the test's transaction outlives each request.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_the_fuzzed_schema_is_the_served_one(client):
    served = yaml.safe_load(client.get("/api/schema/", HTTP_ACCEPT="application/json").content)
    assert served == _served_schema()


# Pages and answers go out gzip-compressed to a caller that accepts it (GZipMiddleware);
# schemathesis' WSGI transport asks for gzip but does not unpack it, as an HTTP client would.
PLAIN = {"Accept-Encoding": "identity"}


@pytest.fixture
def partner_key(partner):
    return api_token_issue(user=partner, name="Fuzzing").key


@pytest.fixture
def staff_session(coordinator, settings):
    client = Client()
    client.force_login(coordinator)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


@schema.parametrize()
@FUZZ
def test_a_partner_gets_only_documented_answers(case, partner_key):
    case.call_and_validate(
        headers={"Authorization": f"Token {partner_key}", **PLAIN}, checks=CHECKS_RUN
    )


@schema.parametrize()
@FUZZ
def test_a_staff_session_gets_only_documented_answers(case, staff_session):
    case.cookies = {**(case.cookies or {}), **staff_session}
    response = case.call_and_validate(headers=PLAIN, checks=CHECKS_RUN)
    # Signed in, but not a partner account: 403. The address's GET is the referral list,
    # which staff may read (200, and its OPTIONS); another method is a 405, or a 403 without
    # the CSRF token.
    reads = {"GET": {200}, "HEAD": {200}, "OPTIONS": {200}}
    allowed = {"POST": {403}, **reads}.get(case.method, {403, 405})
    assert response.status_code in allowed, (case.method, response.status_code)


@schema.parametrize()
@FUZZ
def test_an_anonymous_caller_gets_only_documented_answers(case):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.cookies = {}
    response = case.call_and_validate(headers=PLAIN, checks=CHECKS_RUN)
    assert response.status_code == 401


# Less two: "invalid authentication is refused" (the session cookie stays valid when the check
# spoils the Authorization header; anonymous callers are fuzzed above), and "schema-violating
# requests are refused": an empty filter (?referral=) means no filter, django-filter's
# convention, though the schema's format for a filled one is a UUID.
READ_CHECKS = [
    c for c in CHECKS_RUN if c.__name__ not in ("ignored_auth", "negative_data_rejection")
]


@pytest.fixture
def all_roles_session(service, settings):
    from common import roles
    from tests import factories

    member = factories.UserFactory(service=service, roles=list(roles.STAFF))
    client = Client()
    client.force_login(member)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


@reads.parametrize()
@FUZZ
def test_staff_reading_any_resource_get_only_documented_answers(case, all_roles_session):
    """Any filter, ordering, cursor or id the schema allows (and what it does not): never a
    5xx, and every answer is one the schema documents, in the shape it gives."""
    case.cookies = {**(case.cookies or {}), **all_roles_session}
    case.call_and_validate(headers=PLAIN, checks=READ_CHECKS)


def test_the_schema_shows_the_server_s_constraints():
    document = _served_schema()
    parts = document["components"]["schemas"]
    referral = parts["ReferralInput"]["properties"]
    for name in ("given_name", "family_name"):
        assert referral[name]["minLength"] == 1 and referral[name]["pattern"] == r"\S"
    for name in ("wording", "wording_version"):
        assert parts["ConsentInput"]["properties"][name]["minLength"] == 1
    for listed in (
        referral["difficulty_areas"],
        referral["current_services"],
        parts["PreferencesInput"]["properties"]["availability"],
    ):
        assert listed["uniqueItems"] is True and listed["maxItems"] >= 1
    answers = parts["QuestionnaireInput"]["properties"]["answers"]
    assert answers["minItems"] == 5 and answers["maxItems"] == 20  # WSAS has 5 items
    assert answers["items"]["oneOf"][0] == {"type": "integer", "minimum": 0, "maximum": 8}
    key = next(
        p
        for p in document["paths"]["/api/v1/referrals/"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    )
    assert key["schema"]["maxLength"] == 64 and "pattern" in key["schema"]
    assert "Referral" in parts and "Output" not in parts


def test_the_schema_documents_both_ways_to_authenticate():
    """A staff session (past the two-factor code step) and a partner's token: a schema that
    lists only the token tells a client the Authorization header is always required."""
    document = _served_schema()
    assert set(document["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}
    operation = document["paths"]["/api/v1/referrals/"]["post"]
    assert {"cookieAuth": []} in operation["security"]


# --- The REST API's writes (api/writes.py) ---------------------------------------------------
# Fuzzed as a member of staff holding every role, with a token (a session would need its CSRF
# token), on real records: the client's current therapist, and a coordinator with an open
# proposal, so bodies reach the services (a made-up id would stop every call at its 404).
writes = served.include(
    method="POST",
    path_regex=r"^/api/v1/(referrals/\{id\}/sessions|goals/\{id\}/ratings|proposals/\{id\}/(accept|hold))/$",
)
WRITE_CHECKS = [c for c in CHECKS_RUN if c.__name__ != "ignored_auth"]
FUZZ_WRITES = settings(FUZZ, max_examples=30)


@pytest.fixture
def writer(service):
    import datetime as dt

    from django.utils import timezone

    from allocation import services as allocation_services
    from allocation.models import Proposal
    from common import roles
    from tests import factories
    from tests.allocation.conftest import make_therapist, make_waiting
    from therapy import goals as therapy_goals

    member = factories.UserFactory(service=service, roles=list(roles.STAFF))
    referral = factories.ReferralFactory(client__service=service, status="in_therapy")
    factories.TherapyFactory(referral=referral, therapist=member)
    goal = therapy_goals.goal_add(
        referral=referral,
        user=member,
        description="A goal",
        score=2,
        rated_on=timezone.localdate() - dt.timedelta(days=60),
    )
    site = factories.SiteFactory(service=service)
    make_therapist(service, [site], [(1, "10:00", site)], user=member)
    make_waiting(service)
    run = allocation_services.proposal_run_request(service_id=service.pk, trigger="manual")
    allocation_services.proposal_run_execute(run_id=run.public_id)
    proposal = Proposal.objects.get(run__public_id=run.public_id)
    ids = {
        "/api/v1/referrals/{id}/sessions/": referral.public_id,
        "/api/v1/goals/{id}/ratings/": goal.public_id,
        "/api/v1/proposals/{id}/accept/": proposal.public_id,
        "/api/v1/proposals/{id}/hold/": proposal.public_id,
    }
    return api_token_issue(user=member, name="Fuzzing writes").key, ids


@writes.parametrize()
@FUZZ_WRITES
def test_staff_writing_get_only_documented_answers(case, writer):
    """Any body, key and header the schema allows (and what it does not): never a 5xx, and
    every answer one the schema documents."""
    key, ids = writer
    case.path_parameters = {**(case.path_parameters or {}), "id": str(ids[case.path])}
    case.call_and_validate(headers={"Authorization": f"Token {key}", **PLAIN}, checks=WRITE_CHECKS)
