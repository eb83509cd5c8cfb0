"""What customers typed is shown as text, never markup; the secret key never reaches the
screen. Walks every element of each rendered screen."""

from __future__ import annotations

import pytest
import streamlit as st
from sqlalchemy import update

from core.search import get_order
from core.settings import reload_settings
from core.storage.models import Order
from tests.app.conftest import assert_clean
from tests.secrets import CLI_KEY

HOSTILE = {
    "customer_name": '<script>alert("x")</script>**太字** [罠](javascript:alert(1)) 😀',
    "customer_kana": '=HYPERLINK("http://evil.example","押して")',
    "email": "<img src=x onerror=alert(1)>@example.jp",
    "address1": "港区\x07六本木\u202e" + "あ" * 500,
    "note": "# 見出し\n- リスト\n<b>太字</b> $x^2$ :red[赤]",
}


def every_string(node) -> list[str]:
    """All strings in the element tree of the last run (labels, values, markdown bodies,
    table cells), however each element stores them."""
    out: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        for child in getattr(n, "children", {}).values() if hasattr(n, "children") else []:
            stack.append(child)
        proto = getattr(n, "proto", None)
        if proto is not None:
            out.append(str(proto).encode().decode("unicode_escape", errors="ignore"))
        value = getattr(n, "value", None)
        if isinstance(value, str):
            out.append(value)
        elif value is not None and hasattr(value, "to_csv"):
            out.append(value.to_csv())
    return out


@pytest.fixture
def hostile_order(app_env) -> int:
    no = app_env.order_in_state("open")
    with app_env.db.session() as s:
        s.execute(update(Order).where(Order.order_no == no).values(**HOSTILE))
    return no


def test_hostile_customer_text_is_shown_as_text(app_env, hostile_order):
    at = app_env.app("pages/order.py", query={"order": hostile_order})
    assert_clean(at)
    cells = {str(v) for df in at.dataframe for v in df.value.to_numpy().ravel()}
    assert HOSTILE["customer_name"] in cells  # shown verbatim, as a table cell
    assert HOSTILE["customer_kana"] in cells
    for md in at.markdown:
        body = str(md.value)
        assert "<script>" not in body and "javascript:" not in body and "onerror" not in body
    for element in ("markdown", "caption", "text"):
        for e in getattr(at, element):
            assert "<img" not in str(e.value)

    at = app_env.app("pages/orders.py", state={"orders_query": None})
    assert_clean(at)
    at = app_env.app("pages/batch.py")
    assert_clean(at)
    at = app_env.app("pages/dashboard.py")
    assert_clean(at)


def test_the_secret_key_never_reaches_the_screen(app_env, monkeypatch):
    monkeypatch.setenv("PAIDY_SECRET_KEY", CLI_KEY)  # a test key: dashboard may stay open
    monkeypatch.setenv("PAIDY_API_BASE", app_env.sandbox_url)
    reload_settings()
    st.cache_resource.clear()
    try:
        for page in (
            "pages/settings.py",
            "pages/dashboard.py",
            "pages/orders.py",
            "pages/audit.py",
        ):
            at = app_env.app(page)
            assert_clean(at)
            strings = "\n".join(every_string(at._tree))
            assert CLI_KEY not in strings, page
            assert CLI_KEY[8:] not in strings, page
        at = app_env.app("pages/settings.py")
        assert "sk_test_…" + CLI_KEY[-4:] in "\n".join(every_string(at._tree))
    finally:
        st.cache_resource.clear()


# ------------------------------------------------------------------ what Paidy says is text
EVIL_MD = "[click me](https://evil.example/md)"
EVIL_BARE = "https://evil.example/bare"
MARKDOWN_KINDS = ("markdown", "caption", "success", "info", "warning", "error", "toast")


def paidy_answers_with(app_env, description: str, **match) -> None:
    """The sandbox's next matching request gets Paidy's error envelope with ``description``."""
    import requests

    entry = {
        "kind": "api_error",
        "status": 400,
        "code": "request_content.malformed",
        "title": "Malformed request content",
        "description": description,
        **match,
    }
    r = requests.post(f"{app_env.sandbox_url}/_sandbox/faults", json={"next": [entry]}, timeout=5)
    r.raise_for_status()


def assert_plain(at, *literals: str) -> None:
    """Every ``literal`` is visible verbatim as plain text (st.text), and no element that
    renders markdown (where a URL becomes a link) or a link column holds Paidy's words."""
    shown = [str(e.value) for e in at.text]
    for literal in literals:
        assert any(literal in s for s in shown), (literal, shown)
    for kind in MARKDOWN_KINDS:
        for e in getattr(at, kind):
            assert "evil.example" not in str(e.value), (kind, e.value)
    for df in at.dataframe:  # tables: text cells only, never a link column
        assert '"link"' not in str(df.proto.columns).lower(), df.proto.columns


def matching_open(app_env) -> int:
    """An open order whose total equals Paidy's amount (no mismatch confirmation)."""
    for no in app_env.orders_in_state("open"):
        order = get_order(app_env.db, no)
        if order.total == order.payment.amount:
            return no
    raise AssertionError("no open order without a discrepancy")


@pytest.mark.parametrize("description", [EVIL_MD, f"see {EVIL_BARE} now"])
def test_paidy_error_text_on_the_order_page_is_plain_text(app_env, description):
    no = app_env.order_in_state("open")
    at = app_env.app("pages/order.py", query={"order": no})
    assert_clean(at)
    paidy_answers_with(app_env, description, method="GET")
    next(b for b in at.button if b.label == "状態確認(ステータス)").click().run()
    assert_clean(at)
    assert [e.value for e in at.error] == ["状態確認(ステータス)を実行できませんでした。"]
    assert_plain(at, description, "Paidyコード: request_content.malformed")
    # after a reload: the timeline holds Paidy's words verbatim, in a text column
    at = app_env.app("pages/order.py", query={"order": no})
    assert_clean(at)
    assert_plain(at)
    timeline = next(df.value for df in at.dataframe if "detail" in df.value.columns)
    assert timeline["detail"].str.contains(description, regex=False).any()


def test_paidy_error_on_a_money_action_is_plain_text(app_env):
    no = matching_open(app_env)
    at = app_env.app("pages/order.py", query={"order": no})
    paidy_answers_with(app_env, f"{EVIL_MD} {EVIL_BARE}", method="POST")
    next(b for b in at.button if b.label == "売上確定(キャプチャー)").click().run()
    at.button(key="confirm_run").click().run()
    assert_clean(at)
    assert [e.value for e in at.error] == ["売上確定(キャプチャー)を実行できませんでした。"]
    assert_plain(at, f"{EVIL_MD} {EVIL_BARE}")
    assert get_order(app_env.db, no).payment.captured_amount == 0  # nothing applied


def test_connection_test_shows_paidy_text_as_plain_text(app_env):
    at = app_env.app("pages/settings.py")
    paidy_answers_with(app_env, f"{EVIL_MD} {EVIL_BARE}", method="GET")
    at.button(key="settings_test").click().run()
    assert_clean(at)
    assert [e.value for e in at.error] == ["接続テストに失敗しました。"]
    assert_plain(at, f"{EVIL_MD} {EVIL_BARE}")
    at.button(key="settings_test").click().run()  # a success: Paidy's status is text too
    assert [s.value for s in at.success] == ["Paidyに接続できました。"]
    assert any(x.value.startswith("pay_") and "ms" in x.value for x in at.text)
