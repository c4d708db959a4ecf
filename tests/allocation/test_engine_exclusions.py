"""The coordinators' exclusions: named therapists a client must never be placed with (a
conflict of interest, a previous complaint, a relative), and a gender exclusion ("not a
man") that may stand together with a gender preference.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_exclusions.py -p no:django --noconftest
"""

from __future__ import annotations

import pytest

from allocation.engine import ProblemError, eligible_pairs, parse_problem, result_to_dict, solve
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


def test_an_excluded_therapist_is_never_proposed_and_the_reason_says_so():
    data = problem_of(
        [therapist("t-1"), therapist("t-2")],
        [
            referral(
                exclude_therapists=[{"therapist": "t-1", "reason": "conflict_of_interest"}],
                assessor="t-1",  # continuity would otherwise draw the client to t-1
            )
        ],
    )
    result = _solve(data)
    (placed,) = result["assignments"]
    assert placed["therapist"] == "t-2"
    assert (
        "not a therapist excluded for this client (excluded: t-1: conflict of interest)"
        in placed["reasons"]
    )
    assert all(p["therapist"] != "t-1" for p in eligible_pairs(parse_problem(data)))


def test_a_client_whose_only_therapist_is_excluded_waits_and_is_told_what_would_change():
    data = problem_of(
        [therapist("t-1"), therapist("t-2", modalities=["dit"])],
        [referral(exclude_therapists=[{"therapist": "t-1", "reason": "relative"}])],
    )
    result = _solve(data)
    assert result["assignments"] == []
    (waiting,) = result["unplaced"]
    assert "are not excluded for this client: 0" in waiting["reasons"][0]
    assert (
        "excluded for this client (a relative or someone the client knows)"
        in (waiting["reasons"][1])
    )
    assert (
        "1 therapist (t-1) meets everything else but is excluded for this client "
        "(t-1: a relative or someone the client knows); lifting that exclusion would make it "
        "eligible"
    ) in waiting["suggestions"]


def test_not_a_man_places_with_a_woman_not_with_a_man_or_an_unrecorded_gender():
    data = problem_of(
        [
            therapist("t-man", gender="male"),
            therapist("t-unknown", gender=None),
            therapist("t-woman", gender="female"),
        ],
        [referral(gender_exclusion=["male"])],
    )
    result = _solve(data)
    (placed,) = result["assignments"]
    assert placed["therapist"] == "t-woman"
    assert "gender requirement (not male) met: is female" in placed["reasons"]


def test_a_requirement_together_with_a_preference():
    # Not a man (required), a non-binary therapist preferred: a woman is acceptable, the
    # preference unmet; a man is never proposed even though he is the only other choice.
    data = problem_of(
        [therapist("t-man", gender="male"), therapist("t-woman", gender="female")],
        [
            referral(
                gender_exclusion=["male"],
                gender_preference={"strength": "preferred", "gender": "non-binary"},
            )
        ],
    )
    result = _solve(data)
    (placed,) = result["assignments"]
    assert placed["therapist"] == "t-woman"
    assert "gender requirement (not male) met: is female" in placed["reasons"]
    assert "gender preference (non-binary) not met" in placed["reasons"]
    asks = dict(client_asks(parse_problem(data).referrals[0]))
    assert asks["Therapist's gender"] == "not male, a requirement; non-binary, a preference"


def test_only_men_left_the_suggestion_names_the_gender_exclusion():
    data = problem_of([therapist("t-man", gender="male")], [referral(gender_exclusion=["male"])])
    (waiting,) = _solve(data)["unplaced"]
    assert "meet the gender requirement (not male): 0" in waiting["reasons"][0]
    assert "is male (the client requires: not male)" in waiting["reasons"][1]
    assert (
        "no longer excluding male therapists would make 1 therapist (t-man) eligible"
        in waiting["suggestions"]
    )


def test_the_coordinators_choice_shows_an_excluded_therapist_as_not_choosable():
    problem = parse_problem(
        problem_of(
            [therapist("t-1"), therapist("t-2")],
            [referral(exclude_therapists=[{"therapist": "t-2", "reason": "previous_complaint"}])],
        )
    )
    fits = {f.therapist.id: f for f in therapist_fits(problem.referrals[0], problem.therapists)}
    assert fits["t-1"].tier == "fits" and "not excluded for this client" in fits["t-1"].fits
    assert fits["t-2"].tier == "unavailable" and fits["t-2"].missing == ("excluded",)
    assert "excluded for this client (previous complaint)" in fits["t-2"].lacks
    asks = dict(client_asks(problem.referrals[0]))
    assert asks["Never with"] == "t-2 (previous complaint)"


@pytest.mark.parametrize("seed", range(0, 400, 7))
def test_exclusions_keep_the_optimum_on_tiny_problems(seed):
    data = tiny_problem(seed)
    for r in data["referrals"]:  # exclusions on every referral, to bite hard
        r["exclude_therapists"] = [{"therapist": data["therapists"][0]["id"], "reason": "other"}]
    result = result_to_dict(solve(parse_problem(data)))
    got = check_hard_constraints(data, result)
    assert got == exhaustive_best(data)


def _bad(**extra):
    return problem_of([therapist("t-1")], [referral("r-3", **extra)])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _bad(exclude_therapists=[{"therapist": "t-9", "reason": "relative"}]),
            "referral 'r-3': excluded therapist 't-9' is not a therapist in the problem",
        ),
        (
            _bad(exclude_therapists=[{"therapist": "t-1", "reason": "dislike"}]),
            "referral 'r-3' exclusion #1: reason 'dislike' is not one of conflict_of_interest",
        ),
        (
            _bad(exclude_therapists=[{"therapist": "t-1"}]),
            "referral 'r-3' exclusion #1: missing 'reason'",
        ),
        (
            _bad(exclude_therapists=[{"therapist": "t-1", "reason": "other", "why": "x"}]),
            "referral 'r-3' exclusion #1: unknown field 'why'",
        ),
        (
            _bad(
                exclude_therapists=[
                    {"therapist": "t-1", "reason": "other"},
                    {"therapist": "t-1", "reason": "relative"},
                ]
            ),
            "referral 'r-3' exclusion #2: therapist 't-1' is excluded twice",
        ),
        (
            _bad(exclude_therapists="t-1"),
            "referral 'r-3': 'exclude_therapists' must be a list",
        ),
        (
            _bad(gender_exclusion="male"),
            "referral 'r-3': 'gender_exclusion' must be a list of non-empty strings",
        ),
        (
            _bad(
                gender_exclusion=["male"],
                gender_preference={"strength": "preferred", "gender": "Male"},
            ),
            "referral 'r-3': gender preferred 'male' is also in gender_exclusion",
        ),
    ],
)
def test_invalid_exclusions_are_one_line_naming_the_record(data, message):
    with pytest.raises(ProblemError) as caught:
        parse_problem(data)
    assert message in str(caught.value) and "\n" not in str(caught.value)
