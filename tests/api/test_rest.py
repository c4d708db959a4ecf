"""The REST API (api/): every resource's list and record, scoped by service and role, cursor
pages, filters and ordering, one error shape, and a documented schema. Who may call which
endpoint, for every kind of account, is tests/common/test_roles_by_view.py."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from allocation.models import Allocation, Proposal, ProposalRun
from common import encryption, roles
from intake.api_tokens import api_token_issue
from intake.models import MeasureResponse, Referral, RiskFlag
from notifications.outbox import notification_queue
from tests import factories
from tests.notifications.people import make_referral
from therapy import goals as therapy_goals
from therapy.models import TherapySession

pytestmark = pytest.mark.django_db

LISTS = [
    "api-referrals",
    "api-client-list",
    "api-assessment-list",
    "api-questionnaire-response-list",
    "api-risk-flag-list",
    "api-goal-list",
    "api-session-plan-list",
    "api-session-list",
    "api-therapist-list",
    "api-slot-list",
    "api-proposal-list",
    "api-allocation-list",
    "api-notification-list",
]
ERROR_KEYS = {"status", "code", "detail", "errors"}


def _ids(response) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


# --- The schema ------------------------------------------------------------------------------


@pytest.fixture
def schema(tmp_path) -> dict:
    """The schema as `manage.py spectacular --validate --fail-on-warn` writes it: a warning
    or an invalid schema fails the command, so this fixture."""
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_the_schema_validates_with_no_warnings(schema):
    assert "/api/v1/risk-flags/{id}/" in schema["paths"]
    assert set(schema["components"]["schemas"]["Error"]["required"]) == ERROR_KEYS


def test_every_read_declares_every_status_it_answers_each_an_error_in_the_one_shape(schema):
    missing = []
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/") or "fhir" in path.lower():
            continue
        get = operations.get("get")
        if get is None:
            continue
        statuses = {"200", "401", "403", "404", "429"} | (set() if "{id}" in path else {"400"})
        if statuses - set(get["responses"]):
            missing.append(f"{path}: {sorted(statuses - set(get['responses']))}")
        for status, answer in get["responses"].items():
            if status >= "400":
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (path, status)
    assert not missing, missing


def test_the_docs_page_renders_the_schema(client, settings):
    settings.API_DOCS_PUBLIC = True

    docs = client.get(reverse("api-docs"))
    schema = client.get(reverse("api-schema"))

    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert schema.status_code == 200 and b"/api/v1/goals/" in schema.content


# --- Scoping ---------------------------------------------------------------------------------


def test_another_services_record_answers_exactly_as_a_made_up_id(
    client, coordinator, other_service
):
    ours = factories.ReferralFactory(client__service=coordinator.service)
    theirs = factories.ReferralFactory(client__service=other_service)
    client.force_login(coordinator)

    other = client.get(reverse("api-referral-detail", args=[theirs.public_id]))
    made_up = client.get(reverse("api-referral-detail", args=[uuid.uuid4()]))
    listing = client.get(reverse("api-referrals"))

    assert other.status_code == made_up.status_code == 404
    assert other.json() == made_up.json()
    assert other.json()["code"] == "not_found" and theirs.reference not in other.content.decode()
    assert _ids(listing) == [str(ours.public_id)]
    client_of_theirs = client.get(reverse("api-client-detail", args=[theirs.client.public_id]))
    assert client_of_theirs.status_code == 404


def test_an_assessor_lists_only_the_referrals_they_open(client, service, assessor):
    waiting = factories.ReferralFactory(client__service=service, status=Referral.Status.SUBMITTED)
    factories.ReferralFactory(client__service=service, status=Referral.Status.IN_THERAPY)
    client.force_login(assessor)

    response = client.get(reverse("api-referrals"))

    assert _ids(response) == [str(waiting.public_id)]


def test_a_therapist_reads_only_their_own_clients_therapy_record(
    client, service, therapist_user, coordinator
):
    own = factories.TherapyFactory(
        referral__client__service=service, therapist=therapist_user, started_by=coordinator
    )
    someone_elses = factories.TherapyFactory(referral__client__service=service)
    for therapy in (own, someone_elses):
        therapy_goals.goal_add(
            referral=therapy.referral,
            user=therapy.therapist,
            description="Sleep through the night",
            score=2,
            rated_on=timezone.localdate(),
        )
    client.force_login(therapist_user)

    goals = client.get(reverse("api-goal-list")).json()["results"]

    assert [goal["referral"] for goal in goals] == [str(own.referral.public_id)]
    assert goals[0]["description"] == "Sleep through the night"
    assert goals[0]["ratings"] == [{"score": 2, "rated_on": timezone.localdate().isoformat()}]
    other_goal = someone_elses.referral.goals.get()
    assert client.get(reverse("api-goal-detail", args=[other_goal.public_id])).status_code == 404


def test_a_coordinator_reads_that_goals_are_agreed_not_their_words(
    client, service, coordinator, therapist_user
):
    therapy = factories.TherapyFactory(
        referral__client__service=service, therapist=therapist_user, started_by=coordinator
    )
    therapy_goals.goal_add(
        referral=therapy.referral,
        user=therapist_user,
        description="Speak up at work",
        score=4,
        rated_on=timezone.localdate(),
    )
    client.force_login(coordinator)

    [goal] = client.get(reverse("api-goal-list")).json()["results"]

    assert goal["description"] is None and goal["ratings"][0]["score"] == 4
    assert "Speak up" not in client.get(reverse("api-goal-list")).content.decode()


def test_what_raised_a_risk_flag_is_for_clinicians_only(client, service, assessor, coordinator):
    referral = factories.ReferralFactory(client__service=service)
    factories.RiskFlagFactory(referral=referral, detail="Said they had a plan")

    client.force_login(coordinator)
    [for_coordinator] = client.get(reverse("api-risk-flag-list")).json()["results"]
    client.force_login(assessor)
    [for_assessor] = client.get(reverse("api-risk-flag-list")).json()["results"]

    assert for_coordinator["is_open"] is True and for_coordinator["detail"] is None
    assert for_assessor["detail"] == "Said they had a plan"


def test_an_integration_token_reads_as_its_accounts_role_and_service(
    client, service, other_service
):
    ours = factories.ReferralFactory(client__service=service)
    factories.ReferralFactory(client__service=other_service)
    reader = factories.UserFactory(
        username="case-system", service=service, roles=[roles.COORDINATOR]
    )
    key = api_token_issue(user=reader, name="Case management system").key

    response = client.get(reverse("api-referrals"), HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200 and _ids(response) == [str(ours.public_id)]


def test_a_revoked_token_is_a_401_in_the_error_shape(client, service):
    reader = factories.UserFactory(service=service, roles=[roles.COORDINATOR])
    issued = api_token_issue(user=reader, name="Case management system")
    issued.token.revoked_at = timezone.now()
    issued.token.save(update_fields=["revoked_at"])

    response = client.get(reverse("api-referrals"), HTTP_AUTHORIZATION=f"Token {issued.key}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert set(response.json()) == ERROR_KEYS and response.json()["code"] == "authentication_failed"


def test_a_partner_token_reads_nothing(client, service):
    factories.ReferralFactory(client__service=service)
    partner = factories.UserFactory(service=service, roles=[roles.PARTNER_REFERRER])
    key = api_token_issue(user=partner, name="Practice system").key

    response = client.get(reverse("api-referrals"), HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


# --- Errors, filters, ordering and pages -------------------------------------------------------


def test_nobody_signed_in_gets_a_401_naming_the_scheme(client):
    response = client.get(reverse("api-risk-flag-list"))

    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_a_filter_value_that_is_not_valid_is_a_field_level_400(client, coordinator):
    client.force_login(coordinator)

    response = client.get(reverse("api-referrals"), {"status": "lost", "received_after": "soon"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["status"] == 400
    assert "lost" in body["errors"]["status"][0]
    assert body["errors"]["received_after"]


@pytest.mark.parametrize(
    ("value", "answer"),
    [
        # An offset Python reads but PostgreSQL does not (it stops at 15:59): the same moment.
        ("3999-02-17T01:30:41+20:24", 200),
        ("2026-01-01T00:00:00-18:00", 200),
        # A moment before the calendar starts once moved to UTC: no such date.
        ("0001-01-01T00:00:00+10:00", 400),
    ],
)
def test_a_date_filter_with_any_offset_is_answered_never_a_500(
    client, service, coordinator, value, answer
):
    factories.ReferralFactory(client__service=service)
    client.force_login(coordinator)

    response = client.get(reverse("api-referrals"), {"received_before": value})

    assert response.status_code == answer
    if answer == 400:
        assert "received_before" in response.json()["errors"]


def test_filters_narrow_the_list(client, service, coordinator):
    submitted = factories.ReferralFactory(client__service=service, status="submitted")
    factories.ReferralFactory(client__service=service, status="in_therapy")
    client.force_login(coordinator)

    response = client.get(reverse("api-referrals"), {"status": "submitted"})

    assert _ids(response) == [str(submitted.public_id)]


def test_ordering_only_on_an_indexed_field(client, coordinator):
    client.force_login(coordinator)

    refused = client.get(reverse("api-referrals"), {"ordering": "reference"})
    none_here = client.get(reverse("api-goal-list"), {"ordering": "created_at"})

    assert refused.status_code == 400
    assert "received_at" in refused.json()["errors"]["ordering"][0]
    assert (
        none_here.status_code == 400 and "no ordering" in none_here.json()["errors"]["ordering"][0]
    )


def test_a_cursor_this_list_never_gave_is_a_404_in_the_error_shape(client, coordinator):
    client.force_login(coordinator)

    response = client.get(reverse("api-referrals"), {"cursor": "made-up"})

    assert response.status_code == 404 and "cursor" in response.json()["detail"]


def test_cursor_pages_walk_every_referral_once_in_order(client, service, coordinator):
    start = timezone.now() - dt.timedelta(days=30)
    made = [
        factories.ReferralFactory(client__service=service, received_at=start + dt.timedelta(days=i))
        for i in range(7)
    ]
    client.force_login(coordinator)

    seen, url = [], reverse("api-referrals") + "?page_size=3&ordering=received_at"
    while url:
        body = client.get(url).json()
        seen.extend(row["id"] for row in body["results"])
        url = body["next"]

    assert seen == [str(r.public_id) for r in made]


# --- Constant queries whatever the page size --------------------------------------------------

ROWS = 7


@pytest.fixture
def everything(service):
    """ROWS of every resource, all readable by one member holding every staff role, who is
    also the clients' therapist (so the therapy record's words are theirs to read)."""
    user = factories.UserFactory(username="all-roles", service=service, roles=list(roles.STAFF))
    run = ProposalRun.objects.create(service=service, trigger=ProposalRun.Trigger.COORDINATOR)
    for i in range(ROWS):
        referral = make_referral(service, agreed=("email",), preferred="email")
        Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.IN_THERAPY)
        therapy = factories.TherapyFactory(referral=referral, therapist=user, started_by=user)
        factories.SessionPlanFactory(referral=referral, created_by=user)
        therapy_goals.goal_add(
            referral=referral,
            user=user,
            description=f"Goal {i}",
            score=3,
            rated_on=timezone.localdate(),
        )
        TherapySession.objects.create(
            service=service,
            referral=referral,
            therapy=therapy,
            occurred_on=timezone.localdate() - dt.timedelta(days=1),
            attendance=TherapySession.Attendance.ATTENDED,
            recorded_by=user,
        )
        factories.RiskFlagFactory(referral=referral, severity=i)
        MeasureResponse.objects.create(
            referral=referral,
            measure="phq9",
            context=MeasureResponse.Context.SELF_REFERRAL,
            answers=[1] * 9,
            total=9,
            band="mild",
            completed_at=timezone.now(),
        )
        factories.FinishedAssessmentFactory(referral=referral, assessor=user, finished_by=user)
        profile = factories.TherapistFactory(service=service)
        slot = factories.WeeklySlotFactory(therapist=profile, weekday=i % 7)
        factories.WeeklySlotFactory(therapist=profile, weekday=(i + 1) % 7)
        Proposal.objects.create(
            service=service, run=run, referral=referral, therapist=profile, slots=[slot.pk]
        )
        Allocation.objects.create(
            service=service,
            referral=referral,
            therapist=profile,
            status=Allocation.Status.ENDED,
            source=Allocation.Source.RECORDED,
            first_appointment_at=timezone.now(),
            allocated_by=user,
            allocated_at=timezone.now(),
            ended_at=timezone.now(),
        )
        notification_queue(kind="acknowledgement", referral=referral)
    return user


def _queries(client, url, size) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": size})
    assert response.status_code == 200, response.content
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize("name", LISTS)
def test_a_page_costs_the_same_queries_whatever_its_size(client, everything, name):
    client.force_login(everything)
    url = reverse(name)
    _queries(client, url, 1)  # the session and its user, read once per request anyway

    small, small_rows = _queries(client, url, 5)
    large, large_rows = _queries(client, url, 50)

    assert small_rows == 5 and large_rows >= ROWS, (small_rows, large_rows)
    assert small == large, f"{name}: {small} queries for 5 rows, {large} for {large_rows}"
    assert RiskFlag.objects.count() >= ROWS


# The lists whose rows a service holds a few of whatever its size (its therapists and their
# weekly slots): sorting them costs nothing, so no index is kept for their order.
SMALL_LISTS = {"api-therapist-list", "api-slot-list"}


def _page_query(queries, table: str) -> str:
    """The query that read the page's rows: the list's table, ordered, limited."""
    (sql,) = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"] and "LIMIT" in q["sql"]
    ]
    return sql


@pytest.mark.parametrize("name", sorted(set(LISTS) - SMALL_LISTS))
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "deep cursor"])
def test_a_page_is_read_in_the_lists_order_from_an_index_without_sorting(
    client, everything, name, deep
):
    """At 50,000 referrals a sort of the service's rows is most of a page's time
    (benchmarks/RESULTS.md): each list's order is an index's, the first page's and a deep
    cursor's alike. With sorting priced out, a plan that still sorts has no index to use."""
    client.force_login(everything)
    url = reverse(name) + "?page_size=2"
    if deep:
        url = client.get(url).json()["next"]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200 and response.json()["results"]
    view = response.renderer_context["view"]
    sql = _page_query(queries.captured_queries, view.get_queryset().model._meta.db_table)

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Sort" not in plan, f"{name}: the page is sorted, no index serves its order\n{plan}"


