"""`manage.py allocate`: the engine on a JSON problem, without the database. Malformed
input stops with one line naming the file or record, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.allocation.engine_oracle import EXAMPLE, check_hard_constraints

ROOT = Path(__file__).resolve().parents[2]


def test_writes_the_result_and_the_scores(tmp_path, capsys):
    out, scores = tmp_path / "result.json", tmp_path / "pairs.json"
    call_command("allocate", input=str(EXAMPLE), output=str(out), scores=str(scores))
    result = json.loads(out.read_text())
    data = json.loads(EXAMPLE.read_text())
    check_hard_constraints(data, result)
    assert result["objective"]["optimal"] is True
    pairs = json.loads(scores.read_text())
    placed = {(a["referral"], a["therapist"]) for a in result["assignments"]}
    assert placed <= {(p["referral"], p["therapist"]) for p in pairs}
    said = capsys.readouterr().out
    assert said.startswith(f"Placed {result['objective']['placed']} of 6 referrals")


def test_an_empty_problem_is_a_normal_result(tmp_path):
    problem, out = tmp_path / "p.json", tmp_path / "r.json"
    problem.write_text('{"therapists": [], "referrals": []}')
    call_command("allocate", input=str(problem), output=str(out))
    assert json.loads(out.read_text())["assignments"] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ('{"therapists": [', "not valid JSON: Expecting value at line 1, column 17"),
        (b"\xff\xfe", "not UTF-8 text"),
        ('{"therapists": [{"id": "t-1"}]}', "therapist 't-1': missing 'service'"),
        (
            json.dumps(
                {
                    "therapists": [
                        {
                            "id": "t-9",
                            "service": "a",
                            "modalities": ["psychodynamic"],
                            "languages": ["english"],
                            "capacity": -1,
                        }
                    ]
                }
            ),
            "therapist 't-9': capacity must be 0 or more",
        ),
        (
            json.dumps({"referrals": [{"id": "r-1", "service": "a", "weeks_waiting": 1}]}),
            "referral 'r-1': missing 'modality'",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_problem(tmp_path, content, message):
    problem, out = tmp_path / "problem.json", tmp_path / "result.json"
    if isinstance(content, bytes):
        problem.write_bytes(content)
    elif content is not None:
        problem.write_text(content)
    with pytest.raises(CommandError) as caught:
        call_command("allocate", input=str(problem), output=str(out))
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(problem) in str(caught.value)
    assert not out.exists()


def test_an_unwritable_output_is_reported(tmp_path):
    with pytest.raises(CommandError, match="cannot be written"):
        call_command("allocate", input=str(EXAMPLE), output=str(tmp_path / "no" / "r.json"))


def test_from_the_shell_an_error_is_one_line_and_no_traceback(tmp_path):
    problem = tmp_path / "problem.json"
    problem.write_text('{"therapists": [{"id": "t-1", "capcity": 3}]}')
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "allocate",
            "--input",
            str(problem),
            "--output",
            str(tmp_path / "r.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "DATABASE_URL": "sqlite:////nonexistent/x.db"},
        timeout=120,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "WARNING threshold" not in line]
    assert errors == [f"CommandError: {problem}: therapist 't-1': unknown field 'capcity'"]
    assert "Traceback" not in done.stderr


def run_allocate(tmp_path, data, *extra: str) -> subprocess.CompletedProcess:
    """`manage.py allocate` as a coordinator runs it from a shell, in embedded mode."""
    problem = tmp_path / "problem.json"
    problem.write_text(data if isinstance(data, str) else json.dumps(data))
    return subprocess.run(
        [
            sys.executable,
            "manage.py",
            "allocate",
            "--input",
            str(problem),
            "--output",
            str(tmp_path / "r.json"),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "DATABASE_URL": "sqlite:////nonexistent/x.db"},
        timeout=120,
    )


def example(**changes) -> dict:
    """The documented example, with one therapist's or referral's fields changed."""
    data = json.loads(EXAMPLE.read_text())
    for path, value in changes.items():
        kind, field = path.split("__")
        data[kind][0][field] = value
    return data


@pytest.mark.parametrize(
    ("data", "extra", "message"),
    [
        (
            example(therapists__leave=[{"start": None}]),
            (),
            "therapist 't-1': each leave period needs",
        ),
        (
            example(therapists__leave=[{"start": None, "end": None}]),
            (),
            "therapist 't-1': each leave period needs a 'start' and an 'end' date",
        ),
        (example(therapists__capacity=10**20), (), "therapist 't-1': capacity must be"),
        (example(therapists__caseload=10**20), (), "therapist 't-1': caseload must be"),
        (
            example(referrals__referral_date=None, referrals__weeks_waiting=10**20),
            (),
            "referral 'r-101': weeks_waiting must be",
        ),
        ("[" * 100_000 + "]" * 100_000, (), "nested too deeply"),
        (
            json.dumps({"therapists": [{"id": "t", "slots": [[[[[1]]]]] * 3}]}),
            (),
            "therapist 't': missing 'service'",
        ),
        (example(), ("--time-limit", "nan"), "--time-limit must be"),
        (example(), ("--time-limit", "inf"), "--time-limit must be"),
        (example(), ("--time-limit", "-1"), "--time-limit must be"),
        (example(), ("--time-limit", "1e300"), "--time-limit must be"),
    ],
    ids=[
        "leave-start-only",
        "leave-null-dates",
        "huge-capacity",
        "huge-caseload",
        "huge-weeks-waiting",
        "deep-json",
        "nested-slots",
        "time-limit-nan",
        "time-limit-inf",
        "time-limit-negative",
        "time-limit-huge",
    ],
)
def test_hostile_input_is_one_line_with_exit_status_1(tmp_path, data, extra, message):
    done = run_allocate(tmp_path, data, *extra)

    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith("CommandError: ") and message in lines[0], lines[0]
    assert not (tmp_path / "r.json").exists()


def test_notes_are_allowed_on_every_record_as_documented(tmp_path):
    data = example()
    data["notes"] = "what-if for March"
    data["therapists"][0]["notes"] = "back from leave"
    data["therapists"][0]["slots"][0]["notes"] = "room 4 on Tuesdays"
    data["therapists"][0]["leave"] = [{"start": "2025-05-01", "end": "2025-05-02", "notes": "x"}]
    data["referrals"][0]["notes"] = "prefers evenings"

    done = run_allocate(tmp_path, data)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.json").exists()


def test_a_command_that_never_touches_redis_or_the_database_is_quiet_about_them(tmp_path):
    done = run_allocate(tmp_path, example())

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no "Embedded mode" warning: allocate uses neither
    assert done.stdout.startswith("Placed ")


def test_the_exclusions_example_runs_and_explains_the_exclusions(tmp_path):
    example = EXAMPLE.with_name("allocation-exclusions.json")
    out = tmp_path / "result.json"
    call_command("allocate", input=str(example), output=str(out))
    result = json.loads(out.read_text())
    placed = {a["referral"]: a for a in result["assignments"]}
    assert placed["r-201"]["therapist"] != "Ben Carter"
    assert (
        "not a therapist excluded for this client (excluded: Ben Carter: conflict of interest)"
        in placed["r-201"]["reasons"]
    )
    assert "gender requirement (not male) met: is female" in placed["r-202"]["reasons"]
    waiting = {u["referral"]: u for u in result["unplaced"]}
    assert set(waiting) == {"r-203", "r-204"}
    assert "lifting that exclusion would make it eligible" in waiting["r-203"]["suggestions"][0]
    # A trainee is free on Friday morning, but the client needs a qualified therapist.
    assert (
        "1 therapist (Dan Moss) meets everything else but lacks the competence asked for "
        "(a qualified therapist); accepting a trainee would make it eligible"
    ) in waiting["r-204"]["suggestions"]


def test_a_misspelt_exclusion_is_one_line(tmp_path):
    data = json.loads(EXAMPLE.with_name("allocation-exclusions.json").read_text())
    data["referrals"][0]["exclude_therapists"][0]["therapist"] = "Ben Carte"
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(data))
    with pytest.raises(CommandError) as caught:
        call_command("allocate", input=str(problem), output=str(tmp_path / "r.json"))
    assert str(caught.value) == (
        f"{problem}: referral 'r-201': excluded therapist 'Ben Carte' is not a therapist in "
        "the problem"
    )
