"""The command line's modules import each other in one direction only: ``core.cli`` (parser,
``main``) and ``core.commands`` (what each command does) and ``core.auth.cli`` (who acts) all
lean on ``core.cliargs`` and ``core.auth.users``; none imports back. Counted with every import,
the ones inside functions too, and checked by importing them afresh in several orders."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI_MODULES = [
    "core.cli",
    "core.cliargs",
    "core.commands",
    "core.auth.cli",
    "core.auth.users",
    "core.auth.admin",
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the core modules it imports anywhere in its text (lazy imports included)."""
    paths = {
        _module_name(p): p for p in (ROOT / "core").rglob("*.py") if "migrations" not in p.parts
    }
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), list(graph[start])
    while todo:
        m = todo.pop()
        if m == goal:
            return True
        if m not in seen:
            seen.add(m)
            todo.extend(graph[m])
    return False


@pytest.mark.parametrize("module", CLI_MODULES)
def test_no_cli_module_is_part_of_an_import_cycle(module):
    graph = import_graph()
    assert not reaches(graph, module, module), f"{module} imports itself through others"


def test_commands_and_auth_never_import_the_parser():
    graph = import_graph()
    for module in ("core.commands", "core.auth.cli", "core.auth.users", "core.cliargs"):
        assert not reaches(graph, module, "core.cli"), module


ORDERS = [list(p) for p in itertools.permutations(CLI_MODULES[:4])][::5]


@pytest.mark.parametrize(
    "order", ORDERS, ids=["-".join(m.rsplit(".", 1)[-1] for m in o) for o in ORDERS]
)
def test_each_order_of_import_works_in_a_fresh_interpreter(order):
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in order)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
