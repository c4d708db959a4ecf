"""Therapy: starting it, goals, sessions and attendance, repeated questionnaires, the
not-on-track flag on realistic series, the non-attendance policy and planned endings."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intake import clinical_record
from intake.models import ConsentRecord, MeasureResponse, Referral, RiskFlag
from notifications.models import Notification
from tests.assessment.conftest import consent
from tests.factories import ReferralFactory
from tests.therapy.conftest import current_therapy
from therapy import selectors, services
from therapy.models import (
    Goal,
    GoalRating,
    NonAttendanceStep,
    ProgressFlag,
    Therapy,
    TherapySession,
)

pytestmark = pytest.mark.django_db


def parts(name: str, day: date) -> dict:
    return {
        f"{name}_day": str(day.day),
        f"{name}_month": str(day.month),
        f"{name}_year": str(day.year),
    }


def spread(total: int, items: int, top: int = 3) -> list[int]:
    answers = []
    for _ in range(items):
        answers.append(min(top, total))
        total -= answers[-1]
    assert total == 0
    return answers


def phq9(total: int) -> list[int]:
    return [*spread(total, 8), 0]  # item 9 stays 0: no risk item


def gad7(total: int) -> list[int]:
    return spread(total, 7)


def baseline(referral, phq, gad, on: date):
    at = timezone.make_aware(datetime.combine(on, time(11)))
    for code, answers in (("phq9", phq9(phq)), ("gad7", gad7(gad))):
        clinical_record.measure_response_record(
            referral=referral,
            measure=code,
            answers=answers,
            context=MeasureResponse.Context.ASSESSMENT,
            completed_at=at,
        )


def plan_for(referral, user, *, review_after_weeks=6):
    therapy = current_therapy(referral)
    start = therapy.started_on
    return services.session_plan_save(
        referral=referral,
        user=user,
        values={
            "length": "fixed",
            "session_count": 16,
            "sessions_per_week": 1,
            "regular_times": [{"weekday": start.weekday(), "time": "10:00"}],
            "mode": "video",
            "site": None,
            "room": "",
            "starts_on": start,
            "ends_on": start + timedelta(weeks=20),
            "review_dates": [start + timedelta(weeks=review_after_weeks)],
            "ending_plan": "",
            "couch_discussed": "",
            "measures_every_sessions": 4,
            "repeat_measures": ["phq9", "gad7"],
        },
        reason="",
    )


def record(client, referral, day, attendance="attended"):
    return client.post(
        reverse("sessions", args=[referral.public_id]),
        parts("occurred_on", day) | {"attendance": attendance},
    )


def measures_post(phq, gad):
    data = {"phq9_status": "completed", "gad7_status": "completed"}
    for n, value in enumerate(phq9(phq), start=1):
        data[f"phq9_item_{n}"] = str(value)
    for n, value in enumerate(gad7(gad), start=1):
        data[f"gad7_item_{n}"] = str(value)
    return data


@pytest.fixture
def signed_in(client, therapist):
    client.force_login(therapist)
    return client


def weekly(referral, week: int) -> date:
    return current_therapy(referral).started_on + timedelta(weeks=week)


def run_sessions(client, referral, weeks_and_scores):
    """Record attended sessions; where a score is given, enter the due questionnaires."""
    for week, scores in weeks_and_scores:
        response = record(client, referral, weekly(referral, week))
        assert response.status_code == 302, response.content.decode()[:2000]
        if scores is not None:
            assert "/questionnaires/" in response.url, f"week {week}: not due"
            response = client.post(response.url, measures_post(*scores))
            assert response.status_code == 302, response.content.decode()[:2000]


def test_coordinator_starts_therapy_and_the_therapist_sees_the_client(
    client, coordinator, therapist, service
):
    referral = ReferralFactory(
        client__service=service,
        status=Referral.Status.AWAITING_ALLOCATION,
        reference="TH-KLMN-PQRS",
    )
    client.force_login(coordinator)
    overview = client.get(reverse("therapy-overview")).text
    assert "TH-KLMN-PQRS" in overview
    response = client.post(
        reverse("therapy-start", args=[referral.public_id]),
        {"therapist": str(therapist.public_id)} | parts("started_on", timezone.localdate()),
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == Referral.Status.IN_THERAPY
    assert current_therapy(referral).therapist == therapist

    client.force_login(therapist)
    caseload = client.get(reverse("therapy-caseload")).text
    assert referral.client.display_name in caseload
    assert "No session plan" in caseload


def test_therapy_start_checks(client, coordinator, assessor, therapist, service):
    referral = ReferralFactory(client__service=service, status=Referral.Status.SUBMITTED)
    client.force_login(coordinator)
    url = reverse("therapy-start", args=[referral.public_id])
    response = client.post(
        url, {"therapist": str(therapist.public_id)} | parts("started_on", timezone.localdate())
    )
    assert "therapy can start only after an assessment recommends it" in response.text
    referral.status = Referral.Status.AWAITING_ALLOCATION
    referral.save()
    not_a_therapist = client.post(
        url, {"therapist": str(assessor.public_id)} | parts("started_on", timezone.localdate())
    )
    assert "Select a valid choice" in not_a_therapist.text
    assert not Therapy.objects.exists()


def test_goals_agreed_rated_and_re_rated(signed_in, in_therapy):
    url = reverse("goals", args=[in_therapy.public_id])
    today = timezone.localdate()
    start = today - timedelta(weeks=10)
    for text, score in [
        ("Say no without guilt", "2"),
        ("Sleep through", "3"),
        ("Call my sister", "5"),
    ]:
        response = signed_in.post(
            url,
            {"action": "add", "add-description": text, "add-score": score}
            | {f"add-{k}": v for k, v in parts("rated_on", start).items()},
        )
        assert response.status_code == 302
    fourth = signed_in.post(
        url,
        {"action": "add", "add-description": "One more", "add-score": "1"}
        | {f"add-{k}": v for k, v in parts("rated_on", today).items()},
    )
    assert "There are 3 goals being worked on" in fourth.text
    goals = list(Goal.objects.filter(referral=in_therapy).order_by("id"))
    rating = {f"rate-goal_{goals[0].public_id}": "6", f"rate-goal_{goals[1].public_id}": "11"}
    rating |= {f"rate-{k}": v for k, v in parts("rated_on", today).items()}
    bad = signed_in.post(url, {"action": "rate", **rating})
    assert "Goal 2: the rating must be 10 or less" in bad.text
    rating[f"rate-goal_{goals[1].public_id}"] = "4"
    assert signed_in.post(url, {"action": "rate", **rating}).status_code == 302
    # Saving again the same day corrects that day's ratings rather than adding or refusing.
    rating[f"rate-goal_{goals[1].public_id}"] = "5"
    assert signed_in.post(url, {"action": "rate", **rating}).status_code == 302
    assert GoalRating.objects.filter(goal=goals[0]).count() == 2
    assert GoalRating.objects.get(goal=goals[1], rated_on=today).score == 5

    close = reverse("goal-close", args=[in_therapy.public_id, goals[2].public_id])
    assert "Enter why" in signed_in.post(close, {"reason": ""}).text
    signed_in.post(close, {"reason": "Reached it: they talk weekly now"})
    goals[2].refresh_from_db()
    assert goals[2].status == Goal.Status.CLOSED

    progress = signed_in.get(reverse("progress", args=[in_therapy.public_id])).text
    assert 'id="chart-goals-title"' in progress
    assert "Goal ratings from 0 to 10" in progress


def test_measures_come_due_at_the_plans_interval_with_a_reminder_before(
    signed_in, in_therapy, therapist
):
    plan_for(in_therapy, therapist)
    baseline(in_therapy, 16, 12, weekly(in_therapy, 0) - timedelta(days=14))
    for week in range(3):
        response = record(signed_in, in_therapy, weekly(in_therapy, week))
        assert response.url == reverse("sessions", args=[in_therapy.public_id])
    reminder = Notification.objects.get(kind="questionnaire_reminder")
    assert reminder.context["due_on"] == weekly(in_therapy, 3).isoformat()
    response = record(signed_in, in_therapy, weekly(in_therapy, 3))
    assert "/questionnaires/" in response.url


def test_no_reliable_improvement_at_the_review_raises_not_on_track(
    signed_in, in_therapy, therapist, coordinator
):
    plan_for(in_therapy, therapist, review_after_weeks=6)
    baseline(in_therapy, 16, 12, weekly(in_therapy, 0) - timedelta(days=14))
    run_sessions(
        signed_in,
        in_therapy,
        [(0, None), (1, None), (2, None), (3, (15, 12)), (4, None), (5, None), (6, None)],
    )
    assert not ProgressFlag.objects.exists()  # before the review: not judged yet
    run_sessions(signed_in, in_therapy, [(7, (14, 11))])

    flag = ProgressFlag.objects.get()
    assert flag.reason == ProgressFlag.Reason.NO_IMPROVEMENT_AT_REVIEW
    assert flag.review_date == weekly(in_therapy, 6)
    assert "PHQ-9 -2, GAD-7 -1" in flag.detail
    progress = signed_in.get(reverse("progress", args=[in_therapy.public_id])).text
    assert "Not on track" in progress and "No reliable change" in progress
    assert 'id="chart-phq9-title"' in progress and "<table" in progress

    other = Client()
    other.force_login(coordinator)
    assert in_therapy.client.display_name in other.get(reverse("therapy-overview")).text
    assert "Not on track" in other.get(reverse("staff-home")).text
    assert "Not on track" in other.get(reverse("progress", args=[in_therapy.public_id])).text
    other.force_login(therapist)
    assert "Not on track" in other.get(reverse("therapy-caseload")).text

    review = reverse("progress-flag-review", args=[in_therapy.public_id, flag.public_id])
    other.force_login(coordinator)
    assert other.post(review, {"note": "x"}).status_code == 403  # coordinators see, do not close
    assert "Enter what you and the client made of it" in signed_in.post(review, {"note": ""}).text
    signed_in.post(review, {"note": "Talked about the break; agreed to look at it at week 12."})
    flag.refresh_from_db()
    assert not flag.is_open and flag.reviewed_by == therapist


def test_a_not_on_track_flag_dates_the_latest_questionnaires_and_the_start_apart(
    signed_in, in_therapy, therapist
):
    plan_for(in_therapy, therapist, review_after_weeks=6)
    start = weekly(in_therapy, 0) - timedelta(days=14)
    baseline(in_therapy, 16, 12, start)
    run_sessions(
        signed_in,
        in_therapy,
        [(0, None), (1, None), (2, None), (3, None), (4, None), (5, None), (6, None)],
    )
    run_sessions(signed_in, in_therapy, [(7, (15, 12))])

    detail = ProgressFlag.objects.get().detail
    latest = weekly(in_therapy, 7)
    assert f"on {latest.day} {latest:%B %Y}" in detail
    assert f"since the start ({start.day} {start:%B %Y})" in detail


def test_reliable_deterioration_raises_not_on_track_at_once(signed_in, in_therapy, therapist):
    plan_for(in_therapy, therapist, review_after_weeks=12)
    baseline(in_therapy, 10, 8, weekly(in_therapy, 0) - timedelta(days=14))
    run_sessions(signed_in, in_therapy, [(0, None), (1, None), (2, None), (3, (17, 9))])
    flag = ProgressFlag.objects.get()
    assert flag.reason == ProgressFlag.Reason.RELIABLE_DETERIORATION
    run_sessions(signed_in, in_therapy, [(4, None), (5, None), (6, None), (7, (19, 10))])
    assert ProgressFlag.objects.count() == 1  # one open flag at a time


def test_recovery_series_stays_on_track_and_says_reliable_recovery(
    signed_in, in_therapy, therapist
):
    plan_for(in_therapy, therapist, review_after_weeks=6)
    baseline(in_therapy, 16, 12, weekly(in_therapy, 0) - timedelta(days=14))
    run_sessions(
        signed_in,
        in_therapy,
        [
            (0, None),
            (1, None),
            (2, None),
            (3, (12, 9)),
            (4, None),
            (5, None),
            (6, None),
            (7, (7, 5)),
        ],
    )
    assert not ProgressFlag.objects.exists()
    progress = signed_in.get(reverse("progress", args=[in_therapy.public_id])).text
    assert "Reliable recovery" in progress
    assert "counts as finished treatment" in progress


def test_risk_item_at_a_review_raises_a_risk_flag_and_alert(signed_in, in_therapy, therapist):
    plan_for(in_therapy, therapist)
    run_sessions(signed_in, in_therapy, [(0, None), (1, None), (2, None)])
    response = record(signed_in, in_therapy, weekly(in_therapy, 3))
    data = measures_post(12, 9)
    data["phq9_item_9"] = "1"
    data["gad7_status"] = "declined"
    response = signed_in.post(response.url, data)
    assert response.status_code == 302
    assert RiskFlag.objects.filter(referral=in_therapy, source="phq9_item9").exists()
    assert Notification.objects.filter(kind="risk_alert", recipient="duty_inbox").exists()
    declined = MeasureResponse.objects.get(measure="gad7", referral=in_therapy)
    assert declined.total is None and set(declined.answers) == {"prefer_not_to_say"}


def test_review_measures_page_errors(signed_in, in_therapy, therapist):
    plan_for(in_therapy, therapist)
    record(signed_in, in_therapy, weekly(in_therapy, 0))
    session = TherapySession.objects.get()
    url = reverse("session-measures", args=[in_therapy.public_id, session.public_id])
    missing_item = measures_post(10, 8)
    del missing_item["phq9_item_4"]
    assert "PHQ-9 question 4: select" in signed_in.post(url, missing_item).text
    nothing = signed_in.post(url, {"phq9_status": "not_done", "gad7_status": "not_done"})
    assert "Nothing to save" in nothing.text
    assert signed_in.post(url, measures_post(10, 8)).status_code == 302
    again = signed_in.post(url, measures_post(10, 8))
    assert "already recorded" in again.text


def test_session_record_errors(signed_in, in_therapy):
    url = reverse("sessions", args=[in_therapy.public_id])
    future = timezone.localdate() + timedelta(days=2)
    assert (
        "cannot be in the future"
        in signed_in.post(url, parts("occurred_on", future) | {"attendance": "attended"}).text
    )
    early = current_therapy(in_therapy).started_on - timedelta(days=1)
    assert (
        "cannot be earlier"
        in signed_in.post(url, parts("occurred_on", early) | {"attendance": "attended"}).text
    )
    day = weekly(in_therapy, 1)
    record(signed_in, in_therapy, day)
    assert "is already recorded" in record(signed_in, in_therapy, day).text
    assert (
        "Select whether the client attended" in signed_in.post(url, parts("occurred_on", day)).text
    )


def test_missed_in_a_row_rules():
    def s(day, attendance):
        return TherapySession(occurred_on=date(2027, 1, day), attendance=attendance)

    attended, dna = "attended", "did_not_attend"
    assert selectors.missed_in_a_row([s(1, attended), s(8, dna), s(15, dna)]) == (
        2,
        date(2027, 1, 8),
    )
    # The service cancelling neither counts nor breaks the run.
    run = [s(1, dna), s(8, "cancelled_by_service"), s(15, dna)]
    assert selectors.missed_in_a_row(run)[0] == 2
    # The client cancelling means they were in touch: the run starts again.
    assert selectors.missed_in_a_row([s(1, dna), s(8, "cancelled_by_client"), s(15, dna)])[0] == 1
    assert selectors.missed_in_a_row([]) == (0, None)


def test_two_missed_sessions_prompt_the_policy_letter_then_discharge(
    signed_in, in_therapy, therapist
):
    consent(in_therapy, ConsentRecord.Topic.TELL_GP)
    record(signed_in, in_therapy, weekly(in_therapy, 0))
    record(signed_in, in_therapy, weekly(in_therapy, 1), "did_not_attend")
    response = record(signed_in, in_therapy, weekly(in_therapy, 2), "did_not_attend")
    url = reverse("non-attendance", args=[in_therapy.public_id])
    assert response.url == url
    page = signed_in.get(url).text
    assert "missed 2 sessions in a row" in page and "Send the letter" in page

    early = signed_in.post(url, {"action": "discharge"}, follow=True)
    assert "Send the non-attendance letter first" in early.text
    signed_in.post(url, {"action": "letter", "note": "Two calls, no answer"}, follow=True)
    step = NonAttendanceStep.objects.get()
    assert step.step == "letter" and step.missed_in_a_row == 2 and step.letter_queued
    assert Notification.objects.filter(kind="non_attendance_letter", referral=in_therapy).exists()

    signed_in.post(url, {"action": "discharge"})
    in_therapy.refresh_from_db()
    assert in_therapy.status == Referral.Status.ENDED
    therapy = Therapy.objects.get(referral=in_therapy)
    assert therapy.end_reason == Therapy.EndReason.NON_ATTENDANCE
    kinds = dict(Notification.objects.values_list("kind", "recipient"))
    assert kinds["discharge_non_attendance"] == "client"
    assert kinds["gp_letter"] == "gp"
    assert signed_in.post(url, {"action": "discharge"}).status_code == 403  # no longer theirs


def test_attending_again_ends_the_run(signed_in, in_therapy):
    for week, attendance in [(0, "did_not_attend"), (1, "did_not_attend"), (2, "attended")]:
        record(signed_in, in_therapy, weekly(in_therapy, week), attendance)
    assert not selectors.non_attendance_state(in_therapy).policy_applies


def test_planned_ending_sends_the_ending_letter_with_the_plan(signed_in, in_therapy, therapist):
    plan_for(in_therapy, therapist)
    record(signed_in, in_therapy, weekly(in_therapy, 0))
    record(signed_in, in_therapy, weekly(in_therapy, 1))
    url = reverse("therapy-end", args=[in_therapy.public_id])
    missing = signed_in.post(url, parts("last_session_on", weekly(in_therapy, 1)))
    assert "Enter the plan for if things become difficult again" in missing.text
    response = signed_in.post(
        url,
        parts("last_session_on", weekly(in_therapy, 1))
        | {"summary": "We looked at keeping people at a distance.", "plan": "Notice early signs."},
    )
    assert response.status_code == 302
    in_therapy.refresh_from_db()
    assert in_therapy.status == Referral.Status.ENDED
    ending = Notification.objects.get(kind="ending")
    assert ending.context["sessions_attended"] == 2
    assert ending.context["plan"] == "Notice early signs."
    assert not Notification.objects.filter(kind="gp_letter").exists()  # no GP consent
