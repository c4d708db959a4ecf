"""The reasons for unplaced referrals, pinned word for word on seeded problems.

The explanations are built in bulk (allocation/engine/explain.py) for speed; this test
holds them to the exact text they had before any such rework: a digest of every unplaced
referral's priority, reasons and suggestions, in order. A change of wording is a change
of this test, made on purpose; a change of speed must leave it as it is. The truth of
each claim is checked elsewhere (test_engine_swaps_bounds.py, ``check_every_claim``).

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_reasons_pinned.py -p no:django --noconftest
"""

from __future__ import annotations

import hashlib
import json

import pytest

from allocation.engine import parse_problem, prune, solve
from allocation.problem_gen import generate_problem
from tests.allocation.test_engine_caseload_mix import _tight

# (referrals, therapists, seed, share seen more than weekly, caseload mix, pruned):
# "tight" makes the caps decide (test_engine_caseload_mix.py); pruned services explain
# their left-out referrals in chunks against the final placements (prune.py).
CASES = {
    "mid-size": ((3000, 150, 7, 0.2, "generated", False), 2778, 0),
    "pruned, in chunks": ((1500, 60, 3, 0.3, "generated", True), 1428, 1100),
    "weekly, no caps": ((1200, 80, 11, 0.0, "none", False), 1096, 0),
    "caps decide": ((800, 40, 9, 0.2, "tight", False), 746, 0),
    "caps decide, pruned": ((1000, 40, 1, 0.3, "tight", True), 959, 710),
    "small and tight": ((300, 40, 1, 0.3, "tight", False), 261, 0),
    "many therapists": ((500, 200, 5, 0.5, "tight", False), 283, 0),
}
DIGESTS = {
    "mid-size": "aa2021ab290f77f726d42f537e498f4e52b7119e5e56c6d5b0bb0673958c314d",
    "pruned, in chunks": "fdce62dbe50ca29bd590c2cce881deac50f9cdf666af8dca9f0d9a3b63629e74",
    "weekly, no caps": "184a86ea6c91a83f7fc38963d6b38c08f73e01867caab432cce8c5441f0bb212",
    "caps decide": "af14dc777eae76fd2977d50e28d6b1a79d0e77de726114a88eba317f81e0ed9d",
    "caps decide, pruned": "41b6fea687d0163534ff7049c6bbabeff4b828b7af1d298a69c2a11bedd4070a",
    "small and tight": "775da080797208888b0217c8853f4f756a9af276e5bfd4d3d72b29a1b887d8fa",
    "many therapists": "1a6b34c3a95deb69d68caac0a06fd2e6030dd4db0b9e061c6cfe62742afe278d",
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_reasons_for_unplaced_referrals_are_unchanged(monkeypatch, name):
    (referrals, therapists, seed, multi, mix, pruned), unplaced, left_out = CASES[name]
    data = generate_problem(
        referrals=referrals,
        therapists=therapists,
        seed=seed,
        multi_session_share=multi,
        caseload_mix=mix != "none",
    )
    if mix == "tight":
        data = _tight(data, seed)
    if pruned:
        monkeypatch.setattr(prune, "_PRUNE_FROM", 500)
        monkeypatch.setattr(prune, "_CHUNK", 300)
    result = solve(parse_problem(data), exact_limit=0)
    assert (len(result.unplaced), result.stats["left_out"]) == (unplaced, left_out)
    text = json.dumps(
        [[u.referral, u.priority, list(u.reasons), list(u.suggestions)] for u in result.unplaced],
        ensure_ascii=False,
    )
    assert hashlib.sha256(text.encode()).hexdigest() == DIGESTS[name]