def _shown(serializer) -> set[str]:
    return {field.source.split(".")[0] for field in serializer.fields.values()}


@pytest.mark.parametrize("name", LISTS)
def test_a_list_reads_no_encrypted_text_it_does_not_answer_with(client, everything, name):
    """Each encrypted column read is decrypted, row by row: a page reads only those it
    shows (the list's own, and none of the linked referral's clinical text)."""
    client.force_login(everything)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(name), {"page_size": 50})
    assert response.status_code == 200 and response.json()["results"]
    view = response.renderer_context["view"]
    model = view.get_queryset().model
    shown = _shown(view.get_serializer())
    unshown = {
        _column(model, field)
        for field in encryption.encrypted_field_names(model)
        if field not in shown
    }
    unshown |= {_column(Referral, field) for field in encryption.encrypted_field_names(Referral)}
    read = "\n".join(q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT"))

    assert sorted(column for column in unshown if column in read) == []


def _column(model, field: str) -> str:
    return f'"{model._meta.db_table}"."{model._meta.get_field(field).column}"'


def test_a_page_size_out_of_range_is_a_400_saying_the_range(client, coordinator):
    client.force_login(coordinator)

    for size in ("0", "101", "ten"):
        response = client.get(reverse("api-referrals"), {"page_size": size})
        assert response.status_code == 400
        assert "1 to 100" in response.json()["errors"]["page_size"][0]


# --- Writes ----------------------------------------------------------------------------------


def test_a_clinician_acknowledges_a_risk_flag_saying_what_was_done(client, service, assessor):
    flag = factories.RiskFlagFactory(referral__client__service=service)
    client.force_login(assessor)
    url = reverse("api-risk-flag-acknowledge", args=[flag.public_id])

    empty = client.post(url, {"action_taken": "  "}, content_type="application/json")
    done = client.post(url, {"action_taken": "Called the client"}, content_type="application/json")
    again = client.post(url, {"action_taken": "Called again"}, content_type="application/json")

    assert empty.status_code == 400 and "what was done" in empty.json()["errors"]["action_taken"][0]
    assert done.status_code == 200 and done.json()["is_open"] is False
    assert done.json()["action_taken"] == "Called the client"
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    flag.refresh_from_db()
    assert flag.acknowledged_by == assessor and flag.action_taken == "Called the client"


def test_a_coordinator_cannot_acknowledge_and_another_service_gets_a_404(
    client, service, coordinator, other_staff
):
    flag = factories.RiskFlagFactory(referral__client__service=service)
    url = reverse("api-risk-flag-acknowledge", args=[flag.public_id])
    body = {"action_taken": "Closed"}

    client.force_login(coordinator)
    refused = client.post(url, body, content_type="application/json")
    client.force_login(other_staff)
    elsewhere = client.post(url, body, content_type="application/json")

    assert refused.status_code == 403 and elsewhere.status_code == 404
    flag.refresh_from_db()
    assert flag.acknowledged_at is None


def test_a_record_ignores_the_lists_query_parameters(client, service, coordinator):
    referral = factories.ReferralFactory(client__service=service, status="submitted")
    client.force_login(coordinator)

    response = client.get(
        reverse("api-referral-detail", args=[referral.public_id]),
        {"status": "lost", "ordering": "reference"},
    )

    assert response.status_code == 200 and response.json()["id"] == str(referral.public_id)


# --- What a list answers, pinned --------------------------------------------------------------
# Each row as a client of the API reads it, spelt out from the database rows (not from the
# serializers): a faster way of writing a page must answer exactly this.


def _instant(value) -> str:
    """A timestamp as the API writes one: the service's local time, ISO 8601, UTC as Z."""
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _pinned(client, user, name) -> list[dict]:
    client.force_login(user)
    body = client.get(reverse(name), {"page_size": 50}).json()
    assert list(body) == ["next", "previous", "results"] and body["next"] is None
    return body["results"]


def test_the_session_plan_list_answers_each_plan_as_pinned(client, everything, coordinator):
    from therapy.models import SessionPlan

    plans = SessionPlan.objects.select_related("referral").order_by("-created_at", "-id")
    expected = [
        {
            "id": str(plan.public_id),
            "referral": str(plan.referral.public_id),
            "version": plan.version,
            "length": plan.length,
            "session_count": plan.session_count,
            "sessions_per_week": plan.sessions_per_week,
            "regular_times": plan.regular_times,
            "mode": plan.mode,
            "room": plan.room,
            "starts_on": plan.starts_on.isoformat(),
            "ends_on": plan.ends_on.isoformat() if plan.ends_on else None,
            "review_dates": plan.review_dates,
            "breaks": plan.breaks,
            "measures_every_sessions": plan.measures_every_sessions,
            "repeat_measures": plan.repeat_measures,
            "created_at": _instant(plan.created_at),
        }
        for plan in plans
    ]
    SessionPlan.objects.filter(pk=plans[0].pk).update(
        length="open_ended", ends_on=None, session_count=None, room="Room 4"
    )
    expected[0] |= {"length": "open_ended", "ends_on": None, "session_count": None}
    expected[0] |= {"room": "Room 4"}

    for user in (everything, coordinator):
        rows = _pinned(client, user, "api-session-plan-list")
        assert rows == expected and [list(row) for row in rows] == [list(expected[0])] * ROWS


def test_the_session_list_answers_each_session_as_pinned(client, everything, coordinator):
    sessions = list(TherapySession.objects.select_related("referral").order_by("-created_at"))
    TherapySession.objects.filter(pk=sessions[0].pk).update(note="Spoke of the move")

    def expected(own: bool) -> list[dict]:
        return [
            {
                "id": str(session.public_id),
                "referral": str(session.referral.public_id),
                "occurred_on": session.occurred_on.isoformat(),
                "attendance": session.attendance,
                "note": ("Spoke of the move" if i == 0 else "") if own else None,
            }
            for i, session in enumerate(sessions)
        ]

    # The note is the client's therapist's alone: null for a coordinator.
    assert _pinned(client, everything, "api-session-list") == expected(own=True)
    assert _pinned(client, coordinator, "api-session-list") == expected(own=False)
    keys = [list(row) for row in _pinned(client, coordinator, "api-session-list")]
    assert keys == [["id", "referral", "occurred_on", "attendance", "note"]] * ROWS


def test_the_therapist_list_answers_each_profile_with_its_slots_as_pinned(
    client, everything, coordinator
):
    from allocation.models import Therapist

    therapists = list(Therapist.objects.order_by("-created_at", "-id"))
    late = factories.WeeklySlotFactory(
        therapist=therapists[0], weekday=0, start=dt.time(8, 30), length_minutes=90
    )
    Therapist.objects.filter(pk=therapists[1].pk).update(
        languages=["English", "Polski"], frequencies=[1, 2], offers_remote=False
    )
    for therapist in therapists:
        therapist.refresh_from_db()
    expected = [
        {
            "id": str(therapist.public_id),
            "display_name": therapist.display_name,
            "gender": therapist.gender,
            "languages": therapist.languages,
            "modalities": therapist.modalities,
            "frequencies": therapist.frequencies,
            "offers_remote": therapist.offers_remote,
            "capacity": therapist.capacity,
            "slots": [
                {
                    "id": str(slot.public_id),
                    "weekday": slot.weekday,
                    "start": slot.start.isoformat(),
                    "length_minutes": slot.length_minutes,
                }
                for slot in therapist.slots.order_by("weekday", "start")
            ],
        }
        for therapist in therapists
    ]

    rows = _pinned(client, coordinator, "api-therapist-list")

    assert rows == expected
    assert rows[0]["slots"][0] == {
        "id": str(late.public_id),
        "weekday": 0,
        "start": "08:30:00",
        "length_minutes": 90,
    }
    assert [len(row["slots"]) for row in rows] == [3] + [2] * (len(rows) - 1)
    record = client.get(reverse("api-therapist-detail", args=[therapists[0].public_id])).json()
    assert record == expected[0]


def test_the_goal_list_answers_each_goal_with_its_ratings_as_pinned(
    client, everything, coordinator
):
    from therapy.models import Goal, GoalRating

    goals = list(Goal.objects.select_related("referral").order_by("-created_at", "-id"))
    today = timezone.localdate()
    for days in (14, 7):  # rated before the first rating: listed first
        GoalRating.objects.create(
            goal=goals[0],
            score=days // 7,
            rated_on=today - dt.timedelta(days=days),
            recorded_by=everything,
        )

    def expected(own: bool) -> list[dict]:
        return [
            {
                "id": str(goal.public_id),
                "referral": str(goal.referral.public_id),
                "status": goal.status,
                "agreed_on": goal.agreed_on.isoformat(),
                "closed_on": goal.closed_on.isoformat() if goal.closed_on else None,
                "description": goal.description if own else None,
                "close_reason": goal.close_reason if own else None,
                "ratings": [
                    {"score": rating.score, "rated_on": rating.rated_on.isoformat()}
                    for rating in goal.ratings.order_by("rated_on", "id")
                ],
            }
            for goal in goals
        ]

    assert _pinned(client, everything, "api-goal-list") == expected(own=True)
    rows = _pinned(client, coordinator, "api-goal-list")
    assert rows == expected(own=False) and [r["score"] for r in rows[0]["ratings"]] == [2, 1, 3]
    record = client.get(reverse("api-goal-detail", args=[goals[0].public_id])).json()
    assert record == expected(own=False)[0]
