"""Continuity with the assessor: a wish (the default: a fit bonus, below every priority
point, so placements and then priority stay optimal), a requirement (only the assessor),
or no wish at all.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_continuity.py -p no:django --noconftest
"""

from __future__ import annotations

import pytest

from allocation.engine import ProblemError, parse_problem, result_to_dict, solve
from allocation.engine.fit import client_asks, therapist_fits
from tests.allocation.engine_oracle import (
    check_hard_constraints,
    exhaustive_best,
    problem_of,
    referral,
    therapist,
    tiny_problem,
)


def _solve(data):
    result = result_to_dict(solve(parse_problem(data)))
    check_hard_constraints(data, result)
    return result


def test_a_wish_is_a_fit_bonus_and_never_outweighs_priority():
    # One place with the assessor; the wish goes to whoever ranks higher, not to the
    # client who asked for continuity.
    data = problem_of(
        [therapist("t-assessor"), therapist("t-other", slots=[])],
        [
            referral("r-wish", assessor="t-assessor", weeks_waiting=2),
            referral("r-urgent", weeks_waiting=30),
        ],
    )
    (placed,) = _solve(data)["assignments"]
    assert placed["referral"] == "r-urgent"
    data["referrals"] = [referral("r-wish", assessor="t-assessor")]
    data["therapists"] = [therapist("t-assessor"), therapist("t-other")]
    (placed,) = _solve(data)["assignments"]
    assert placed["therapist"] == "t-assessor" and placed["fit"] == 3
    assert "continuity: also assessed the client" in placed["reasons"]
    # No wish: no bonus, and no mention.
    data["referrals"][0]["continuity"] = "none"
    (placed,) = _solve(data)["assignments"]
    assert placed["fit"] == 0
    assert not any("continuity" in words for words in placed["reasons"])


def test_a_requirement_places_only_with_the_assessor():
    data = problem_of(
        [therapist("t-assessor", capacity=0), therapist("t-other")],
        [referral(assessor="t-assessor", continuity="required")],
    )
    result = _solve(data)
    assert result["assignments"] == []
    (waiting,) = result["unplaced"]
    assert (
        "are the client's assessor (t-assessor; continuity required): 1" in (waiting["reasons"][0])
    )
    assert (
        "1 therapist (t-other) meets everything else but is not the client's assessor "
        "(t-assessor); making continuity a wish rather than a requirement would make it "
        "eligible"
    ) in waiting["suggestions"]
    data["therapists"][0]["capacity"] = 1
    (placed,) = _solve(data)["assignments"]
    assert placed["therapist"] == "t-assessor"
    assert "continuity requirement met: also assessed the client" in placed["reasons"]


def test_an_assessor_who_is_not_a_therapist_leaves_nobody_eligible():
    data = problem_of([therapist("t-1")], [referral(assessor="a-12", continuity="required")])
    (waiting,) = _solve(data)["unplaced"]
    assert "are the client's assessor (a-12; continuity required): 0" in waiting["reasons"][0]


def test_the_coordinators_choice_names_continuity():
    problem = parse_problem(
        problem_of(
            [therapist("t-assessor"), therapist("t-other")],
            [referral(assessor="t-assessor", continuity="required")],
        )
    )
    r = problem.referrals[0]
    fits = {f.therapist.id: f for f in therapist_fits(r, problem.therapists)}
    assert fits["t-other"].missing == ("continuity",)
    assert fits["t-assessor"].tier == "fits"
    assert dict(client_asks(r))["Continuity"] == "with the assessor (t-assessor), a requirement"


@pytest.mark.parametrize("seed", range(8, 400, 9))
def test_continuity_keeps_the_optimum_on_tiny_problems(seed):
    data = tiny_problem(seed)
    first = data["therapists"][0]["id"]
    for r in data["referrals"][::2]:
        r.update(assessor=first, continuity="required")
    for r in data["referrals"][1::2]:
        r.update(assessor=first, continuity="preferred")
    result = result_to_dict(solve(parse_problem(data)))
    assert check_hard_constraints(data, result) == exhaustive_best(data)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"continuity": "always"}, "referral 'r-1': continuity 'always' is not one of"),
        ({"continuity": "required"}, "referral 'r-1': continuity 'required' needs the 'assessor'"),
    ],
)
def test_invalid_continuity_is_one_line_naming_the_record(extra, message):
    with pytest.raises(ProblemError) as caught:
        parse_problem(problem_of([therapist("t-1")], [referral("r-1", **extra)]))
    assert message in str(caught.value) and "\n" not in str(caught.value)
