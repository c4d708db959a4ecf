"""Run every benchmarks/bench_*.py and rewrite benchmarks/RESULTS.md.

Each benchmark prints a complete Markdown section on stdout; this script adds the machine
and the date, and keeps a failed benchmark's error in the table rather than hiding it.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
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


def main() -> int:
    sections = []
    failed = 0
    for script in sorted(HERE.glob("bench_*.py")):
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
    header = (
        "# Benchmark results\n\n"
        f"Written by `make bench` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.\n\n"
        f"Machine: {machine()}.\n"
    )
    (HERE / "RESULTS.md").write_text(header + "\n" + "\n\n".join(sections) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
