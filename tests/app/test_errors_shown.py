"""What a page shows for a failure (``pages._ui.guard``): an operator-facing error as its
message, anything else as one line quoting a reference that the log holds with the traceback."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest


def _failing_page() -> None:
    from pages import _ui

    with _ui.guard():
        raise KeyError("SELECT secret FROM orders")


def _refusing_page() -> None:
    from core.domain.errors import AlreadyCaptured
    from pages import _ui

    with _ui.guard():
        raise AlreadyCaptured()


def test_a_bug_is_one_line_with_a_reference_into_the_log(caplog):
    caplog.set_level("ERROR", logger="pages._ui")
    at = AppTest.from_function(_failing_page, default_timeout=30).run()
    assert not at.exception and len(at.error) == 1
    shown = str(at.error[0].value)
    ref = re.search(r"KeyError, ref (E-[0-9a-f]{8})", shown)
    assert ref and "SELECT" not in shown and "\n" not in shown, shown
    logged = [r for r in caplog.records if ref.group(1) in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info


def test_an_operator_error_is_its_message():
    at = AppTest.from_function(_refusing_page, default_timeout=30).run()
    assert not at.exception and len(at.error) == 1
    assert str(at.error[0].value) == "すでに売上確定(キャプチャー)済みです。"
