"""Every catalogue key the code names exists, and no key is left unused.

Keys are found in the source (core/, pages/, streamlit_app.py): a string literal equal to a
key uses it (``t("orders.found")``, a table of keys such as pages/order.py's FIELD_LABELS);
a key the code completes at run time (``t(f"outcome.{value}")``) must fall under one of the
documented ``core.i18n.DYNAMIC_PREFIXES``, and the values those prefixes take are checked
against their enums below.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from core.i18n import CATALOG, DYNAMIC_PREFIXES

ROOT = Path(__file__).resolve().parents[2]


def _sources() -> list[Path]:
    files = [*sorted((ROOT / "core").rglob("*.py")), *sorted((ROOT / "pages").glob("*.py"))]
    files.append(ROOT / "streamlit_app.py")
    return [f for f in files if "i18n" not in f.relative_to(ROOT).parts[:2]]


def _is_t_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name == "t"


@cache
def _scan() -> tuple[frozenset[str], frozenset[str], frozenset[tuple[str, str]]]:
    """(string literals, literal first args of t(), dynamic prefixes of t() with where)."""
    literals: set[str] = set()
    named: set[str] = set()
    dynamic: set[tuple[str, str]] = set()
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
            if not _is_t_call(node):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                named.add(first.value)
            elif isinstance(first, ast.JoinedStr):
                head = first.values[0] if first.values else None
                prefix = head.value if isinstance(head, ast.Constant) else ""
                dynamic.add((str(prefix), where))
    return frozenset(literals), frozenset(named), frozenset(dynamic)


def test_the_scan_finds_the_screens_keys():
    _, named, dynamic = _scan()
    assert "orders.found" in named and "paidy.title" in named
    assert any(prefix == "outcome." for prefix, _ in dynamic)


def test_every_key_named_in_a_t_call_exists():
    _, named, _ = _scan()
    missing = sorted(k for k in named if k not in CATALOG)
    assert not missing, missing


def test_every_key_built_at_run_time_has_a_documented_prefix():
    _, _, dynamic = _scan()
    undocumented = sorted((p, w) for p, w in dynamic if p not in DYNAMIC_PREFIXES)
    assert not undocumented, undocumented


def test_no_key_is_unused():
    literals, _, _ = _scan()
    unused = [k for k in CATALOG if k not in literals and not k.startswith(tuple(DYNAMIC_PREFIXES))]
    assert not unused, unused


def test_every_dynamic_prefix_names_keys():
    for prefix in DYNAMIC_PREFIXES:
        assert any(k.startswith(prefix) for k in CATALOG), prefix


def _values(enum_type) -> list[str]:
    return [m.value for m in enum_type]


def _enum_keys() -> list[str]:
    from core.domain.states import Action
    from core.domain.statuses import AuditOutcome, ItemStatus, Outcome
    from core.operations.batch import BatchAction
    from core.operations.verdict import Verdict
    from core.roles import Role

    keys = [f"outcome.{v}" for v in _values(AuditOutcome) + _values(ItemStatus)]
    keys += [f"result.{v}" for v in _values(Outcome) if v != Outcome.OK]
    keys += [f"{p}.{v}" for p in ("action", "paidy.btn", "paidy.desc") for v in _values(Action)]
    keys += [f"role.{v}" for v in _values(Role)]
    keys += [f"verdict.{v}" for v in (Verdict.DONE, Verdict.NOT_DONE)]
    keys += [f"batch_action.{v}" for v in _values(BatchAction)]
    return keys


@pytest.mark.parametrize("key", _enum_keys())
def test_every_stored_value_has_its_label(key):
    assert key in CATALOG


def test_both_gives_the_pair_or_the_default():
    from core.i18n import both

    assert both("field.order_no") == ("注文番号", "order number")
    assert both("field.nope", "nope") == ("nope", "nope")
