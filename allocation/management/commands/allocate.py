"""Run the matching engine on a JSON problem, without the database (what-if planning).

    python manage.py allocate --input problem.json --output result.json [--scores pairs.json]

Formats: docs/allocation.md; an example: docs/examples/allocation-problem.json. Bad input
stops with one line naming the file or the record at fault, never a traceback.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from allocation import engine

MAX_TIME_LIMIT = 3600


class Command(BaseCommand):
    help = "Allocate a waiting list given as JSON (no database): proposals with their reasons."
    # Pure what-if planning: no system checks, which could need the database, and no
    # start-up announcement of the database and Redis it never touches (common.apps).
    requires_system_checks: list = []
    uses_services = False

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, help="problem file (JSON)")
        parser.add_argument("--output", required=True, help="where to write the result (JSON)")
        parser.add_argument(
            "--scores", help="also write every referral/therapist pair that fits, with scores"
        )
        parser.add_argument(
            "--time-limit",
            type=float,
            default=3.0,
            help=(
                "seconds the exact solver may take per service "
                f"(default 3, at most {MAX_TIME_LIMIT})"
            ),
        )

    def handle(self, *args, **options):
        time_limit = options["time_limit"]
        if not (math.isfinite(time_limit) and 0 < time_limit <= MAX_TIME_LIMIT):
            raise CommandError(
                f"--time-limit must be a number of seconds more than 0 and at most "
                f"{MAX_TIME_LIMIT}, not {time_limit}"
            )
        data = _read(Path(options["input"]))
        try:
            problem = engine.parse_problem(data)
        except engine.ProblemError as error:
            raise CommandError(f"{options['input']}: {error}") from None
        result = engine.solve(problem, time_limit=time_limit)
        _write(Path(options["output"]), engine.result_to_dict(result))
        if options["scores"]:
            _write(Path(options["scores"]), engine.eligible_pairs(problem))
        objective = result.objective
        self.stdout.write(
            f"Placed {objective['placed']} of {len(problem.referrals)} referrals with "
            f"{len(problem.therapists)} therapists ({objective['method']}, "
            f"{'proven optimal' if objective['optimal'] else 'not proven optimal'}); "
            f"wrote {options['output']}"
            + (f" and {options['scores']}" if options["scores"] else "")
            + "."
        )


def _read(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise CommandError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise CommandError(f"{path}: not valid JSON: nested too deeply") from None
    except json.JSONDecodeError as error:
        raise CommandError(
            f"{path}: not valid JSON: {error.msg.removesuffix(' at')} at line {error.lineno}, "
            f"column {error.colno}"
        ) from None


def _write(path: Path, data) -> None:
    try:
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as error:
        raise CommandError(f"{path}: cannot be written ({error.strerror})") from None
