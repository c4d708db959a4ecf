"""`manage.py allocate`: the engine on a JSON problem, without the database. Malformed
input stops with one line naming the file or record, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.allocation.test_engine import EXAMPLE, check_hard_constraints

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
