"""Writes for the goals agreed with the client and their ratings (0 to 10), at most
MAX_ACTIVE_GOALS worked on at once. Atomic and keyword-only, like therapy/services.py, whose
refusal (TherapyError) and access guards they share.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from intake.models import Referral
from therapy.models import Goal, GoalRating
from therapy.services import MAX_ACTIVE_GOALS, TherapyError, _same_service


@transaction.atomic
def goal_add(*, referral: Referral, user, description: str, score: int, rated_on: date) -> Goal:
    _same_service(user, referral)
    description = (description or "").strip()
    if not description:
        raise TherapyError("Enter the goal in the client's words", field="description")
    if not 0 <= score <= 10:
        raise TherapyError("The rating must be a whole number from 0 to 10", field="score")
    Referral.objects.select_for_update().filter(pk=referral.pk).first()
    active = Goal.objects.filter(referral=referral, status=Goal.Status.ACTIVE).count()
    if active >= MAX_ACTIVE_GOALS:
        raise TherapyError(
            f"There are already {MAX_ACTIVE_GOALS} goals being worked on. Close one before "
            "adding another: three at once keeps them meaningful.",
            field="description",
        )
    goal = Goal.objects.create(
        service_id=referral.service_id,
        referral=referral,
        description=description,
        agreed_on=rated_on,
        created_by=user,
    )
    GoalRating.objects.create(goal=goal, score=score, rated_on=rated_on, recorded_by=user)
    return goal


class GoalRatingsRefused(TherapyError):
    """Some ratings cannot be saved: `problems` pairs each goal's field with why, so the form
    shows every one at once and keeps the other answers."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__(problems[0][1], field=problems[0][0])
        self.problems = problems


@transaction.atomic
def goal_ratings_record(
    *, referral: Referral, user, ratings: dict[Goal, int], rated_on: date
) -> list[GoalRating]:
    """Record each goal's rating on `rated_on`. A goal already rated that day (the rating it
    was agreed with, or an earlier save) has that rating corrected, not a second one added.
    Nothing is saved unless every rating can be."""
    _same_service(user, referral)
    if not ratings:
        raise TherapyError("Enter a rating for at least one goal")
    # Lock the goals (in id order) so two saves of the same day cannot both add a rating.
    locked = {
        goal.pk: goal
        for goal in Goal.objects.select_for_update()
        .filter(pk__in=[goal.pk for goal in ratings])
        .order_by("id")
    }
    problems = []
    for goal, score in ratings.items():
        field = f"goal_{goal.public_id}"
        current = locked.get(goal.pk)
        name = goal.short_description()
        if current is None or current.referral_id != referral.pk:
            problems.append((field, f"'{name}' is not one of this client's goals."))
        elif current.status != Goal.Status.ACTIVE:
            problems.append((field, f"'{name}' is no longer being worked on, so it is not rated."))
        elif not 0 <= score <= 10:
            problems.append((field, f"'{name}': the rating must be a whole number from 0 to 10"))
        elif rated_on < current.agreed_on:
            problems.append(
                (
                    field,
                    f"'{name}' was agreed on {current.agreed_on:%-d %B %Y}: it cannot be rated "
                    "before then",
                )
            )
    if problems:
        raise GoalRatingsRefused(problems)
    saved = []
    for goal, score in ratings.items():
        rating = GoalRating.objects.filter(goal=goal, rated_on=rated_on).order_by("id").first()
        if rating is None:
            rating = GoalRating.objects.create(
                goal=goal, score=score, rated_on=rated_on, recorded_by=user
            )
        elif rating.score != score or rating.recorded_by_id != user.pk:
            rating.score = score
            rating.recorded_by = user
            rating.save(update_fields=["score", "recorded_by", "updated_at"])
        saved.append(rating)
    return saved


@transaction.atomic
def goal_close(*, goal: Goal, user, reason: str, today: date | None = None) -> Goal:
    _same_service(user, goal.referral)
    reason = (reason or "").strip()
    if not reason:
        raise TherapyError("Enter why this goal is no longer being worked on", field="reason")
    locked = Goal.objects.select_for_update().get(pk=goal.pk)
    if locked.status != Goal.Status.ACTIVE:
        raise TherapyError("This goal was already closed.")
    locked.status = Goal.Status.CLOSED
    locked.closed_on = today or timezone.localdate()
    locked.close_reason = reason[:300]
    locked.save(update_fields=["status", "closed_on", "close_reason", "updated_at"])
    return locked
