"""The matching engine (allocation/engine/): empty problems, pairs, the example file, and
validation: a bad problem is refused naming the record.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_validation.py -p no:django --noconftest
"""

from __future__ import annotations

import copy
import json

import pytest

from allocation.engine import (
    ProblemError,
    eligible_pairs,
    parse_problem,
    result_to_dict,
    solve,
)
from allocation.problem_gen import generate_problem
from tests.allocation.engine_oracle import (
    EXAMPLE,
    check_hard_constraints,
    day_of,
    pair_allowed,
    priority_of,
    problem_of,
    referral,
    slot_fits,
    therapist,
)

# ---------------------------------------------------------------------------------------
# Empty problems, pairs, example file
# ---------------------------------------------------------------------------------------


def test_empty_waiting_list_and_no_therapists_are_normal_results():
    empty = result_to_dict(solve(parse_problem({"therapists": [], "referrals": []})))
    assert empty["assignments"] == [] and empty["unplaced"] == []
    assert empty["objective"]["placed"] == 0 and empty["stats"]["considered"] == 0

    no_referrals = result_to_dict(solve(parse_problem(problem_of([therapist()], []))))
    assert no_referrals["assignments"] == [] and no_referrals["unplaced"] == []

    nobody = result_to_dict(solve(parse_problem(problem_of([], [referral()]))))
    assert nobody["assignments"] == []
    assert nobody["unplaced"][0]["reasons"] == ["no therapists in service 'adult'"]
    assert eligible_pairs(parse_problem(problem_of([], []))) == []


def test_eligible_pairs_lists_exactly_the_allowed_pairs():
    data = generate_problem(referrals=150, therapists=15, seed=5, multi_session_share=0.2)
    problem = parse_problem(data)
    pairs = eligible_pairs(problem)
    referrals = {r["id"]: r for r in data["referrals"]}
    therapists = {t["id"]: t for t in data["therapists"]}
    listed = {(p["referral"], p["therapist"]) for p in pairs}
    for rid, r in referrals.items():
        for tid, t in therapists.items():
            fitting = [s for s in t["slots"] if slot_fits(r, s, data)]
            days = {day_of(s["day"]) for s in fitting}
            allowed = pair_allowed(r, t, data) and len(days) >= r.get("sessions_per_week", 1)
            assert ((rid, tid) in listed) == allowed, (rid, tid)
    for p in pairs:
        assert p["slots"]
        assert p["score"] == problem.place_scale + p["priority"] * problem.scale + p["fit"]
        assert p["priority"] == priority_of(referrals[p["referral"]], data["today"])
    assert [p["score"] for p in pairs] == sorted((p["score"] for p in pairs), reverse=True)
    placed = {(a.referral, a.therapist) for a in solve(problem).assignments}
    assert placed <= listed


def test_example_problem_parses_and_solves():
    data = json.loads(EXAMPLE.read_text())
    result = result_to_dict(solve(parse_problem(data)))
    check_hard_constraints(data, result)
    assert result["assignments"] and result["unplaced"]
    json.dumps(result)


# ---------------------------------------------------------------------------------------
# Validation: errors name the record
# ---------------------------------------------------------------------------------------


def broken(path, value, *, delete=False):
    """A valid two-record problem with one field changed."""
    data = problem_of(
        [therapist("t-17", capacity=2)],
        [referral("r-3")],
        sites=["North", "South"],
        services=["adult"],
    )
    target = data
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


