"""docs/clinical-safety.md names the tests that prove its controls: every one must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "clinical-safety.md"
CITED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_cited_test_exists():
    cited = CITED.findall(DOC.read_text())
    assert len(cited) >= 7  # at least one per hazard
    missing = [
        f"{path}::{name}"
        for path, name in cited
        if not (ROOT / path).is_file() or name not in _test_names(ROOT / path)
    ]
    assert missing == []


def test_every_hazard_cites_at_least_one_test():
    sections = re.split(r"^## ", DOC.read_text(), flags=re.MULTILINE)
    hazards = [s for s in sections if re.match(r"H\d+\. ", s)]
    # The seven the safety case began with, and H8 (a restriction holding messages).
    assert len(hazards) == 8
    for section in hazards:
        assert CITED.search(section), section.splitlines()[0]
