"""The matching engine (allocation/engine/): hand-made problems: the lexicographic objective,
multi-session rules, reasons.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_cases.py -p no:django --noconftest
"""

from __future__ import annotations

from allocation.engine import (
    greedy,
    parse_problem,
    result_to_dict,
    solve,
)
from tests.allocation.engine_oracle import (
    FIT,
    check_hard_constraints,
    problem_of,
    referral,
    therapist,
)


def test_priority_outranks_any_amount_of_fit():
    data = problem_of(
        [therapist()],
        [
            referral("r-long", weeks_waiting=20),
            referral(
                "r-fits",
                weeks_waiting=19,
                preferred_site="North",
                preferred_parts=["evening"],
                gender_preference={"strength": "preferred", "gender": "female"},
            ),
        ],
    )
    result = result_to_dict(solve(parse_problem(data)))
    assert [a["referral"] for a in result["assignments"]] == ["r-long"]


def test_fit_breaks_ties_between_equal_priorities():
    data = problem_of(
        [therapist()],
        [
            referral("r-plain"),
            referral("r-fits", gender_preference={"strength": "preferred", "gender": "female"}),
        ],
    )
    result = result_to_dict(solve(parse_problem(data)))
    assert [a["referral"] for a in result["assignments"]] == ["r-fits"]
    assert "gender preference (female) met" in result["assignments"][0]["reasons"]


def test_the_optimum_places_more_than_first_come_greedy():
    # Greedy gives the longest waiter the only slot the second client can use.
    slots = [
        {"id": "eve", "day": 1, "start": "18:00", "length": 50, "site": "North"},
        {"id": "day", "day": 2, "start": "10:00", "length": 50, "site": "North"},
    ]
    data = problem_of(
        [therapist(capacity=2, slots=slots)],
        [
            referral("r-flexible", weeks_waiting=10, availability=[[1, "evening"], [2, "morning"]]),
            referral("r-evenings", weeks_waiting=9, availability=[[1, "evening"]]),
        ],
    )
    problem = parse_problem(data)
    assert len(greedy(problem).assignments) == 1
    result = result_to_dict(solve(problem))
    check_hard_constraints(data, result)
    assert {a["referral"]: a["slots"][0]["id"] for a in result["assignments"]} == {
        "r-flexible": "day",
        "r-evenings": "eve",
    }


def test_twice_weekly_needs_two_days_with_one_therapist():
    same_day = [
        {"id": "a", "day": 1, "start": "17:00", "length": 50, "site": "North"},
        {"id": "b", "day": 1, "start": "19:00", "length": 50, "site": "North"},
    ]
    two_days = [
        {"id": "a", "day": 1, "start": "18:00", "length": 50, "site": "North"},
        {"id": "b", "day": 3, "start": "18:00", "length": 50, "site": "remote"},
    ]
    data = problem_of(
        [
            # Two free weekly sessions each: a client seen twice a week uses two.
            therapist("t-same", frequencies=[1, 2], slots=same_day, capacity=2),
            therapist("t-days", frequencies=[1, 2], slots=two_days, capacity=2),
            therapist("t-weekly", frequencies=[1], slots=two_days, capacity=2),
        ],
        [referral(sessions_per_week=2)],
    )
    result = result_to_dict(solve(parse_problem(data)))
    check_hard_constraints(data, result)
    (a,) = result["assignments"]
    assert a["therapist"] == "t-days"
    assert [s["day_name"] for s in a["slots"]] == ["Tuesday", "Thursday"]
    assert "offers 2 sessions a week, on different days" in a["reasons"]


def test_interpreter_opens_every_therapist_and_bsl_works_the_same_way():
    data = problem_of(
        [therapist()],
        [referral("r-bsl", language="bsl", needs_interpreter=True)],
    )
    result = result_to_dict(solve(parse_problem(data)))
    assert result["assignments"][0]["therapist"] == "t-1"
    assert "works with a BSL interpreter" in result["assignments"][0]["reasons"]
    data["referrals"][0]["needs_interpreter"] = False
    result = result_to_dict(solve(parse_problem(data)))
    assert not result["assignments"]
    (unplaced,) = result["unplaced"]
    assert any("booking a BSL interpreter" in s for s in unplaced["suggestions"])


