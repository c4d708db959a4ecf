"""Exact time windows ("Tuesday 17:30-20:00"): validation, matching against a plain-Python
checker, the parts of the day as shorthand, the fit bonus, and the reasons.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_windows.py -p no:django --noconftest
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from allocation.engine import ProblemError, eligible_pairs, parse_problem, result_to_dict, solve
from allocation.problem_gen import generate_problem
from tests.allocation.engine_oracle import (
    EXAMPLE,
    bundle_fit,
    check_hard_constraints,
    day_of,
    pair_allowed,
    problem_of,
    referral,
    slot_fits,
    therapist,
    tiny_problem,
)


def slot(sid, day, start, length=50, site="North"):
    return {"id": sid, "day": day, "start": start, "length": length, "site": site}


# --- Validation: one line naming the record ---------------------------------------------


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        (
            ["Tuesday 5pm-8pm"],
            "referral 'r-1': windows: window 'Tuesday 5pm-8pm' is not a day and times like "
            "'Tuesday 17:30-20:00' (HH:MM, 24-hour)",
        ),
        (
            ["Tuesday 20:00-17:30"],
            "referral 'r-1': windows: window 'Tuesday 20:00-17:30' ends before it starts",
        ),
        (
            ["Tuesday 18:00-18:00"],
            "referral 'r-1': windows: window 'Tuesday 18:00-18:00' ends before it starts",
        ),
        (
            ["Tuesday 17:30-20:00", "Tue 19:00-21:00"],
            "referral 'r-1': windows: windows Tuesday 17:30\u201320:00 and Tuesday "
            "19:00\u201321:00 overlap",
        ),
        (
            ["Tuesday 22:00-24:30"],
            "referral 'r-1': windows: window 'Tuesday 22:00-24:30' is outside the day "
            "(00:00 to 24:00)",
        ),
        (
            [{"day": "Funday", "start": "10:00", "end": "11:00"}],
            "referral 'r-1': windows: window 'Funday 10:00-11:00' has unknown day 'Funday' "
            "(Monday to Sunday)",
        ),
        (
            [{"day": 1, "start": "10:00"}],
            'referral \'r-1\': windows: each window needs "day", "start" and "end"',
        ),
        (
            "Tuesday 17:30-20:00",
            "referral 'r-1': 'windows' must be a list of windows like 'Tuesday 17:30-20:00'",
        ),
        (
            # A part of the day is its fixed window, so it overlaps an exact window in it.
            ["Tuesday 17:30-20:00", "Tuesday evening"],
            "referral 'r-1': windows: windows Tuesday evening and Tuesday 17:30\u201320:00 overlap",
        ),
    ],
)
def test_bad_windows_are_refused_in_one_line(windows, message):
    data = problem_of([therapist()], [referral(availability=[], windows=windows)])
    with pytest.raises(ProblemError) as caught:
        parse_problem(data)
    assert str(caught.value) == message


def test_a_window_overlapping_a_given_part_of_the_day_is_refused():
    data = problem_of([therapist()], [referral(windows=["Thu 18:00-19:00"])])  # Thu evening
    with pytest.raises(ProblemError, match="windows Thursday evening and Thursday 18:00"):
        parse_problem(data)


def test_preferred_windows_are_checked_the_same_way():
    data = problem_of(
        [therapist()],
        [referral(preferred_parts=["evening"], preferred_windows=["Tue 18:00-19:00"])],
    )
    with pytest.raises(ProblemError, match="preferred_windows: windows Tuesday evening and"):
        parse_problem(data)


def test_touching_windows_are_allowed_and_join():
    data = problem_of(
        [therapist(slots=[slot("s1", 1, "12:30")])],
        [referral(availability=[], windows=["Tue 12:00-13:00", "Tue 13:00-14:00"])],
    )
    assert [p["slots"] for p in eligible_pairs(parse_problem(data))] == [["s1"]]


# --- Matching: wholly inside a window ------------------------------------------------------


def test_a_slot_fits_only_when_it_lies_wholly_inside_a_window():
    slots = [
        slot("early", 1, "17:00"),  # starts before the window
        slot("inside", 1, "18:00"),
        slot("to-the-end", 1, "19:10"),  # ends exactly at 20:00
        slot("other-day", 2, "18:00"),
    ]
    late = [slot("late", 1, "19:30")]  # runs past it
    data = problem_of(
        [therapist(slots=slots), therapist("t-2", slots=late)],
        [referral(availability=[], windows=[{"day": "Tue", "start": "17:30", "end": "20:00"}])],
    )
    pairs = eligible_pairs(parse_problem(data))
    assert [(p["therapist"], p["slots"]) for p in pairs] == [("t-1", ["inside", "to-the-end"])]


def test_parts_of_the_day_are_shorthand_for_their_fixed_windows():
    slots = [
        slot("a", 1, "09:00"),
        slot("b", 1, "13:00"),
        slot("c", 1, "18:00"),
        slot("d", 3, "19:00"),
    ]
    shorthand = referral(availability=[["Tue", "morning"], [1, "evening"], [3, "evening"]])
    exact = referral(
        availability=[], windows=["Tue 00:00-12:00", "Tue 17:00-24:00", "Thursday 17:00-24:00"]
    )
    pairs = [
        eligible_pairs(parse_problem(problem_of([therapist(slots=slots)], [r])))
        for r in (shorthand, exact)
    ]
    assert pairs[0] == pairs[1] and pairs[0][0]["slots"] == ["a", "c", "d"]


def _check_against_the_checker(data):
    """Every pair the engine lists has exactly the slots the plain checker fits, and the
    best fit over its bundles; every pair the checker allows is listed."""
    problem = parse_problem(data)
    listed = {(p["referral"], p["therapist"]): p for p in eligible_pairs(problem)}
    for r in data["referrals"]:
        k = r.get("sessions_per_week", 1)
        for t in data["therapists"]:
            fitting = [s for s in t["slots"] if slot_fits(r, s, data)]
            allowed = pair_allowed(r, t, data) and len({day_of(s["day"]) for s in fitting}) >= k
            pair = listed.get((r["id"], t["id"]))
            assert (pair is not None) == allowed, (r["id"], t["id"])
            if pair is None:
                continue
            assert pair["slots"] == [s["id"] for s in sorted(fitting, key=_order)]
            best = max(
                bundle_fit(r, t, bundle)
                for bundle in itertools.combinations(fitting, k)
                if len({day_of(s["day"]) for s in bundle}) == k
            )
            assert pair["fit"] == best, (r["id"], t["id"])


def _order(s):
    hours, minutes = s["start"].split(":")
    return day_of(s["day"]), int(hours) * 60 + int(minutes)


@pytest.mark.parametrize("seed", range(0, 400, 3))
def test_compatibility_matches_the_plain_checker_on_tiny_problems(seed):
    _check_against_the_checker(tiny_problem(seed))


@pytest.mark.parametrize("seed", [1, 2])
def test_compatibility_matches_the_plain_checker_on_generated_problems(seed):
    data = generate_problem(referrals=400, therapists=25, seed=seed, multi_session_share=0.2)
    assert sum("windows" in r for r in data["referrals"]) > 20
    _check_against_the_checker(data)


# --- Preferred windows: the fit bonus ---------------------------------------------------


def test_a_preferred_window_scores_the_time_bonus_only_when_every_session_is_inside():
    slots = [slot("s1", 1, "18:00"), slot("s2", 1, "19:00")]
    data = problem_of(
        [therapist(slots=slots)],
        [referral(availability=[[1, "evening"]], preferred_windows=["Tue 18:30-20:00"])],
    )
    result = result_to_dict(solve(parse_problem(data)))
    [placed] = result["assignments"]
    assert [s["id"] for s in placed["slots"]] == ["s2"]
    assert "preferred time (Tuesday 18:30\u201320:00) met" in placed["reasons"]


# --- Reasons name the window --------------------------------------------------------------


def test_the_reasons_name_the_window_a_slot_lies_inside():
    data = problem_of(
        [therapist(slots=[slot("s1", 1, "18:00")])],
        [referral(availability=[], windows=["Tuesday 17:30-20:00"])],
    )
    [placed] = result_to_dict(solve(parse_problem(data)))["assignments"]
    assert (
        "Tuesday 18:00 evening slot (50 min, in person at North) matches availability "
        "(inside Tuesday 17:30\u201320:00)" in placed["reasons"]
    )


def test_widening_a_window_is_suggested_only_as_far_as_it_opens_therapists():
    therapists = [
        therapist("t-1", slots=[slot("s1", 1, "17:00")]),
        therapist("t-2", slots=[slot("s1", 1, "17:00")]),
        therapist("t-3", slots=[slot("s1", 1, "17:10")]),
        therapist("t-4", slots=[slot("s1", 1, "12:00")]),  # far outside: no widening
    ]
    data = problem_of(therapists, [referral(availability=[], windows=["Tuesday 17:30-20:00"])])
    [waiting] = result_to_dict(solve(parse_problem(data)))["unplaced"]
    assert "no therapist meets every requirement" in waiting["reasons"][0]
    assert "client's times (Tue 17:30\u201320:00)" in waiting["reasons"][0]
    hint = " ".join(waiting["suggestions"])
    assert (
        "widening Tuesday 17:30\u201320:00 to 17:00\u201320:00 would make 3 of them eligible"
        in hint
    )
    nearest = waiting["reasons"][1]
    assert (
        "no slot inside the client's times (Tue 17:30\u201320:00; has Tuesday 17:00\u201317:50)"
        in (nearest)
    )


def test_the_windows_example_places_and_explains_as_documented():
    data = json.loads((Path(EXAMPLE).parent / "allocation-windows.json").read_text())
    result = result_to_dict(solve(parse_problem(data)))
    check_hard_constraints(data, result)
    placed = {a["referral"]: [s["id"] for s in a["slots"]] for a in result["assignments"]}
    assert placed == {"r-401": ["tue-18"], "r-403": ["wed-1230"], "r-404": ["mon-13"]}
    (waiting,) = result["unplaced"]
    assert (
        "widening Thursday 17:10\u201320:00 to 17:00\u201320:00 would make 1 of them eligible"
        in (waiting["suggestions"][0])
    )
