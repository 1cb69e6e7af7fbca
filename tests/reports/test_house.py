"""The report's rooms, read from their source: imports at the top and in one direction, no
guard against Frontdoor's own modules, errors that speak of arguments rather than flags.

A module imported inside a function hides the graph from a reader (and from the tools that
draw it); a circle means neither module can be understood, or moved, alone.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONTDOOR = ("telephony", "demand", "forecasting", "reports", "cli")
MODULES = sorted((ROOT / "reports").rglob("*.py")) + [ROOT / "forecasting" / "outlook.py"]
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported(node: ast.AST, modules: set[str] = frozenset()) -> list[str]:
    """What an import statement imports: modules by name (``from reports import text`` is the
    module ``reports.text``, not the package's ``__init__``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        subs = [f"{node.module}.{a.name}" for a in node.names]
        return [m for m in subs if m in modules] or [node.module]
    return []


def _graph() -> dict[str, set[str]]:
    """Module-level imports among the report's modules."""
    names = {_name(p) for p in MODULES}
    graph = {}
    for path in MODULES:
        deps = set()
        for node in _tree(path).body:
            deps |= {n for n in _imported(node, names) if n in names}
        graph[_name(path)] = deps - {_name(path)}
    return graph


def test_the_reports_modules_import_each_other_without_a_circle():
    graph = _graph()
    assert "reports.weekly" not in graph["reports.pdf"]  # the error class has its own room
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            pytest.fail("import circle: " + " -> ".join(path[path.index(node):] + [node]))
        if node in done:
            return
        for dep in sorted(graph[node]):
            visit(dep, path + [node])
        done.add(node)

    for module in sorted(graph):
        visit(module, [])


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_imports_stand_at_the_top_and_nothing_is_guarded_or_loaded_by_name(path):
    tree = _tree(path)
    top = set(map(id, tree.body))
    inside = [
        (node.lineno, name)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top
        for name in _imported(node)[:1]
    ]
    assert inside == [], f"imports inside functions or blocks of {path.name}"
    guards = [
        h.lineno
        for h in ast.walk(tree)
        if isinstance(h, ast.ExceptHandler) and "ImportError" in ast.unparse(h.type or ast.Constant(None))
    ]
    assert guards == [], f"except ImportError in {path.name}"
    source = path.read_text(encoding="utf-8")
    assert "importlib" not in source and "__import__" not in source


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_error_messages_name_arguments_not_command_line_flags(path):
    flags = [
        (node.lineno, text.value)
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Raise) and node.exc is not None
        for text in ast.walk(node.exc)
        if isinstance(text, ast.Constant) and isinstance(text.value, str) and FLAG.search(text.value)
    ]
    assert flags == []
