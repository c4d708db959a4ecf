"""Languages: a client may need BSL as well as a spoken language they also use; and a
service lists the languages it can book an interpreter for (``interpreter_languages``): a
client who needs an interpreter in one of them can be placed with any therapist, in any
other only with a therapist who speaks it.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_languages.py -p no:django --noconftest
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

URDU = {"language": "urdu", "needs_interpreter": True}


def _solve(data):
    result = result_to_dict(solve(parse_problem(data)))
    check_hard_constraints(data, result)
    return result


def test_an_interpreter_in_a_bookable_language_lets_any_therapist_take_the_client():
    data = problem_of(
        [therapist("t-1")], [referral(**URDU)], interpreter_languages={"adult": ["Urdu"]}
    )
    (placed,) = _solve(data)["assignments"]
    assert "works with an Urdu interpreter" in placed["reasons"]


def test_an_interpreter_the_service_cannot_book_needs_a_therapist_who_speaks_it():
    therapists = [therapist("t-1"), therapist("t-urdu", languages=["english", "urdu"])]
    data = problem_of(therapists, [referral(**URDU)], interpreter_languages={"adult": ["polish"]})
    (placed,) = _solve(data)["assignments"]
    assert placed["therapist"] == "t-urdu"
    assert "speaks Urdu, so no interpreter is needed" in placed["reasons"]
    # Without the Urdu speaker the client waits, told why and what would change it.
    data["therapists"] = [therapist("t-1")]
    result = _solve(data)
    (waiting,) = result["unplaced"]
    assert "speak Urdu (no Urdu interpreter can be booked): 0" in waiting["reasons"][0]
    assert "does not speak Urdu (no Urdu interpreter can be booked)" in waiting["reasons"][1]
    assert (
        "booking an Urdu interpreter (adding it to the languages the service can book "
        "interpreters for) would make 1 therapist (t-1) eligible"
    ) in waiting["suggestions"]
    # A service not in the list books any language, as before the setting existed.
    data["interpreter_languages"] = {"other": []}
    data["services"] = ["adult", "other"]
    assert _solve(data)["assignments"][0]["therapist"] == "t-1"


def test_bsl_together_with_english_needs_a_signer_when_bsl_cannot_be_booked():
    therapists = [
        therapist("t-english"),
        therapist("t-signs", languages=["english", "bsl"]),
        therapist("t-bsl-only", languages=["bsl", "polish"]),
    ]
    data = problem_of(
        therapists,
        [referral("r-1", bsl=True, weeks_waiting=20), referral("r-2", bsl=True)],
        interpreter_languages={"adult": ["polish"]},
    )
    result = _solve(data)
    # Only t-signs both signs BSL and speaks English; the second client waits.
    assert [(a["referral"], a["therapist"]) for a in result["assignments"]] == [("r-1", "t-signs")]
    placed = result["assignments"][0]
    assert "speaks English" in placed["reasons"]
    assert "signs BSL, so no BSL interpreter is needed" in placed["reasons"]
    assert placed["fit"] == 1  # the language point: no interpreter at all
    (waiting,) = result["unplaced"]
    assert waiting["reasons"][0].startswith("meets every requirement with 1 therapist (t-signs)")
    # Once the service can book BSL interpreters, the English speaker takes the second.
    data["interpreter_languages"] = {"adult": ["polish", "bsl"]}
    result = _solve(data)
    by_therapist = {a["therapist"]: a for a in result["assignments"]}
    assert set(by_therapist) == {"t-signs", "t-english"}
    assert "works with a BSL interpreter" in by_therapist["t-english"]["reasons"]
    assert (by_therapist["t-english"]["fit"], by_therapist["t-signs"]["fit"]) == (0, 1)


def test_the_coordinators_choice_names_the_languages():
    problem = parse_problem(
        problem_of(
            [therapist("t-english"), therapist("t-signs", languages=["english", "bsl"])],
            [referral(bsl=True)],
            interpreter_languages={"adult": []},
        )
    )
    r = problem.referrals[0]
    fits = {f.therapist.id: f for f in therapist_fits(r, problem.therapists)}
    assert fits["t-english"].missing == ("language",)
    assert "does not sign BSL (no BSL interpreter can be booked)" in fits["t-english"].lacks
    assert fits["t-signs"].tier == "fits"
    assert dict(client_asks(r))["Language"] == (
        "BSL, and English (the service cannot book a BSL interpreter)"
    )


@pytest.mark.parametrize("seed", range(7, 400, 9))
def test_languages_keep_the_optimum_on_tiny_problems(seed):
    data = tiny_problem(seed)
    data["interpreter_languages"] = {"a": ["polish"], "b": []}
    data["therapists"][0]["languages"] = ["english", "bsl"]
    for r in data["referrals"][::2]:
        r["bsl"] = True
    result = result_to_dict(solve(parse_problem(data)))
    assert check_hard_constraints(data, result) == exhaustive_best(data)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"interpreter_languages": ["bsl"]}, "problem: 'interpreter_languages' must be an object"),
        (
            {"interpreter_languages": {"adult": "bsl"}},
            "problem: interpreter_languages of 'adult' must be a list of non-empty strings",
        ),
        (
            {"services": ["adult"], "interpreter_languages": {"child": []}},
            "problem: unknown service in interpreter_languages 'child'",
        ),
    ],
)
def test_invalid_interpreter_languages_are_one_line(extra, message):
    with pytest.raises(ProblemError) as caught:
        parse_problem(problem_of([therapist("t-1")], [referral("r-1")], **extra))
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"bsl": "yes"}, "referral 'r-1': 'bsl' must be true or false"),
        ({"bsl": True, "language": "bsl"}, "referral 'r-1': 'bsl' is true: 'language' is the"),
    ],
)
def test_invalid_bsl_is_one_line_naming_the_record(extra, message):
    with pytest.raises(ProblemError) as caught:
        parse_problem(problem_of([therapist("t-1")], [referral("r-1", **extra)]))
    assert message in str(caught.value) and "\n" not in str(caught.value)
