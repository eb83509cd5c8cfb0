"""In a real browser: an error description from Paidy holding a markdown link and a bare URL
is shown as text, with no anchor to it, on the order page and in 設定's connection test."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from core.search import OrderQuery, search_orders
from core.storage.db import get_database
from core.timeutil import utcnow
from tests.e2e.helpers import click_button, expect_text, goto, screenshot

pytestmark = pytest.mark.e2e

DESCRIPTION = "[click me](https://evil.example/md) https://evil.example/bare"


def paidy_answers_with_an_error(server, method: str) -> None:
    entry = {
        "kind": "api_error",
        "status": 400,
        "code": "request_content.malformed",
        "title": "Malformed request content",
        "description": DESCRIPTION,
        "method": method,
    }
    r = requests.post(f"{server.sandbox_url}/_sandbox/faults", json={"next": [entry]}, timeout=5)
    r.raise_for_status()


def assert_text_not_link(page) -> None:
    expect(page.get_by_text(DESCRIPTION, exact=False).first).to_be_visible()
    expect(page.locator("a[href*='evil.example']")).to_have_count(0)


def test_paidy_error_text_is_never_a_link(page, app_server):
    db = get_database(app_server.db_url)
    found = search_orders(db, OrderQuery(paidy_state=["open"]), now=utcnow(), page_size=5)
    no = int(found.frame["order_no"].iloc[-1])
    goto(page, app_server.base, f"/order?order={no}")
    paidy_answers_with_an_error(app_server, "GET")
    click_button(page, "状態確認(ステータス)")
    expect_text(page, "状態確認(ステータス)を実行できませんでした。")
    assert_text_not_link(page)
    screenshot(page, "20_order_paidy_error_as_text")

    goto(page, app_server.base, "/settings")
    paidy_answers_with_an_error(app_server, "GET")
    click_button(page, "接続テスト")
    expect_text(page, "接続テストに失敗しました。")
    assert_text_not_link(page)
    screenshot(page, "21_settings_paidy_error_as_text")
