"""One family of operator-facing errors: every exception whose text is meant for a person
derives from ``core.errors.OperatorError``, has a ``code`` and reads in both languages; the
screens and the CLI catch the base (no duck-typing on ``message``); loggers are named after
their module."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import core
from core.bilingual import BilingualError
from core.cliargs import UsageError
from core.domain.errors import RuleViolation
from core.errors import OperatorError, snake_case
from core.paidy import errors as pe

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "core").rglob("*.py")),
    *sorted((ROOT / "pages").glob("*.py")),
    ROOT / "streamlit_app.py",
]


def _import_all_core() -> None:
    for info in pkgutil.walk_packages(core.__path__, "core."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)


def _all_subclasses(cls: type) -> list[type]:
    found, todo = [], list(cls.__subclasses__())
    while todo:
        sub = todo.pop(0)
        found.append(sub)
        todo.extend(sub.__subclasses__())
    return found


@pytest.mark.parametrize("family", [RuleViolation, pe.PaidyError, BilingualError, UsageError])
def test_the_four_families_share_one_base(family):
    assert issubclass(family, OperatorError)


def test_every_operator_error_has_a_code_and_both_languages():
    _import_all_core()
    classes = _all_subclasses(OperatorError)
    assert len(classes) > 60
    for cls in classes:
        assert isinstance(cls.code, str) and cls.code, cls
        assert cls.code == cls.code.strip().lower(), cls
    # a sample of each shape reads in Japanese and in English
    samples: list[OperatorError] = [
        RuleViolation(),
        pe.PaidyUnavailable("timeout"),
        pe.InvalidPaymentId("x"),
        BilingualError("日本語", "English"),
        UsageError("--out is required"),
    ]
    for exc in samples:
        assert exc.message("ja") and exc.message("en")
    assert BilingualError("日本語", "English").message("ja") == "日本語"
    assert UsageError("bad").message("ja") == UsageError("bad").message("en") == "bad"


def test_a_class_without_its_own_code_is_named_after_itself():
    class SlipPrinterJammed(BilingualError):
        pass

    class NamedOne(BilingualError):
        code = "named"

    class ChildOfNamed(NamedOne):
        pass

    assert SlipPrinterJammed.code == "slip_printer_jammed"
    assert NamedOne.code == "named" and ChildOfNamed.code == "child_of_named"
    assert snake_case("PaidyAPIError") == "paidy_api_error"
    assert snake_case("UserError") == "user_error"


def test_paidy_errors_are_coded_by_kind_and_an_api_error_keeps_paidys_code():
    assert pe.PaidyUnknownOutcome("POST", "/p", "timeout").code == "paidy.unknown_outcome"
    assert pe.PaidyUnavailable("timeout").code == "paidy.unavailable"
    assert pe.PaidyBadAnswer("redirect").code == "paidy.bad_answer"
    assert pe.InvalidPaymentId("x").code == "paidy.invalid_payment_id"
    assert pe.PaidyAPIError(400, "payment.invalid").code == "payment.invalid"
    assert pe.PaidyAPIError(500).code == ""  # Paidy gave none (results use http_500)


def test_refusals_name_their_codes_explicitly():
    """A refusal is stored as ``rule:<code>`` and rebuilt from it: never a derived code."""
    _import_all_core()
    for cls in _all_subclasses(RuleViolation):
        assert "code" in cls.__dict__, f"{cls.__module__}.{cls.__name__} names no code"


def test_nothing_duck_types_on_message():
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in SOURCES
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if 'hasattr(exc, "message")' in line or "hasattr(exc, 'message')" in line
    ]
    assert not offenders, offenders


def test_every_logger_is_named_after_its_module():
    offenders = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != "getLogger" or not node.args:
                continue  # the root logger (logsetup) takes no name
            arg = node.args[0]
            named = isinstance(arg, ast.Name) and arg.id == "__name__"
            third_party = isinstance(arg, ast.Constant) and arg.value in ("sqlalchemy", "urllib3")
            if not (named or third_party):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
