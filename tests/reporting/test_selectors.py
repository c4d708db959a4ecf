"""Each measure on the reporting page against the seeded service (tests/reporting/conftest.py),
with the expected figures worked out by hand from the dates and scores there."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import measures
from intake.models import MeasureResponse, Referral
from reporting import facts, selectors
from tests import factories
from tests.reporting.conftest import DNA, PERIOD, A, at, finished_referrals, referral, score, treat

pytestmark = pytest.mark.django_db

D = dt.date


def section(slug, service):
    return selectors.SECTIONS[slug](service_id=service.pk, period=PERIOD)


def test_referrals_per_week_by_source(world, service):
    result = section("referrals", service)
    rows = {row[0]: row[1:] for row in result.table.rows}
    assert result.table.headers == (
        "Week starting",
        "Self-referral",
        "GP",
        "Partner service",
        "All sources",
    )
    # Twelve Mondays from 5 January to 23 March, empty weeks included.
    assert len(rows) == 12 and min(rows) == D(2026, 1, 5) and max(rows) == D(2026, 3, 23)
    # R1 (self), R2 (GP), R7 (self) in the first week; R3 (partner); R6 (GP); R4 (self).
    assert rows[D(2026, 1, 5)] == (2, 1, 0, 3)
    assert rows[D(2026, 1, 12)] == (0, 0, 1, 1)
    assert rows[D(2026, 1, 19)] == (0, 1, 0, 1)
    assert rows[D(2026, 2, 9)] == (1, 0, 0, 1)
    assert rows[D(2026, 3, 2)] == (0, 0, 0, 0)
    assert sum(row[3] for row in rows.values()) == 6  # R5, R8, R9 and theirs are outside
    assert result.summary == ["6 referrals received, 50% of them self-referrals."]


def test_weeks_are_the_services_local_weeks(service):
    # 00:30 on Monday 8 June in London is 23:30 on Sunday in UTC: it counts in London's week.
    factories.ReferralFactory(client__service=service, received_at=at(D(2026, 6, 8), 0, 30))
    period = selectors.Period(D(2026, 6, 1), D(2026, 6, 14))
    section = selectors.referrals_section(service_id=service.pk, period=period)
    assert {row[0]: row[-1] for row in section.table.rows} == {D(2026, 6, 1): 0, D(2026, 6, 8): 1}


def test_waiting_times_and_the_shares_within_6_and_18_weeks(world, service):
    result = section("waiting-times", service)
    rows = {row[0]: row[1:] for row in result.table.rows}
    # Assessed in the range: R1 7 days, R3 6 days, R6 1 day (2 weeks or less), R2 45 days.
    # First treatment in the range: R1 28 days (exactly 4 weeks), R5 37 days, R2 55 days,
    # R7 63 days.
    assert rows["2 weeks or less"] == (3, 75.0, 0, 0.0)
    assert rows["Over 2 up to 4 weeks"] == (0, 0.0, 1, 25.0)
    assert rows["Over 4 up to 6 weeks"] == (0, 0.0, 1, 25.0)
    assert rows["Over 6 up to 12 weeks"] == (1, 25.0, 2, 50.0)
    assert rows["Over 12 up to 18 weeks"] == (0, 0.0, 0, 0.0)
    assert rows["Over 18 weeks"] == (0, 0.0, 0, 0.0)
    assert rows["Within 6 weeks"] == (3, 75.0, 2, 50.0)
    assert rows["Within 18 weeks"] == (4, 100.0, 4, 100.0)
    assert result.summary[0] == (
        "Treatment started within 6 weeks for 50% and within 18 weeks for 100% of the 4 who "
        "started in the range."
    )


def test_a_wait_of_exactly_six_weeks_is_within_six_weeks(service, therapist_user):

    on_time = referral(service, D(2026, 1, 5), status="in_therapy")
    treat(on_time, therapist_user, [(D(2026, 2, 16), A)])  # 42 days
    late = referral(service, D(2026, 1, 5), status="in_therapy")
    treat(late, therapist_user, [(D(2026, 2, 17), A)])  # 43 days
    rows = {row[0]: row[1:] for row in section("waiting-times", service).table.rows}
    assert rows["Over 4 up to 6 weeks"][2] == 1
    assert rows["Over 6 up to 12 weeks"][2] == 1
    assert rows["Within 6 weeks"][2:] == (1, 50.0)


def test_caseness_at_assessment(world, service):
    rows = {row[0].split(" (")[0]: row[1:] for row in section("caseness", service).table.rows}
    # R1 (15, 12) and R3 (PHQ-9 12 alone) are cases; R2 (8, 6) is not; R6 had none scored.
    # R5 was assessed before the range.
    assert rows == {"A case": (2, 50.0), "Not a case": (1, 25.0), "Not known": (1, 25.0)}


def test_outcomes_of_finished_treatments(world, service):
    result = section("outcomes", service)
    rows = {row[0]: row[1:] for row in result.table.rows}
    # Finished in the range: R1 (15/12 to 5/4: recovered, reliably), R2 (8/6 to 16/6: not
    # a case at the start, PHQ-9 up 8: reliable deterioration), R7 (one pair only).
    assert rows["Recovery"] == (1, 1, 100.0)
    assert rows["Reliable improvement"] == (1, 2, 50.0)
    assert rows["Reliable recovery"] == (1, 1, 100.0)
    assert rows["Reliable deterioration"] == (1, 2, 50.0)
    assert result.summary == [
        "3 finished treatments (two or more attended sessions); 2 with paired PHQ-9 and GAD-7 "
        "scores, 1 of them a case at the start.",
        "1 without paired scores are left out of the rates.",
    ]


def test_a_single_attended_session_is_not_a_finished_treatment(service, therapist_user):

    once = referral(service, D(2026, 1, 5), status="ended")
    treat(
        once,
        therapist_user,
        [(D(2026, 2, 2), A), (D(2026, 2, 9), DNA)],
        ended_on=D(2026, 2, 9),
        end_reason="non_attendance",
    )
    for day, total in ((D(2026, 1, 6), 20), (D(2026, 2, 2), 3)):
        score(once, "phq9", total, day)
        score(once, "gad7", total, day)
    rows = {row[0]: row[1:] for row in section("outcomes", service).table.rows}
    assert rows["Reliable improvement"] == (0, 0, None)


def test_a_treatment_counts_where_its_last_therapy_ended_and_its_first_session_was(
    service, therapist_user
):
    """Two therapies each: the outcome counts in the range of the later one's end, the wait
    to treatment in the range of the first attended session of either."""

    def twice(received, first_therapy, second_therapy):
        r = referral(service, received, status="ended")
        for sessions in (first_therapy, second_therapy):
            treat(r, therapist_user, sessions, ended_on=sessions[-1][0], end_reason="handed_over")
        for day, total in ((received, 20), (second_therapy[-1][0], 3)):
            score(r, "phq9", total, day)
            score(r, "gad7", total, day)
        return r

    # Ended first in the range, then again after it: not finished in the range.
    twice(D(2025, 12, 1), [(D(2026, 1, 5), A), (D(2026, 1, 12), A)], [(D(2026, 4, 6), A)])
    # Ended first before the range, last in it: finished in the range, and treated before it.
    twice(D(2025, 10, 1), [(D(2025, 11, 3), A), (D(2025, 11, 10), A)], [(D(2026, 2, 2), A)])
    outcomes = {row[0]: row[1:] for row in section("outcomes", service).table.rows}
    assert outcomes["Reliable improvement"] == (1, 1, 100.0)
    waits = {row[0]: row[1:] for row in section("waiting-times", service).table.rows}
    # Only the first referral's first session (35 days after referral) is in the range.
    assert waits["Within 6 weeks"][2:] == (1, 100.0)
    assert waits["Within 18 weeks"][2:] == (1, 100.0)


def test_non_attendance_by_month(world, service):
    result = section("attendance", service)
    rows = {row[0]: row[1:] for row in result.table.rows}
    assert result.table.headers[1:5] == (
        "Attended",
        "Did not attend",
        "Cancelled by the client",
        "Cancelled by the service",
    )
    # January: R5 attended then missed. February: R1 three attended, one missed. March: R2
    # two attended and one cancelled by the client, R7 two attended.
    assert rows[D(2026, 1, 1)] == (1, 1, 0, 0, 50.0, 0.0)
    assert rows[D(2026, 2, 1)] == (3, 1, 0, 0, 25.0, 0.0)
    assert rows[D(2026, 3, 1)] == (4, 0, 1, 0, 0.0, 20.0)
    assert result.summary == [
        "18.2% of 11 therapy appointments were not attended; 9.1% were cancelled by the client."
    ]


def test_caseload_against_capacity(world, service):
    result = section("caseload", service)
    # Capacity is in weekly sessions, as on the caseloads page and in allocation: a client
    # seen twice a week uses two.
    assert result.table.headers == (
        "Therapist",
        "Clients",
        "Weekly sessions used",
        "Capacity (weekly sessions)",
        "Load (%)",
    )
    assert result.table.rows == [
        ("Avery Full", 3, 4, 3, 133.3),
        ("Blake Roomy", 1, 1, 5, 20.0),
    ]
    assert result.summary == [
        "4 clients carried, using 5 weekly sessions against a capacity of 8 (62.5%); "
        "1 therapist is over capacity."
    ]


def test_risk_flags_and_time_to_acknowledgement(world, service):
    result = section("risk-flags", service)
    rows = {row[0]: row[1:] for row in result.table.rows}
    assert rows["Within 1 hour"] == (2, 50.0)  # 30 minutes, and exactly an hour
    assert rows["Over 1 up to 4 hours"] == (0, 0.0)
    assert rows["Over 4 up to 24 hours"] == (1, 25.0)  # five hours
    assert rows["Over 3 days"] == (0, 0.0)
    assert rows["Not acknowledged yet"] == (1, 25.0)
    assert result.summary == [
        "4 risk flags raised; 75% acknowledged within 24 hours; 1 not acknowledged yet."
    ]


def test_an_empty_range_answers_with_no_figures_not_an_error(service):
    report = selectors.service_report(
        user=type("U", (), {"service_id": service.pk})(), period=PERIOD
    )
    outcomes = next(s for s in report.sections if s.slug == "outcomes")
    assert [row[3] for row in outcomes.table.rows] == [None, None, None, None]
    assert all("<svg" in s.chart for s in report.sections)


def test_the_report_takes_the_same_number_of_queries_for_3_or_30_referrals(
    service, coordinator, therapist_user
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            selectors.service_report(user=coordinator, period=PERIOD)
        return len(captured)

    finished_referrals(service, therapist_user, 3)
    few = queries()
    finished_referrals(service, therapist_user, 27, start=3)
    assert queries() == few
    # The finished assessments read once for two sections; one look-up of when the
    # service's facts were built (reporting.facts), then the same number counted from them.
    assert few == 9
    facts.build(service_id=service.pk)
    assert queries() == few


# --- Outcomes against a recomputation in Python ---------------------------------------------


def recomputed_outcomes(service, period) -> dict[str, tuple]:
    """The outcomes table worked out from the rows one referral at a time, in Python: the
    referrals ended (their last therapy's end) in the range after two or more attended
    sessions, each questionnaire's first and last scored total in (completed_at, id) order,
    paired when each has two or more, classified by measures.classify_change."""
    finished = paired = case = recovery = improvement = reliable_recovery = worse = 0
    for r in Referral.objects.filter(service=service, status="ended"):
        ends = [t.ended_on for t in r.therapies.all() if t.ended_on is not None]
        if not ends or not (period.first <= max(ends) <= period.last):
            continue
        if r.therapy_sessions.filter(attendance=A).count() < 2:
            continue
        finished += 1
        totals = {}
        for code in (measures.PHQ9, measures.GAD7):
            scored = sorted(
                (m.completed_at, m.pk, m.total)
                for m in r.measure_responses.filter(measure=code)
                if m.total is not None
            )
            totals[code] = [t for _, _, t in scored]
        if len(totals[measures.PHQ9]) < 2 or len(totals[measures.GAD7]) < 2:
            continue
        paired += 1
        change = measures.classify_change(
            measures.Pair(phq9=int(totals["phq9"][0]), gad7=int(totals["gad7"][0])),
            measures.Pair(phq9=int(totals["phq9"][-1]), gad7=int(totals["gad7"][-1])),
        )
        case += change.case_at_start
        recovery += change.recovery
        improvement += change.reliable_improvement
        reliable_recovery += change.reliable_recovery
        worse += change.reliable_deterioration

    def rate(n, of):
        return (n, of, round(100 * n / of, 1) if of else None)

    return {
        "Recovery": rate(recovery, case),
        "Reliable improvement": rate(improvement, paired),
        "Reliable recovery": rate(reliable_recovery, case),
        "Reliable deterioration": rate(worse, paired),
        "finished": finished,
    }


def outcome_rows(service) -> dict[str, tuple]:
    result = section("outcomes", service)
    rows = {row[0]: row[1:] for row in result.table.rows}
    rows["finished"] = int(result.summary[0].split(" ")[0])
    return rows


def ended_with_scores(service, therapist, scores):
    """An ended referral treated in the range (two attended sessions), with scores
    [(code, total or None, day, hour)] recorded in that order (so ids rise in that order)."""
    r = referral(service, D(2026, 1, 5), status="ended")
    sessions = [(D(2026, 2, 2), A), (D(2026, 2, 9), A)]
    treat(r, therapist, sessions, ended_on=D(2026, 2, 9), end_reason="completed")
    for code, total, day, hour in scores:
        if total is None:  # an item answered "prefer not to say": no total
            answers = ["prefer_not_to_say"] + [3] * (8 if code == measures.PHQ9 else 6)
            scored = measures.score(code, answers)
            assert scored.total is None
            MeasureResponse.objects.create(
                referral=r,
                measure=code,
                context=MeasureResponse.Context.REVIEW,
                answers=answers,
                total=None,
                caseness=None,
                withheld_reason=scored.withheld_reason,
                completed_at=at(day, hour),
            )
        else:
            MeasureResponse.objects.create(
                referral=r,
                measure=code,
                context=MeasureResponse.Context.REVIEW,
                answers=[],
                total=total,
                caseness=measures.get_measure(code).is_case(total),
                completed_at=at(day, hour),
            )
    return r


START, END = D(2026, 1, 20), D(2026, 2, 9)


def test_scores_at_the_same_moment_are_taken_in_the_order_they_were_recorded(
    service, therapist_user
):
    # At the start two PHQ-9s at the same moment: the first recorded (20) is the first.
    # At the end two GAD-7s at the same moment: the last recorded (2) is the last.
    ended_with_scores(
        service,
        therapist_user,
        [
            ("phq9", 20, START, 10),
            ("phq9", 4, START, 10),
            ("gad7", 10, START, 10),
            ("phq9", 11, END, 10),
            ("gad7", 16, END, 10),
            ("gad7", 2, END, 10),
        ],
    )
    rows = outcome_rows(service)
    # 20/10 to 11/2: both fell reliably; still a case at the end (PHQ-9 11). Were either tie
    # taken the other way (PHQ-9 4 to 11, or GAD-7 10 to 16) it would be a deterioration.
    assert rows["Reliable improvement"] == (1, 1, 100.0)
    assert rows["Reliable deterioration"] == (0, 1, 0.0)
    assert rows["Recovery"] == (0, 1, 0.0)
    assert rows == recomputed_outcomes(service, PERIOD)


def test_a_total_withheld_for_prefer_not_to_say_is_not_a_first_or_last_score(
    service, therapist_user
):
    # The last PHQ-9 and the first GAD-7 were withheld (an item "prefer not to say"): the
    # last PHQ-9 scored is 18 (no change), the first GAD-7 scored 14.
    ended_with_scores(
        service,
        therapist_user,
        [
            ("gad7", None, START, 9),
            ("phq9", 18, START, 10),
            ("gad7", 14, START, 10),
            ("phq9", 18, END, 9),
            ("gad7", 3, END, 9),
            ("phq9", None, END, 10),
        ],
    )
    rows = outcome_rows(service)
    # 18/14 to 18/3: GAD-7 fell reliably and PHQ-9 did not rise; still a case (PHQ-9 18).
    assert rows["Reliable improvement"] == (1, 1, 100.0)
    assert rows["Recovery"] == (0, 1, 0.0)
    assert rows == recomputed_outcomes(service, PERIOD)


def test_one_scored_total_of_a_questionnaire_is_not_paired(service, therapist_user):
    # One PHQ-9 scored (the other withheld), two GAD-7s; and one with no scores at all.
    ended_with_scores(
        service,
        therapist_user,
        [
            ("phq9", 20, START, 10),
            ("gad7", 15, START, 10),
            ("phq9", None, END, 10),
            ("gad7", 2, END, 10),
        ],
    )
    ended_with_scores(service, therapist_user, [])
    result = section("outcomes", service)
    assert result.summary[0].startswith("2 finished treatments")
    assert "0 with paired PHQ-9 and GAD-7" in result.summary[0]
    assert outcome_rows(service) == recomputed_outcomes(service, PERIOD)


def test_the_seeded_service_matches_the_recomputation(world, service, therapist_user):
    finished_referrals(service, therapist_user, 12)
    assert outcome_rows(service) == recomputed_outcomes(service, PERIOD)


def test_a_first_treatment_is_the_first_attended_session_missed_ones_before_it_aside(
    service, therapist_user
):
    # Missed before the range, first attended in it (42 days after referral): counts.
    missed_first = referral(service, D(2025, 12, 22), status="in_therapy")
    treat(missed_first, therapist_user, [(D(2025, 12, 29), DNA), (D(2026, 2, 2), A)])
    # Attended before the range and again in it: its first treatment is not in the range.
    earlier = referral(service, D(2025, 11, 3), status="in_therapy")
    treat(earlier, therapist_user, [(D(2025, 12, 29), A), (D(2026, 1, 5), A)])
    rows = {row[0]: row[1:] for row in section("waiting-times", service).table.rows}
    assert rows["Over 4 up to 6 weeks"][2:] == (1, 100.0)
    assert rows["Within 18 weeks"][2:] == (1, 100.0)
