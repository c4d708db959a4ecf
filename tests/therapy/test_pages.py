"""A therapy page about one client reads it in a fixed number of queries, however long the
client's record: 30 sessions, goals, ratings, questionnaires and plan versions cost no
more queries than 3."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from intake.models import MeasureResponse
from tests import factories
from tests.therapy.conftest import current_therapy
from therapy.models import Goal, GoalRating, SessionPlan, TherapySession

pytestmark = pytest.mark.django_db


def _grow(referral, therapist):
    """A function adding n of each kind of row to the client's record."""
    therapy = current_therapy(referral)
    days = itertools.count(1)

    def add(n):
        for _ in range(n):
            day = timezone.localdate() - dt.timedelta(days=next(days))
            session = TherapySession.objects.create(
                service=referral.service,
                referral=referral,
                therapy=therapy,
                occurred_on=day,
                attendance=TherapySession.Attendance.ATTENDED,
                recorded_by=therapist,
            )
            response = MeasureResponse.objects.create(
                referral=referral,
                measure="phq9",
                context=MeasureResponse.Context.REVIEW,
                answers=[1] * 9,
                total=9,
                completed_at=timezone.now() - dt.timedelta(days=day.day),
            )
            session.measure_responses.add(response)
            goal = Goal.objects.create(
                service=referral.service,
                referral=referral,
                description="Speak up at work",
                status=Goal.Status.CLOSED,
                agreed_on=day,
                created_by=therapist,
            )
            GoalRating.objects.create(goal=goal, score=4, rated_on=day, recorded_by=therapist)
            version = SessionPlan.objects.filter(referral=referral).count() + 1
            factories.SessionPlanFactory(referral=referral, created_by=therapist, version=version)

    return add


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize(
    "name", ["therapy-client", "session-plan", "goals", "sessions", "progress"]
)
def test_a_client_page_runs_the_same_queries_for_30_rows_as_for_3(
    client, in_therapy, therapist, name, django_assert_max_num_queries
):
    add = _grow(in_therapy, therapist)
    url = reverse(name, args=[in_therapy.public_id])
    client.force_login(therapist)
    add(3)
    _queries(client, url)  # warm per-process caches
    small = _queries(client, url)
    add(27)
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert response.status_code == 200