def test_reasons_name_what_the_proposal_meets():
    data = problem_of(
        [
            therapist(
                "t-12",
                languages=["english", "polish"],
                slots=[{"id": "s1", "day": 1, "start": "18:00", "length": 50, "site": "remote"}],
            )
        ],
        [
            referral(
                language="polish",
                mode="remote",
                sites=[],
                gender_preference={"strength": "preferred", "gender": "male"},
                preferred_parts=["evening"],
                assessor="t-12",
                weeks_waiting=7,
                risk="high",
            )
        ],
    )
    (a,) = result_to_dict(solve(parse_problem(data)))["assignments"]
    reasons = a["reasons"]
    assert "speaks Polish" in reasons
    assert "gender preference (male) not met" in reasons
    assert "Tuesday 18:00 evening slot (50 min, remote) matches availability" in reasons
    assert "preferred time (evening) met" in reasons
    assert "continuity: also assessed the client" in reasons
    assert reasons[0].startswith(f"priority {a['priority']}: waiting 7 weeks")
    assert "past the 6-week standard" in reasons[0] and "high risk" in reasons[0]
    assert a["fit"] == FIT["continuity"] + FIT["time"]


def test_unplaced_referral_says_why_and_names_the_nearest_therapist():
    data = problem_of(
        [
            therapist(
                "t-12",
                languages=["english", "polish"],
                slots=[{"id": "s1", "day": 2, "start": "10:00", "length": 50, "site": "North"}],
            ),
            therapist("t-13"),
        ],
        [referral(language="polish", availability=[[1, "evening"], [3, "evening"]])],
    )
    data["therapists"][1]["modalities"] = ["dit"]
    result = result_to_dict(solve(parse_problem(data)))
    (unplaced,) = result["unplaced"]
    why = " | ".join(unplaced["reasons"])
    assert "no therapist meets every requirement" in why
    assert "speak Polish: 1" in why
    assert "nearest: t-12 (" in why and "speaks Polish" in why
    assert "no slot in the client's available times (has Wednesday 10:00)" in why
    hints = " | ".join(unplaced["suggestions"])
    assert "adding Wed morning to the client's availability" in hints
    assert "booking a Polish interpreter" not in hints  # t-13 fails on modality too


def test_outranked_referral_is_next_in_line():
    data = problem_of(
        [therapist()],
        [referral("r-first", weeks_waiting=30), referral("r-second", weeks_waiting=2)],
    )
    result = result_to_dict(solve(parse_problem(data)))
    (unplaced,) = result["unplaced"]
    assert unplaced["referral"] == "r-second"
    assert "meets every requirement with 1 therapist (t-1)" in unplaced["reasons"][0]
    assert "t-1: no free place left" in unplaced["reasons"][1]
    assert unplaced["suggestions"][0].startswith("next in line when t-1")


def test_leave_on_the_planned_start_blocks_and_a_later_start_is_suggested():
    data = problem_of(
        [therapist(leave=[{"start": "2025-03-01", "end": "2025-03-14"}])],
        [referral(planned_start="2025-03-10")],
    )
    result = result_to_dict(solve(parse_problem(data)))
    assert not result["assignments"]
    hints = " | ".join(result["unplaced"][0]["suggestions"])
    assert "a start on or after 2025-03-15" in hints
    data["referrals"][0]["planned_start"] = "2025-03-17"
    assert result_to_dict(solve(parse_problem(data)))["assignments"]


def test_capacity_and_caseload_given_separately():
    data = problem_of(
        [therapist(capacity=18, caseload=18)],
        [referral()],
    )
    assert not solve(parse_problem(data)).assignments
    data["therapists"][0]["caseload"] = 17
    assert solve(parse_problem(data)).assignments


def test_required_gender_and_site_are_hard():
    data = problem_of(
        [therapist(gender="male")],
        [referral(gender_preference={"strength": "required", "gender": "female"})],
    )
    assert not solve(parse_problem(data)).assignments
    data = problem_of([therapist()], [referral(mode="in_person", sites=["South"])])
    data["sites"] = ["North", "South"]
    assert not solve(parse_problem(data)).assignments
