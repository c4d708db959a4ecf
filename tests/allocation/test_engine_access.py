"""Access and travel: a client who needs step-free access is seen in person only at the
problem's step-free sites; a client with travel times to sites and a limit is seen in
person only where the journey is within it. Remote sessions are unaffected.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_access.py -p no:django --noconftest
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

SOUTH = {"sites": ["South"], "slots": [{"id": "s1", "day": 1, "start": "18:00", "site": "South"}]}


def _solve(data):
    result = result_to_dict(solve(parse_problem(data)))
    check_hard_constraints(data, result)
    return result


def test_step_free_access_rules_out_a_site_with_steps():
    data = problem_of(
        [therapist("t-north"), therapist("t-south", **SOUTH)],
        [referral(mode="in_person", sites=["North", "South"], step_free=True)],
        step_free_sites=["South"],
    )
    (placed,) = _solve(data)["assignments"]
    assert placed["therapist"] == "t-south"
    data["step_free_sites"] = []
    result = _solve(data)
    (waiting,) = result["unplaced"]
    assert (
        "at nowhere (ruled out: North: not step-free; South: not step-free)"
        in (waiting["reasons"][0])
    )
    # Accepting remote sessions is offered; a site with steps never is.
    assert not any("accepting North" in s for s in waiting["suggestions"])


def test_a_travel_limit_rules_out_a_site_too_far_away():
    data = problem_of(
        [therapist("t-north"), therapist("t-south", **SOUTH)],
        [
            referral(
                mode="in_person",
                sites=["North", "South"],
                travel_minutes={"North": 70, "South": 25},
                max_travel_minutes=45,
            )
        ],
    )
    (placed,) = _solve(data)["assignments"]
    assert placed["therapist"] == "t-south"
    problem = parse_problem(data)
    r = problem.referrals[0]
    assert r.sites == ("South",)
    fits = {f.therapist.id: f for f in therapist_fits(r, problem.therapists)}
    assert fits["t-north"].missing == ("slots",)
    assert dict(client_asks(r))["Where"] == (
        "In person at South; ruled out: North: 70 minutes away, over the 45-minute limit"
    )


def test_remote_sessions_are_not_limited_by_access_or_travel():
    data = problem_of(
        [therapist("t-1", slots=[{"id": "s1", "day": 1, "start": "18:00", "site": "remote"}])],
        [referral(step_free=True, travel_minutes={"North": 90}, max_travel_minutes=30)],
    )
    assert _solve(data)["assignments"][0]["therapist"] == "t-1"


@pytest.mark.parametrize("seed", range(2, 400, 9))
def test_access_keeps_the_optimum_on_tiny_problems(seed):
    data = tiny_problem(seed)
    data["step_free_sites"] = ["North"]
    for r in data["referrals"][::2]:
        if r.get("sites"):
            r["step_free"] = True
    result = result_to_dict(solve(parse_problem(data)))
    assert check_hard_constraints(data, result) == exhaustive_best(data)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"step_free": "yes"}, "referral 'r-1': 'step_free' must be true or false"),
        ({"max_travel_minutes": 0}, "referral 'r-1': max_travel_minutes must be 1 or more"),
        (
            {"travel_minutes": {"North": -5}, "max_travel_minutes": 30},
            "referral 'r-1': 'travel_minutes' must map sites to whole minutes",
        ),
        (
            {"travel_minutes": {"East": 5}, "max_travel_minutes": 30},
            "referral 'r-1': travel_minutes names 'East', which is not among its sites",
        ),
        ({"travel_minutes": {"North": 5}}, "referral 'r-1': 'travel_minutes' needs 'max_travel"),
    ],
)
def test_invalid_access_is_one_line_naming_the_record(extra, message):
    with pytest.raises(ProblemError) as caught:
        parse_problem(problem_of([therapist("t-1")], [referral("r-1", **extra)]))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_unknown_step_free_site_is_an_error():
    with pytest.raises(ProblemError, match="problem: unknown step-free site 'East'"):
        parse_problem(
            problem_of([therapist()], [referral()], sites=["North"], step_free_sites=["East"])
        )


def test_the_documented_example_of_the_needs_places_as_its_notes_say():
    data = json.loads((Path(EXAMPLE).parent / "allocation-needs.json").read_text())
    result = _solve(data)
    placed = {a["referral"]: a for a in result["assignments"]}
    assert {rid: a["therapist"] for rid, a in placed.items()} == {
        "r-401": "Ada Lewis",
        "r-402": "Ben Carter",
        "r-403": "Cara Singh",
        "r-404": "Ben Carter",
    }
    assert "signs BSL, so no BSL interpreter is needed" in placed["r-401"]["reasons"]
    assert "continuity requirement met: also assessed the client" in placed["r-403"]["reasons"]
    assert placed["r-404"]["slots"][0]["site"] == "Hillcrest"
