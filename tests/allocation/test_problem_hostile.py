"""Problem parsing with hostile values in any field: every outcome is a problem or one
ProblemError naming the record, never another exception (which `manage.py allocate` would
print as a traceback)."""

from __future__ import annotations

import copy
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from allocation import engine
from tests.allocation.engine_oracle import EXAMPLE

BASE = json.loads(EXAMPLE.read_text())


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([10**20, -(10**20), 2**63, 2**64, -1, 0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec="utf-8"), max_size=50),
    st.sampled_from(["\x00", "\u202e", "\r\n", "x" * 100_000, "9999-99-99", "", " "]),
    st.integers(min_value=1, max_value=990).map(nested),  # as deep as JSON can carry
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.lists(st.integers(), max_size=3),
)

# Where a hostile value goes: (list of records in the problem or None, field).
PLACES = (
    [(None, key) for key in ("today", "services", "sites", "weights", "therapists", "notes")]
    + [("therapists", key) for key in sorted(engine._THERAPIST_FIELDS)]
    + [("referrals", key) for key in sorted(engine._REFERRAL_FIELDS)]
    + [("slot", key) for key in sorted(engine._SLOT_FIELDS)]
    + [("leave", key) for key in ("start", "end", "notes")]
    + [("weights", key) for key in ("per_week", "max_weeks", "fit_gender")]
)


def place(data: dict, where: str | None, key: str, value) -> None:
    if where is None:
        data[key] = value
    elif where == "slot":
        data["therapists"][0]["slots"][0][key] = value
    elif where == "leave":
        therapist = data["therapists"][0]
        therapist["leave"] = [{"start": "2025-04-01", "end": "2025-04-04"}]
        therapist["leave"][0][key] = value
    elif where == "weights":
        data["weights"] = {key: value}
    else:
        data[where][0][key] = value


@settings(max_examples=300, deadline=None, derandomize=True)
@given(spot=st.sampled_from(PLACES), value=HOSTILE)
def test_a_hostile_value_anywhere_is_a_problem_error_or_a_solvable_problem(spot, value):
    data = copy.deepcopy(BASE)
    place(data, *spot, value)
    try:
        problem = engine.parse_problem(data)
    except engine.ProblemError as error:
        assert "\n" not in str(error)
        return
    result = engine.solve(problem, time_limit=0.5)
    json.dumps(engine.result_to_dict(result), allow_nan=False)
