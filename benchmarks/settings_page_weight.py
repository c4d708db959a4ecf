"""The page-weight benchmark's settings: the real settings, with the static files collected
into the benchmark's own directory (BENCH_STATIC_ROOT), so a run measures the files today's
code collects without touching the project's var/staticfiles. Never used outside
benchmarks/bench_page_weight.py."""

import os
from pathlib import Path

from config.settings import *  # noqa: F403

STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])
