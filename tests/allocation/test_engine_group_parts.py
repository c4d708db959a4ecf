"""A group built on part of a service reads the service's inputs once (``_Inputs``) and
slices them: pruning's rounds and the chunks it checks or explains are built that way. It
must be the same group as one built on that part alone, whatever the part.

Run without Django:
.venv/bin/python -m pytest tests/allocation/test_engine_group_parts.py -p no:django --noconftest
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from allocation.engine import _Group, _groups, parse_problem
from allocation.engine.group import _Inputs
from allocation.problem_gen import generate_problem

# Arrays read by position, the same in both (codes are compared through what they decide).
_SAME = (
    "eligible",
    "ok",
    "special",
    "priority",
    "r_k",
    "t_cap",
    "s_t",
    "s_day",
    "s_part",
    "t_slot_start",
    "r_pref_part",
    "r_assessor",
)


def _decided(g: _Group) -> dict:
    """What a group decides, independent of how its codes are numbered."""
    T, R = len(g.thers), len(g.refs)
    out = {name: getattr(g, name) for name in _SAME}
    out |= {f"meets:{family}": np.asarray(m) for family, m in g.meets.items()}
    out |= {f"r_kind:{kind}": v for kind, v in g.r_kind.items()}
    out |= {f"t_room:{kind}": v for kind, v in g.t_room.items()}
    out["site_match"] = g.s_site[:, None] == g.r_pref_site[None, :]
    out["remote"] = g.s_site == 0
    out["gender_match"] = g.t_gender[:, None] == g.r_gpref[None, :]
    out["direct"] = np.broadcast_to(g._direct(np.arange(T)[:, None], np.arange(R)[None, :]), (T, R))
    out["slots"] = np.asarray([(s.id, s.day, s.start, s.length, s.site) for s in g.slots])
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_a_group_on_part_of_a_service_is_the_group_of_that_part(seed):
    problem = parse_problem(
        generate_problem(referrals=1_200, therapists=60, seed=seed, multi_session_share=0.3)
    )
    ((ref_ids, ther_ids),) = _groups(problem).values()
    inputs = _Inputs(problem, ref_ids, ther_ids)
    rng = random.Random(seed)
    parts = [
        (ref_ids, ther_ids),
        (sorted(rng.sample(ref_ids, 400)), ther_ids),
        (sorted(rng.sample(ref_ids, 300)), sorted(rng.sample(ther_ids, 15))),
        (rng.sample(ref_ids, 200), rng.sample(ther_ids, 20)),  # in no particular order
        ([], ther_ids),
        (ref_ids[:10], []),
    ]
    for refs, thers in parts:
        sliced, alone = _Group(problem, refs, thers, inputs), _Group(problem, refs, thers)
        assert sliced.trivial == alone.trivial
        got, want = _decided(sliced), _decided(alone)
        assert got.keys() == want.keys()
        for name in want:
            assert np.array_equal(got[name], want[name]), name
