"""Run every benchmarks/bench_*.py and rewrite benchmarks/RESULTS.md.

Each benchmark prints a complete Markdown section on stdout; this script adds the machine
and the date, and keeps a failed benchmark's error in the table rather than hiding it.

`python benchmarks/run.py staff_lists` (or `make bench BENCH=staff_lists`) runs only the
benchmarks named and replaces their sections, keeping the others' latest figures.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def machine() -> str:
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        memory = float("nan")
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )


def _sections(text: str) -> list[str]:
    """The `## ` sections of an existing RESULTS.md, in order."""
    parts = ("\n" + text).split("\n## ")[1:]
    return ["## " + part.strip() for part in parts]


def main(names: list[str]) -> int:
    sections = []
    failed = 0
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in names}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
        if len(scripts) != len(wanted):
            print(f"no such benchmark among: {', '.join(sorted(wanted))}", file=sys.stderr)
            return 2
    for script in scripts:
        print(f"running {script.name} …", flush=True)
        result = subprocess.run(
            [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True
        )
        if result.returncode == 0:
            sections.append(result.stdout.strip())
        else:
            failed += 1
            sections.append(
                f"## {script.name}\n\nFailed (exit {result.returncode}):\n\n```\n"
                f"{result.stderr.strip()[-2000:]}\n```"
            )
    stamp = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    results = HERE / "RESULTS.md"
    if names and results.exists():
        # Keep every other benchmark's section; replace (or add) the ones just run.
        previous = results.read_text()
        fresh = {section.splitlines()[0]: section for section in sections}
        kept = []
        for section in _sections(previous):
            kept.append(fresh.pop(section.splitlines()[0], section))
        sections = kept + list(fresh.values())
        first = re.search(r"`make bench` on ([0-9-]+ [0-9:]+ UTC)", previous)
        since = f" on {first.group(1)}" if first else ""
        rerun = ", ".join(s.stem for s in scripts)
        written = f"Written by `make bench`{since}; {rerun} rerun on {stamp}."
    else:
        written = f"Written by `make bench` on {stamp}."
    header = f"# Benchmark results\n\n{written}\n\nMachine: {machine()}.\n"
    results.write_text(header + "\n" + "\n\n".join(sections) + "\n")
    print(f"wrote {results}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
