"""The matching engine stays pure: no Django, no database, no other app.

Every module of the ``allocation.engine`` package is imported, and the engine then run
end to end (which also loads OR-tools, imported inside the solvers), in a fresh Python
process; afterwards nothing from Django, a database driver, Celery, Redis or another app
of this project may be loaded. This stands until import-linter contracts hold the same.

Run alone (no database needed):
    .venv/bin/python -m pytest tests/allocation/test_engine_pure.py -p no:django --noconftest
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = (
    "django",
    "rest_framework",
    "psycopg",
    "psycopg2",
    "celery",
    "redis",
    "config",
    "common",
    "notifications",
    "intake",
    "assessment",
    "therapy",
    "staff",
    "demo",
)

PROBE = """
import importlib, json, pkgutil, sys

import allocation.engine as engine

modules = sorted(
    m.name for m in pkgutil.walk_packages(engine.__path__, prefix="allocation.engine.")
)
for name in modules:
    importlib.import_module(name)
with open(sys.argv[1]) as f:
    problem = engine.parse_problem(json.load(f))
engine.result_to_dict(engine.solve(problem))
engine.result_to_dict(engine.greedy(problem))
engine.eligible_pairs(problem)
print(json.dumps({"modules": modules, "loaded": sorted(sys.modules)}))
"""


def test_the_engine_package_imports_nothing_from_django_or_the_database():
    # Without DJANGO_SETTINGS_MODULE, as when the allocate command's engine is used alone.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    example = ROOT / "docs" / "examples" / "allocation-problem.json"
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(example)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    # The split by job is there (parsing, flow, CP-SAT, explanations, greedy, the bound,
    # the swap search, pruning).
    for job in ("parse", "flow", "cp_sat", "explain", "baseline", "bound", "swaps", "prune"):
        assert f"allocation.engine.{job}" in seen["modules"]
    assert "ortools" in {name.split(".")[0] for name in seen["loaded"]}
    leaked = sorted(name for name in seen["loaded"] if name.split(".")[0] in FORBIDDEN)
    assert not leaked, f"the engine loaded {leaked[:10]}"
    # ``allocation`` itself is only the package holding the engine: no models, services.
    others = sorted(
        name
        for name in seen["loaded"]
        if name.startswith("allocation.") and not name.startswith("allocation.engine")
    )
    assert not others, f"the engine loaded {others}"