SLOT = ("therapists", 0, "slots", 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (broken(("therapists", 0, "capacity"), -1), "therapist 't-17': capacity must be 0 or more"),
        (broken(("therapists", 0, "caseload"), -2), "therapist 't-17': caseload must be 0 or more"),
        (broken((*SLOT, "start"), "25:00"), "therapist 't-17' slot 's1': start '25:00' is not"),
        (broken((*SLOT, "start"), "9am"), "therapist 't-17' slot 's1': start '9am' is not"),
        (broken((*SLOT, "start"), "23:30"), "slot 's1': 23:30 for 50 minutes runs past midnight"),
        (broken((*SLOT, "day"), 7), "therapist 't-17' slot 's1': slot has unknown day 7"),
        (broken((*SLOT, "day"), "funday"), "slot 's1': slot has unknown day 'funday'"),
        (broken((*SLOT, "site"), "South"), "slot 's1': site 'South' is not one of the therapist"),
        (broken((*SLOT, "length"), 0), "slot 's1': length must be 1 or more"),
        (
            broken(
                ("therapists", 0, "slots"),
                [
                    {"id": "a", "day": 1, "start": "18:00", "length": 50, "site": "North"},
                    {"id": "b", "day": 1, "start": "18:30", "length": 50, "site": "North"},
                ],
            ),
            "therapist 't-17': slots 'a' and 'b' overlap",
        ),
        (
            broken(
                ("therapists", 0, "slots"),
                [
                    {"id": "a", "day": 1, "start": "09:00", "length": 50, "site": "North"},
                    {"id": "a", "day": 2, "start": "09:00", "length": 50, "site": "North"},
                ],
            ),
            "therapist 't-17': duplicate slot id 'a'",
        ),
        (broken(("therapists", 0, "sites"), ["Nowhere"]), "therapist 't-17': unknown site"),
        (broken(("therapists", 0, "service"), "child"), "therapist 't-17': unknown service"),
        (broken(("therapists", 0, "capcity"), 3), "therapist 't-17': unknown field 'capcity'"),
        (broken(("therapists", 0, "frequencies"), [0]), "therapist 't-17': frequencies must"),
        (
            broken(("therapists", 0, "leave"), [{"start": "2025-03-10", "end": "2025-03-01"}]),
            "therapist 't-17': leave ends (2025-03-01) before it starts",
        ),
        (broken(("therapists", 0, "id"), 17), "therapist #1: 'id' must be a non-empty string"),
        (broken(("referrals", 0, "sites"), ["Nowhere"]), "referral 'r-3': unknown site 'Nowhere'"),
        (
            broken(("referrals", 0, "preferred_site"), "South"),
            "referral 'r-3': preferred site 'South' is not among its acceptable sites",
        ),
        (broken(("referrals", 0, "mode"), "teleport"), "referral 'r-3': mode 'teleport'"),
        (
            broken(("referrals", 0, "availability"), [[1, "night"]]),
            "referral 'r-3': availability has unknown part of day 'night'",
        ),
        (
            broken(("referrals", 0, "availability"), [[9, "evening"]]),
            "referral 'r-3': availability has unknown day 9",
        ),
        (
            broken(("referrals", 0, "sessions_per_week"), 6),
            "referral 'r-3': sessions_per_week must be 5 or less",
        ),
        (broken(("referrals", 0, "risk"), "extreme"), "referral 'r-3': risk 'extreme'"),
        (
            broken(("referrals", 0, "weeks_waiting"), None, delete=True),
            "referral 'r-3': needs weeks_waiting, or referral_date",
        ),
        (
            broken(("referrals", 0, "referral_date"), "2024-12-01"),
            "referral 'r-3': give weeks_waiting or referral_date, not both",
        ),
        (
            broken(("referrals", 0, "gender_preference"), {"strength": "required"}),
            "referral 'r-3': a gender preference needs a 'gender'",
        ),
        (
            broken(("referrals", 0, "planned_start"), "2025-02-30"),
            "referral 'r-3': 'planned_start' must be a date",
        ),
        (broken(("referrals", 0, "service"), "child"), "referral 'r-3': unknown service 'child'"),
    ],
)
def test_invalid_problems_are_rejected_naming_the_record(data, message):
    with pytest.raises(ProblemError) as caught:
        parse_problem(data)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_duplicate_and_inconsistent_records_are_rejected():
    data = problem_of([therapist(), therapist()], [])
    with pytest.raises(ProblemError, match="therapist 't-1': duplicate id"):
        parse_problem(data)
    data = problem_of([therapist()], [referral(), referral()])
    with pytest.raises(ProblemError, match="referral 'r-1': duplicate id"):
        parse_problem(data)
    data = problem_of([therapist()], [referral(mode="in_person", sites=[])])
    with pytest.raises(ProblemError, match="referral 'r-1': mode 'in_person' needs"):
        parse_problem(data)
    data = problem_of([therapist()], [referral(referral_date="2025-04-01")])
    del data["referrals"][0]["weeks_waiting"]
    with pytest.raises(ProblemError, match="referral 'r-1': referral_date 2025-04-01 is after"):
        parse_problem(data)
    remote_slot = [{"id": "s1", "day": 1, "start": "18:00", "length": 50, "site": "remote"}]
    data = problem_of([therapist(remote=False, slots=remote_slot)], [])
    with pytest.raises(ProblemError, match="slot 's1': is remote but the therapist does not"):
        parse_problem(data)
    with pytest.raises(ProblemError, match="problem: must be an object"):
        parse_problem([])


def test_referral_date_and_today_give_the_wait():
    data = problem_of([therapist()], [referral(referral_date="2025-01-13")])
    del data["referrals"][0]["weeks_waiting"]
    problem = parse_problem(data)
    assert problem.referrals[0].weeks_waiting == 7
    result = result_to_dict(solve(problem))
    check_hard_constraints(data, result)


def test_same_input_gives_the_same_answer():
    data = generate_problem(referrals=400, therapists=30, seed=9, multi_session_share=0.3)
    first = result_to_dict(solve(parse_problem(copy.deepcopy(data))))
    second = result_to_dict(solve(parse_problem(copy.deepcopy(data))))
    for result in (first, second):
        result.pop("stats")
    assert first == second


def test_generator_is_seeded():
    a = generate_problem(referrals=50, therapists=5, seed=3)
    b = generate_problem(referrals=50, therapists=5, seed=3)
    c = generate_problem(referrals=50, therapists=5, seed=4)
    assert a == b and a != c


def test_weights_can_be_changed_within_bounds():
    data = problem_of(
        [therapist()],
        [referral("r-waited", weeks_waiting=20), referral("r-risk", weeks_waiting=0, risk="high")],
    )
    assert [a.referral for a in solve(parse_problem(data)).assignments] == ["r-waited"]
    data["weights"] = {"risk_high": 5000}
    assert [a.referral for a in solve(parse_problem(data)).assignments] == ["r-risk"]
    data["weights"] = {"fit_gender": 101}
    with pytest.raises(ProblemError, match="weights: fit_gender must be 100 or less"):
        parse_problem(data)
    data["weights"] = {"breach_six": 1}
    with pytest.raises(ProblemError, match="weights: unknown field 'breach_six'"):
        parse_problem(data)
