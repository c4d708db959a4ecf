"""Competence: a therapist is a trainee or qualified, may work under supervision, and has
specialisms (young adults, trauma, perinatal); a referral may require a qualified
therapist, one not under supervision, or a specialism.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_competence.py -p no:django --noconftest
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

TRAINEE = {"grade": "trainee"}
SUPERVISED = {"grade": "qualified", "supervised": True}
INDEPENDENT = {"specialisms": ["perinatal", "trauma"]}


def _solve(data):
    result = result_to_dict(solve(parse_problem(data)))
    check_hard_constraints(data, result)
    return result


def test_a_client_who_needs_a_qualified_therapist_is_not_placed_with_a_trainee():
    data = problem_of(
        [therapist("t-trainee", **TRAINEE), therapist("t-qualified", **SUPERVISED)],
        [referral(competence="qualified", weeks_waiting=20)],
    )
    (placed,) = _solve(data)["assignments"]
    assert placed["therapist"] == "t-qualified"
    assert (
        "competence requirement (a qualified therapist) met: is qualified, under supervision"
        in placed["reasons"]
    )


def test_a_trainee_placement_says_so_when_nothing_more_is_needed():
    data = problem_of([therapist("t-trainee", **TRAINEE)], [referral()])
    (placed,) = _solve(data)["assignments"]
    assert "is a trainee, under supervision (the client needs no more)" in placed["reasons"]


def test_a_required_specialism_and_independence_and_what_would_change():
    data = problem_of(
        [
            therapist("t-supervised", specialisms=["perinatal"], **SUPERVISED),
            therapist("t-trauma", specialisms=["trauma"]),
        ],
        [referral(competence="independent", specialism="Perinatal")],
    )
    result = _solve(data)
    assert result["assignments"] == []
    (waiting,) = result["unplaced"]
    rule = "a qualified therapist not under supervision; specialism: perinatal"
    assert f"have the competence asked for ({rule}): 0" in waiting["reasons"][0]
    assert f"works under supervision (the client needs {rule})" in waiting["reasons"][1]
    # Both fail the competence alone, one the supervision, one the specialism: the
    # suggestion names both changes, which together make both eligible.
    assert (
        f"2 therapists (t-supervised, t-trauma) meet everything else but lack the competence "
        f"asked for ({rule}); accepting a therapist under supervision or a trainee and not "
        "requiring the perinatal specialism would make them eligible"
    ) in waiting["suggestions"]


def test_the_coordinators_choice_names_the_competence():
    problem = parse_problem(
        problem_of(
            [therapist("t-1", **INDEPENDENT), therapist("t-2", **TRAINEE)],
            [referral(competence="qualified", specialism="trauma")],
        )
    )
    fits = {f.therapist.id: f for f in therapist_fits(problem.referrals[0], problem.therapists)}
    assert fits["t-1"].tier == "fits"
    assert (
        "competence requirement (a qualified therapist; specialism: trauma) met: is qualified; "
        "specialisms perinatal, trauma"
    ) in fits["t-1"].fits
    assert fits["t-2"].missing == ("competence",)
    assert dict(client_asks(problem.referrals[0]))["Therapist's competence"] == (
        "a qualified therapist; specialism: trauma"
    )


@pytest.mark.parametrize("seed", range(3, 400, 9))
def test_competence_keeps_the_optimum_on_tiny_problems(seed):
    data = tiny_problem(seed)
    data["therapists"][0].update(grade="trainee", supervised=True)
    for r in data["referrals"][::2]:
        r["competence"] = "qualified"
    result = result_to_dict(solve(parse_problem(data)))
    assert check_hard_constraints(data, result) == exhaustive_best(data)


@pytest.mark.parametrize(
    ("where", "extra", "message"),
    [
        ("therapist", {"grade": "student"}, "therapist 't-1': grade 'student' is not one of"),
        (
            "therapist",
            {"grade": "trainee", "supervised": False},
            "therapist 't-1': a trainee works under supervision",
        ),
        ("therapist", {"supervised": "yes"}, "therapist 't-1': 'supervised' must be true or"),
        ("therapist", {"specialisms": "trauma"}, "therapist 't-1': 'specialisms' must be a list"),
        ("referral", {"competence": "expert"}, "referral 'r-1': competence 'expert' is not one"),
        ("referral", {"specialism": ""}, "referral 'r-1': 'specialism' must be a non-empty"),
    ],
)
def test_invalid_competence_is_one_line_naming_the_record(where, extra, message):
    t, r = therapist("t-1"), referral("r-1")
    (t if where == "therapist" else r).update(extra)
    with pytest.raises(ProblemError) as caught:
        parse_problem(problem_of([t], [r]))
    assert message in str(caught.value) and "\n" not in str(caught.value)
