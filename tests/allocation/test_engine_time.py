"""Time: a referral's earliest start and its course length (a number of weeks, or
open-ended); a therapist's leave and planned breaks are checked across the whole planned
course (an open-ended one over its first 12 weeks), not only on the start date.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_time.py -p no:django --noconftest
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allocation.engine import ProblemError, parse_problem, result_to_dict, solve
from allocation.engine.fit import client_asks, therapist_fits
from tests.allocation.engine_oracle import (
    EXAMPLE,
    check_hard_constraints,
    exhaustive_best,
    problem_of,
    referral,
    therapist,
    tiny_problem,
)

# today is 2025-03-03 (a Monday) in problem_of.
BREAK_IN_APRIL = {"leave": [{"start": "2025-04-14", "end": "2025-04-25"}]}


def _solve(data):
    result = result_to_dict(solve(parse_problem(data)))
    check_hard_constraints(data, result)
    return result


def test_a_break_during_the_course_rules_the_therapist_out_though_free_on_the_start():
    data = problem_of(
        [therapist("t-away", **BREAK_IN_APRIL), therapist("t-here")],
        [referral(therapy_weeks=16, weeks_waiting=20)],
    )
    (placed,) = _solve(data)["assignments"]
    assert placed["therapist"] == "t-here"
    assert (
        "no leave or break during the planned course (2025-03-03 to 2025-06-22, 16 weeks)"
        in placed["reasons"]
    )


def test_a_short_course_that_ends_before_the_break_can_go_to_the_therapist():
    data = problem_of([therapist("t-away", **BREAK_IN_APRIL)], [referral(therapy_weeks=6)])
    (placed,) = _solve(data)["assignments"]
    assert placed["therapist"] == "t-away"


def test_an_open_ended_course_is_checked_over_the_first_twelve_weeks():
    # The break starts in week 7 (inside the horizon): not placed.
    inside = problem_of([therapist("t-away", **BREAK_IN_APRIL)], [referral()])
    result = _solve(inside)
    assert result["assignments"] == []
    (waiting,) = result["unplaced"]
    course = "2025-03-03 to 2025-05-25, the first 12 weeks of an open-ended course"
    assert f"are not away during the planned course ({course}): 0" in waiting["reasons"][0]
    assert waiting["reasons"][1].endswith(
        f"has slots that fit; away 2025-04-14 to 2025-04-25, during the planned course ({course}))"
    )
    # Starting after the break clears it; so does a fixed course of six weeks or fewer.
    assert (
        "1 therapist (t-away) meets everything else but is away during the planned course "
        f"({course}); a start on or after 2025-04-26 would make 1 of them eligible; a course "
        "of 6 weeks or fewer would make 1 of them eligible"
    ) in waiting["suggestions"]
    # A break after the horizon does not count for an open-ended course.
    later = problem_of(
        [therapist("t-1", leave=[{"start": "2025-06-02", "end": "2025-06-06"}])], [referral()]
    )
    assert _solve(later)["assignments"][0]["therapist"] == "t-1"


def test_the_earliest_start_moves_the_planned_start_and_the_course_with_it():
    # Free on today's start, but the client cannot start before 2025-04-07: the course
    # then runs into the break.
    data = problem_of(
        [therapist("t-away", **BREAK_IN_APRIL)],
        [referral(earliest_start="2025-04-07", therapy_weeks=2)],
    )
    result = _solve(data)
    assert result["assignments"] == []
    # After the break, the same course fits, and the reasons say when it starts.
    data["referrals"][0]["earliest_start"] = "2025-04-28"
    (placed,) = _solve(data)["assignments"]
    assert (
        "no leave or break during the planned course (2025-04-28 to 2025-05-11, 2 weeks); "
        "starts on the client's earliest start (2025-04-28)"
    ) in placed["reasons"]
    # An earliest start before the planned start changes nothing.
    data["referrals"][0].update(earliest_start="2025-01-01", planned_start="2025-03-10")
    problem = parse_problem(data)
    assert str(problem.referrals[0].planned_start) == "2025-03-10"


def test_the_coordinators_choice_names_the_course():
    problem = parse_problem(
        problem_of(
            [therapist("t-away", **BREAK_IN_APRIL), therapist("t-here")],
            [referral(therapy_weeks=16, earliest_start="2025-03-10")],
        )
    )
    r = problem.referrals[0]
    fits = {f.therapist.id: f for f in therapist_fits(r, problem.therapists)}
    assert fits["t-away"].missing == ("leave",)
    assert fits["t-here"].tier == "fits"
    assert dict(client_asks(r))["Course"] == "2025-03-10 to 2025-06-29, 16 weeks"


@pytest.mark.parametrize("seed", range(5, 400, 9))
def test_time_keeps_the_optimum_on_tiny_problems(seed):
    data = tiny_problem(seed)
    data["therapists"][0]["leave"] = [{"start": "2025-03-20", "end": "2025-03-24"}]
    for r in data["referrals"][::2]:
        r["therapy_weeks"] = 2
    result = result_to_dict(solve(parse_problem(data)))
    assert check_hard_constraints(data, result) == exhaustive_best(data)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"earliest_start": "next week"}, "referral 'r-1': 'earliest_start' must be a date"),
        ({"therapy_weeks": 0}, "referral 'r-1': therapy_weeks must be 1 or more"),
        ({"therapy_weeks": 521}, "referral 'r-1': therapy_weeks must be 520 or less"),
        ({"therapy_weeks": 2.5}, "referral 'r-1': 'therapy_weeks' must be a whole number"),
        (
            {"therapy_weeks": "forever"},
            "referral 'r-1': 'therapy_weeks' must be a whole number of weeks or \"open_ended\"",
        ),
    ],
)
def test_invalid_time_is_one_line_naming_the_record(extra, message):
    with pytest.raises(ProblemError) as caught:
        parse_problem(problem_of([therapist("t-1")], [referral("r-1", **extra)]))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_documented_example_places_as_its_notes_say():
    data = json.loads((Path(EXAMPLE).parent / "allocation-time.json").read_text())
    result = _solve(data)
    placed = {a["referral"]: a["therapist"] for a in result["assignments"]}
    assert placed == {"r-301": "Ben Carter", "r-302": "Ada Lewis"}
    (waiting,) = result["unplaced"]
    assert (
        "a start on or after 2025-04-26 would make 1 of them eligible"
        in (waiting["suggestions"][0])
    )
