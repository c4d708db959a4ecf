"""The same waiting list gets the same proposals on every machine.

NumPy picks its vector instructions (SSE, AVX2, AVX-512) for the processor it runs on, and
the routines that choose "any k of the smallest" (``argpartition``) then break ties
differently. A proposal that hangs on such a tie would differ between the coordinator's
run on one server and the same run on another, and a pinned digest would hold on one
machine only. Here the pinned problems (test_engine_pinned.py, with their reasons in
test_engine_reasons_pinned.py) are solved again in child processes with NumPy's faster
instruction sets switched off and another string-hash seed, and must give the same digests.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_reproducible.py -p no:django --noconftest
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from allocation.engine.flow import _first_per_slot

ROOT = Path(__file__).resolve().parents[2]
PINNED_TESTS = (
    "tests/allocation/test_engine_pinned.py",
    "tests/allocation/test_engine_reasons_pinned.py",
)


def _dispatch_targets() -> list[str]:
    """NumPy's optional instruction sets, lowest first (e.g. X86_V3, X86_V4, AVX512_ICL)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__
    return list(__cpu_dispatch__)


# Each configuration: the instruction sets switched off, and the string-hash seed.
CONFIGURATIONS = {
    "only the lowest optional instruction set on": (_dispatch_targets()[1:], "1"),
    "every optional instruction set off": (_dispatch_targets(), "2"),
}


@pytest.mark.parametrize("name", list(CONFIGURATIONS))
def test_the_pinned_proposals_hold_without_the_fastest_instructions(name):
    disabled, hash_seed = CONFIGURATIONS[name]
    env = {
        **os.environ,
        "NPY_DISABLE_CPU_FEATURES": " ".join(disabled),
        "PYTHONHASHSEED": hash_seed,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *PINNED_TESTS,
            "-p",
            "no:django",
            "-p",
            "no:cacheprovider",
            "--noconftest",
            "-q",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,  # under the suite's 300 s per test
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, f"with {' '.join(disabled) or 'nothing'} off: {done.stdout}"
    assert " passed" in summary and "failed" not in summary


def test_each_slots_ties_go_to_its_earliest_arcs():
    # One slot, twelve arcs: the smallest key once, then ten arcs tied for second.
    arc_s = np.zeros(12, dtype=np.int64)
    key = np.array([5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0], dtype=np.int64)
    assert np.flatnonzero(_first_per_slot(arc_s, key, 3)).tolist() == [1, 2, 11]


def test_ties_are_broken_by_position_in_every_slot_however_the_arcs_come():
    rng = np.random.default_rng(5)
    arc_s = rng.integers(0, 40, size=4_000)
    key = rng.integers(-3, 3, size=4_000)  # few values: ties everywhere
    k = 7
    chosen = _first_per_slot(arc_s, key, k)
    for s in range(40):
        arcs = np.flatnonzero(arc_s == s)
        # The k smallest by (key, position): what any machine must choose.
        expected = sorted(arcs[np.lexsort((arcs, key[arcs]))][:k].tolist())
        assert np.flatnonzero(chosen & (arc_s == s)).tolist() == expected, f"slot {s}"


def test_slots_with_at_most_k_arcs_keep_them_all():
    arc_s = np.array([0, 0, 1, 2, 2, 2, 2], dtype=np.int64)
    key = np.array([3, 3, 1, 2, 2, 2, 9], dtype=np.int64)
    assert np.flatnonzero(_first_per_slot(arc_s, key, 3)).tolist() == [0, 1, 2, 3, 4, 5]
