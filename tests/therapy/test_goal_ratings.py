"""Goal ratings: a goal added today and rated again today, ratings saved twice in a day,
and refusals that name each goal in whole words and keep every answer entered."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from therapy import goals as goal_services
from therapy import services
from therapy.models import Goal, GoalRating

pytestmark = pytest.mark.django_db

LONG = (
    "To be able to tell my manager when the workload is too much without lying awake "
    "afterwards going over every word"
)


@pytest.fixture
def signed_in(client, therapist):
    client.force_login(therapist)
    return client


def on(prefix: str, day: date) -> dict:
    return {
        f"{prefix}-rated_on_day": str(day.day),
        f"{prefix}-rated_on_month": str(day.month),
        f"{prefix}-rated_on_year": str(day.year),
    }


def add(signed_in, referral, text: str, score: int, day: date):
    return signed_in.post(
        reverse("goals", args=[referral.public_id]),
        {"action": "add", "add-description": text, "add-score": str(score)} | on("add", day),
    )


def test_a_goal_added_today_can_be_rated_again_today(signed_in, in_therapy):
    today = timezone.localdate()
    assert add(signed_in, in_therapy, LONG, 3, today).status_code == 302
    goal = Goal.objects.get(referral=in_therapy)

    response = signed_in.post(
        reverse("goals", args=[in_therapy.public_id]),
        {"action": "rate", f"rate-goal_{goal.public_id}": "5"} | on("rate", today),
    )

    assert response.status_code == 302
    ratings = list(GoalRating.objects.filter(goal=goal))
    assert [(r.score, r.rated_on) for r in ratings] == [(5, today)]


def test_saving_twice_on_one_day_updates_that_days_ratings(signed_in, in_therapy, therapist):
    today = timezone.localdate()
    earlier = today - timedelta(weeks=4)
    add(signed_in, in_therapy, "Sleep through", 2, earlier)
    add(signed_in, in_therapy, "Call my sister", 4, earlier)
    first, second = Goal.objects.filter(referral=in_therapy).order_by("id")
    url = reverse("goals", args=[in_therapy.public_id])
    form = {f"rate-goal_{first.public_id}": "6", f"rate-goal_{second.public_id}": "5"}
    assert signed_in.post(url, {"action": "rate", **form} | on("rate", today)).status_code == 302

    form[f"rate-goal_{first.public_id}"] = "7"
    again = signed_in.post(url, {"action": "rate", **form} | on("rate", today), follow=True)

    assert "already has a rating" not in again.text
    scores = {
        (r.goal_id, r.rated_on): r.score
        for r in GoalRating.objects.filter(goal__referral=in_therapy)
    }
    assert scores == {
        (first.pk, earlier): 2,
        (second.pk, earlier): 4,
        (first.pk, today): 7,
        (second.pk, today): 5,
    }
    assert "Ratings recorded" in again.text


def test_every_refused_rating_names_its_goal_in_whole_words_and_keeps_the_answers(
    signed_in, in_therapy
):
    today = timezone.localdate()
    week_ago = today - timedelta(days=7)
    add(signed_in, in_therapy, LONG, 3, today)
    add(signed_in, in_therapy, "Sleep through the night without waking at four", 2, today)
    add(signed_in, in_therapy, "Call my sister", 4, week_ago - timedelta(days=7))
    long_goal, sleep, sister = Goal.objects.filter(referral=in_therapy).order_by("id")

    response = signed_in.post(
        reverse("goals", args=[in_therapy.public_id]),
        {
            "action": "rate",
            f"rate-goal_{long_goal.public_id}": "6",
            f"rate-goal_{sleep.public_id}": "8",
            f"rate-goal_{sister.public_id}": "9",
        }
        | on("rate", week_ago),
    )

    assert response.status_code == 200
    text = response.content.decode()
    # Both goals agreed after that date are refused at once, each named without a cut word.
    assert "Sleep through the night without waking at four" in text
    assert "To be able to tell my manager" in text
    assert LONG[:40] + "'" not in text  # the old cut: "...when the wor'"
    errors = response.context["rate_form"].errors
    assert set(errors) == {f"goal_{long_goal.public_id}", f"goal_{sleep.public_id}"}
    for message in errors[f"goal_{long_goal.public_id}"]:
        quoted = message.split("'")[1]
        assert quoted == LONG or (quoted.endswith("…") and LONG.startswith(quoted[:-1].rstrip()))
        assert LONG.startswith(quoted.rstrip("…")) and LONG[len(quoted.rstrip("…"))] == " "
    # Every answer entered is still there.
    for value in ("6", "8", "9"):
        assert f'value="{value}"' in text
    assert not GoalRating.objects.filter(rated_on=week_ago).exists()


def test_the_service_refuses_every_goal_it_cannot_rate_at_once(in_therapy, therapist):
    today = timezone.localdate()
    one = goal_services.goal_add(
        referral=in_therapy, user=therapist, description=LONG, score=3, rated_on=today
    )
    two = goal_services.goal_add(
        referral=in_therapy, user=therapist, description="Call my sister", score=4, rated_on=today
    )
    goal_services.goal_close(goal=two, user=therapist, reason="Reached it")
    two.refresh_from_db()
    with pytest.raises(services.TherapyError) as refused:
        goal_services.goal_ratings_record(
            referral=in_therapy,
            user=therapist,
            ratings={one: 5, two: 6},
            rated_on=today - timedelta(days=1),
        )
    problems = dict(refused.value.problems)
    assert set(problems) == {f"goal_{one.public_id}", f"goal_{two.public_id}"}
    assert "Call my sister" in problems[f"goal_{two.public_id}"]
    assert GoalRating.objects.filter(goal=one).count() == 1
