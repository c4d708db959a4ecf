"""The REST API's writes (api/writes.py): a session's attendance, a goal's rating, and a
coordinator's accepting an allocation proposal or putting its referral on hold. Each goes
through the staff page's service and rule, answers field-level 400s and 409s in the one
error shape, honours an Idempotency-Key, and is on the audit trail. Who gets what, for
every kind of account, is tests/common/test_roles_by_view.py."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from allocation import services as allocation_services
from allocation.models import Allocation, Hold, Proposal, ProposalRun
from audit.models import AuditEvent
from common import roles
from intake.api_tokens import api_token_issue
from intake.models import Referral
from tests import factories
from tests.allocation.conftest import make_therapist, make_waiting
from therapy import goals as therapy_goals
from therapy.models import GoalRating, TherapySession

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"status", "code", "detail", "errors"}
TODAY = timezone.localdate


def _post(client, url, body, **headers):
    return client.post(url, body, content_type="application/json", **headers)


@pytest.fixture
def in_therapy(service, therapist_user, coordinator):
    referral = factories.ReferralFactory(client__service=service, status="in_therapy")
    factories.TherapyFactory(referral=referral, therapist=therapist_user, started_by=coordinator)
    return referral


@pytest.fixture
def goal(in_therapy, therapist_user):
    return therapy_goals.goal_add(
        referral=in_therapy,
        user=therapist_user,
        description="To say no without guilt",
        score=2,
        rated_on=TODAY() - dt.timedelta(days=30),
    )


# --- A session's attendance ------------------------------------------------------------------


def _sessions(referral):
    return reverse("api-referral-session-record", args=[referral.public_id])


def test_the_therapist_records_each_kind_of_attendance_as_the_sessions_page_does(
    client, in_therapy, therapist_user
):
    client.force_login(therapist_user)
    answers = []
    for days, attendance in enumerate(
        ["attended", "cancelled_by_service", "cancelled_by_client", "did_not_attend"], start=1
    ):
        answers.append(
            _post(
                client,
                _sessions(in_therapy),
                # oldest first, so the session missed is the latest
                {
                    "occurred_on": str(TODAY() - dt.timedelta(days=5 - days)),
                    "attendance": attendance,
                },
            )
        )

    assert [a.status_code for a in answers] == [201] * 4
    first = answers[0].json()
    assert first["attendance"] == "attended" and first["referral"] == str(in_therapy.public_id)
    assert first["note"] == "" and first["missed_in_a_row"] == 0
    assert answers[-1].json()["missed_in_a_row"] == 1
    rows = TherapySession.objects.filter(referral=in_therapy)
    assert rows.count() == 4 and {r.recorded_by for r in rows} == {therapist_user}
    event = AuditEvent.objects.filter(view="api-referral-session-record").first()
    assert (event.method, event.status, event.user) == ("POST", 201, therapist_user)
    assert event.referral_id == in_therapy.public_id


def test_a_session_with_mistakes_is_a_400_naming_each_field(client, in_therapy, therapist_user):
    client.force_login(therapist_user)
    url = _sessions(in_therapy)

    empty = _post(client, url, {})
    future = _post(
        client,
        url,
        {"occurred_on": str(TODAY() + dt.timedelta(days=1)), "attendance": "went"},
    )
    before = _post(
        client,
        url,
        {"occurred_on": str(TODAY() - dt.timedelta(weeks=20)), "attendance": "attended"},
    )
    key = _post(
        client,
        url,
        {"occurred_on": str(TODAY()), "attendance": "attended"},
        HTTP_IDEMPOTENCY_KEY="x" * 65,
    )

    assert {r.status_code for r in (empty, future, before, key)} == {400}
    assert set(empty.json()["errors"]) == {"occurred_on", "attendance"}
    assert "cannot be in the future" in future.json()["errors"]["occurred_on"][0]
    assert "Say whether the client attended" in future.json()["errors"]["attendance"][0]
    assert "cannot be earlier" in before.json()["errors"]["occurred_on"][0]
    assert "Idempotency-Key" in key.json()["errors"]
    assert all(set(r.json()) == ERROR_KEYS for r in (empty, future, before, key))
    assert not TherapySession.objects.filter(referral=in_therapy).exists()


def test_an_idempotency_key_makes_a_retried_session_safe(client, in_therapy, therapist_user):
    client.force_login(therapist_user)
    url = _sessions(in_therapy)
    body = {"occurred_on": str(TODAY()), "attendance": "did_not_attend", "note": "Rang, no answer"}

    first = _post(client, url, body, HTTP_IDEMPOTENCY_KEY="retry-1")
    again = _post(client, url, body, HTTP_IDEMPOTENCY_KEY="retry-1")
    other = _post(client, url, {**body, "note": "Other"}, HTTP_IDEMPOTENCY_KEY="retry-1")
    unkeyed = _post(client, url, body)

    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json() and first.json()["note"] == "Rang, no answer"
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["errors"]
    assert unkeyed.status_code == 400
    assert "already recorded" in unkeyed.json()["errors"]["occurred_on"][0]
    assert TherapySession.objects.filter(referral=in_therapy).count() == 1


def test_only_the_current_therapist_records_a_session(
    client, service, in_therapy, therapist_user, coordinator, assessor, other_staff
):
    body = {"occurred_on": str(TODAY()), "attendance": "attended"}
    url = _sessions(in_therapy)
    answers = {}
    for name, user in (
        ("coordinator", coordinator),
        ("assessor", assessor),
        ("other_service", other_staff),
        ("other_therapist", factories.UserFactory(service=service, roles=[roles.THERAPIST])),
    ):
        client.force_login(user)
        answers[name] = _post(client, url, body).status_code
    # The therapy ended: the therapist still reads the record, but records nothing more.
    in_therapy.therapies.update(ended_on=TODAY())
    client.force_login(therapist_user)
    answers["former_therapist"] = _post(client, url, body).status_code

    assert answers == {
        "coordinator": 403,
        "assessor": 403,
        "other_service": 404,
        "other_therapist": 404,
        "former_therapist": 403,
    }
    assert not TherapySession.objects.exists()


# --- A goal's rating -------------------------------------------------------------------------


def _ratings(goal):
    return reverse("api-goal-rating-add", args=[goal.public_id])


def test_the_therapist_rates_a_goal_and_a_second_rating_that_day_corrects_it(
    client, goal, therapist_user
):
    client.force_login(therapist_user)

    added = _post(client, _ratings(goal), {"score": 5})
    corrected = _post(client, _ratings(goal), {"score": 6, "rated_on": str(TODAY())})

    assert added.status_code == 201 and corrected.status_code == 200
    scores = [(r["rated_on"], r["score"]) for r in corrected.json()["ratings"]]
    assert scores == [(str(TODAY() - dt.timedelta(days=30)), 2), (str(TODAY()), 6)]
    assert corrected.json()["description"] == "To say no without guilt"
    assert GoalRating.objects.filter(goal=goal).count() == 2
    assert AuditEvent.objects.filter(view="api-goal-rating-add", status=201).exists()


def test_a_rating_with_mistakes_is_a_400_and_a_closed_goal_a_409(client, goal, therapist_user):
    client.force_login(therapist_user)
    url = _ratings(goal)

    high = _post(client, url, {"score": 11})
    early = _post(client, url, {"score": 4, "rated_on": str(TODAY() - dt.timedelta(days=40))})
    future = _post(client, url, {"score": 4, "rated_on": str(TODAY() + dt.timedelta(days=1))})
    therapy_goals.goal_close(goal=goal, user=therapist_user, reason="Reached")
    closed = _post(client, url, {"score": 4})

    assert "10 or less" in high.json()["errors"]["score"][0]
    assert "cannot be rated before then" in early.json()["errors"]["rated_on"][0]
    assert "cannot be in the future" in future.json()["errors"]["rated_on"][0]
    assert closed.status_code == 409 and "no longer being worked on" in closed.json()["detail"]
    assert GoalRating.objects.filter(goal=goal).count() == 1


def test_a_retried_rating_with_its_key_is_answered_once(client, goal, therapist_user):
    client.force_login(therapist_user)

    first = _post(client, _ratings(goal), {"score": 7}, HTTP_IDEMPOTENCY_KEY="r-1")
    again = _post(client, _ratings(goal), {"score": 7}, HTTP_IDEMPOTENCY_KEY="r-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_a_coordinator_reads_goals_but_does_not_rate_them(client, goal, coordinator):
    client.force_login(coordinator)

    response = _post(client, _ratings(goal), {"score": 5})

    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert GoalRating.objects.filter(goal=goal).count() == 1


# --- Allocation proposals --------------------------------------------------------------------


@pytest.fixture
def proposal(service, therapist_user):
    site = factories.SiteFactory(service=service)
    make_therapist(service, [site], [(1, "10:00", site)], user=therapist_user)
    make_waiting(service)
    run = allocation_services.proposal_run_request(service_id=service.pk, trigger="manual")
    allocation_services.proposal_run_execute(run_id=run.public_id)
    found = Proposal.objects.filter(run__public_id=run.public_id).select_related("referral").get()
    assert found.therapist_id is not None
    return found


def _decide(proposal, what):
    return reverse(f"api-proposal-{what}", args=[proposal.public_id])


def test_a_coordinator_accepts_a_proposal_and_a_retry_with_its_key_is_answered_once(
    client, proposal, coordinator
):
    client.force_login(coordinator)

    accepted = _post(client, _decide(proposal, "accept"), {}, HTTP_IDEMPOTENCY_KEY="acc-1")
    replayed = _post(client, _decide(proposal, "accept"), {}, HTTP_IDEMPOTENCY_KEY="acc-1")
    unkeyed = _post(client, _decide(proposal, "accept"), {})

    assert accepted.status_code == 201 and replayed.status_code == 200
    assert replayed.json()["id"] == accepted.json()["id"]
    assert accepted.json()["referral"] == str(proposal.referral.public_id)
    assert unkeyed.status_code == 409 and "already decided" in unkeyed.json()["detail"]
    assert Allocation.objects.filter(referral=proposal.referral).count() == 1
    proposal.refresh_from_db()
    assert proposal.decision == "accepted" and proposal.decided_by == coordinator
    event = AuditEvent.objects.get(view="api-proposal-accept", status=201)
    assert (event.object_type, event.object_id) == ("proposal", str(proposal.public_id))


def test_a_coordinator_puts_a_proposals_referral_on_hold_with_a_reason(
    client, proposal, coordinator
):
    client.force_login(coordinator)

    empty = _post(client, _decide(proposal, "hold"), {"reason": " "})
    declined = _post(client, _decide(proposal, "hold"), {"reason": "Away until March"})
    again = _post(client, _decide(proposal, "hold"), {"reason": "Away until March"})
    accept = _post(client, _decide(proposal, "accept"), {})

    assert empty.status_code == 400 and "Say why" in empty.json()["errors"]["reason"][0]
    assert declined.status_code == 200 and declined.json()["decision"] == "held"
    assert again.status_code == 409 and "already decided" in again.json()["detail"]
    assert accept.status_code == 409
    hold = Hold.objects.get(referral=proposal.referral)
    assert hold.reason == "Away until March" and hold.held_by == coordinator
    assert not Allocation.objects.exists()


def test_a_proposal_from_an_earlier_set_is_not_put_on_hold(client, service, proposal, coordinator):
    newer = allocation_services.proposal_run_request(service_id=service.pk, trigger="manual")
    allocation_services.proposal_run_execute(run_id=newer.public_id)
    assert ProposalRun.objects.filter(service=service, status="done").count() == 2
    client.force_login(coordinator)

    response = _post(client, _decide(proposal, "hold"), {"reason": "Away"})

    assert response.status_code == 409 and "earlier proposal set" in response.json()["detail"]
    assert not Hold.objects.exists()


def test_a_coordinator_role_integration_accepts_with_its_token(client, service, proposal):
    system = factories.UserFactory(
        username="allocation-system", service=service, roles=[roles.COORDINATOR]
    )
    system.is_integration = True
    system.save()
    key = api_token_issue(user=system, name="Allocation tool").key

    response = _post(client, _decide(proposal, "accept"), {}, HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 201
    assert Referral.objects.get(pk=proposal.referral_id).status == "allocated"


@pytest.mark.parametrize("who", ["therapist_user", "service_admin", "assessor", "other_staff"])
def test_only_the_services_coordinators_decide_proposals(client, request, proposal, who):
    client.force_login(request.getfixturevalue(who))
    expected = 404 if who == "other_staff" else 403

    accept = _post(client, _decide(proposal, "accept"), {})
    decline = _post(client, _decide(proposal, "hold"), {"reason": "Away"})

    assert (accept.status_code, decline.status_code) == (expected, expected)
    proposal.refresh_from_db()
    assert proposal.decision == "open"


# --- The schema ------------------------------------------------------------------------------


def test_every_write_declares_every_status_it_answers_each_error_in_the_one_shape(tmp_path):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    writes = {
        "/api/v1/referrals/{id}/sessions/": {"200", "201"},
        "/api/v1/goals/{id}/ratings/": {"200", "201"},
        "/api/v1/proposals/{id}/accept/": {"200", "201"},
        "/api/v1/proposals/{id}/hold/": {"200"},
        "/api/v1/risk-flags/{id}/acknowledge/": {"200"},
    }
    for path_name, ok in writes.items():
        post = schema["paths"][path_name]["post"]
        errors = {"400", "401", "403", "404", "409", "429"}
        if path_name != "/api/v1/risk-flags/{id}/acknowledge/":
            errors.add("415")  # JSON only
            assert set(post["requestBody"]["content"]) == {"application/json"}
        assert set(post["responses"]) == ok | errors
        for status, answer in post["responses"].items():
            if status >= "400":
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (path_name, status)
        if path_name != "/api/v1/risk-flags/{id}/acknowledge/":
            names = {p["name"] for p in post["parameters"]}
            assert "Idempotency-Key" in names, path_name


def test_stored_idempotency_keys_are_deleted_after_their_retry_window(
    client, settings, proposal, coordinator
):
    """A key is kept only as long as a retry could come: the retention schedule deletes it
    RETENTION_API_IDEMPOTENCY_DAYS after the write, and a newer one stays."""
    from datetime import timedelta

    from django.utils import timezone

    from api.models import IdempotentWrite
    from common.retention import retention_run

    client.force_login(coordinator)
    url = _decide(proposal, "hold")
    _post(client, url, {"reason": "Away"}, HTTP_IDEMPOTENCY_KEY="kept-for-retries")
    assert retention_run()["api.idempotency_keys"] == 0
    written = IdempotentWrite.objects.get()
    IdempotentWrite.objects.filter(pk=written.pk).update(
        created_at=timezone.now() - timedelta(days=settings.RETENTION_API_IDEMPOTENCY_DAYS + 1)
    )

    assert retention_run()["api.idempotency_keys"] == 1
    assert not IdempotentWrite.objects.exists()
