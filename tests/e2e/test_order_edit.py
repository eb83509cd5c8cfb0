"""Two operators in two browser tabs edit one order: B saves first; A's save is refused with
B's save named, A's value stays in the form, and 「自分の変更を再適用」 then saves both."""

from __future__ import annotations

import pytest

from core.search import OrderQuery, get_order, search_orders
from core.storage.db import get_database
from core.timeutil import utcnow
from tests.e2e.helpers import (
    click_button,
    expect_input_value,
    expect_text,
    fill_text_input,
    goto,
    screenshot,
)

pytestmark = pytest.mark.e2e


def test_two_operators_save_the_same_order(browser, app_server):
    db = get_database(app_server.db_url)
    found = search_orders(db, OrderQuery(paidy_state=["captured"]), now=utcnow(), page_size=5)
    no = int(found.frame["order_no"].iloc[-1])
    before = get_order(db, no)
    tabs = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1600, "height": 1100}, locale="ja-JP")
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        goto(tab, app_server.base, f"/order?order={no}")
        tabs.append(tab)
    a, b = tabs
    try:
        mine = int(before.shipping_fee) + 500
        fill_text_input(a, "送料", str(mine))  # A edits 送料, does not save yet
        fill_text_input(b, "税額", str(int(before.tax) + 30))  # B edits 税額 and saves
        click_button(b, "この内容で登録する")
        expect_text(b, "受注を登録しました")

        click_button(a, "この内容で登録する")
        expect_text(a, "保存できませんでした(この受注は先に保存されています)。")
        expect_text(a, "このフォームを開いた後に、この受注が保存されています。")
        expect_input_value(a, "送料", str(mine))  # not reset
        screenshot(a, "22_order_stale_save_refused")
        click_button(a, "自分の変更を再適用")
        expect_text(a, "あなたの変更を最新の内容に重ねました")
        expect_input_value(a, "送料", str(mine))
        expect_input_value(a, "税額", str(int(before.tax) + 30))
        click_button(a, "この内容で登録する")
        expect_text(a, "受注を登録しました")
        after = get_order(db, no)
        assert (int(after.shipping_fee), int(after.tax)) == (mine, int(before.tax) + 30)
    finally:
        for tab in tabs:
            tab.context.close()
