"""docs/ARCHITECTURE.md stays true: every path it names exists, and imports only go downward."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ARCHITECTURE.md"

# The floors of the map: a module may import its own floor or those below it.
FLOORS = {"telephony": 1, "demand": 2, "forecasting": 3, "reports": 4, "cli": 5, "benchmarks": 5}


def _named_paths(text: str) -> list[str]:
    names = re.findall(r"`([A-Za-z_][\w./-]*(?:\.py|\.md|/))`", text)
    return sorted(set(names))


def test_every_path_the_architecture_doc_names_exists():
    names = _named_paths(DOC.read_text(encoding="utf-8"))
    assert len(names) > 30, "the map names the rooms it describes"
    missing = [n for n in names if not (ROOT / n).exists()]
    assert missing == []


def test_a_path_that_does_not_exist_is_caught():
    assert _named_paths("see `telephony/nowhere.py` and `demand/`") == ["demand/", "telephony/nowhere.py"]
    assert not (ROOT / "telephony/nowhere.py").exists()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_imports_only_go_down_the_floors():
    upward = []
    for top, floor in FLOORS.items():
        files = [ROOT / "cli.py"] if top == "cli" else sorted((ROOT / top).rglob("*.py"))
        for path in files:
            for imported in _imports(path) & FLOORS.keys():
                if FLOORS[imported] > floor:
                    upward.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert upward == []
