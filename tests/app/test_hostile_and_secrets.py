"""What customers typed is shown as text, never markup; the secret key never reaches the
screen. Walks every element of each rendered screen."""

from __future__ import annotations

import pytest
import streamlit as st
from sqlalchemy import update

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
