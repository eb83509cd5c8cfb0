"""削除 in a real browser: find a fully refunded order in the list, tick it, 削除, confirm in
the dialog; it leaves the list and its deep link says it is deleted. (Restored afterwards:
the server is shared by the other browser tests.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.operations.context import Ops
from core.operations.delete import restore_orders
from core.paidy.client import PaidyClient
from core.roles import Actor, Role
from core.search import OrderQuery, get_order, search_orders
from core.storage.db import get_database
from core.timeutil import utcnow
from tests.e2e.helpers import (
    click_button,
    dataframe,
    expect_text,
    fill_text_input,
    goto,
    screenshot,
    select_grid_rows,
)

pytestmark = pytest.mark.e2e


def test_delete_from_the_list_with_confirmation(page, app_server):
    db = get_database(app_server.db_url)
    found = search_orders(db, OrderQuery(paidy_state=["refunded"]), now=utcnow(), page_size=5)
    target = int(found.frame["order_no"].iloc[0])
    try:
        goto(page, app_server.base, "/orders")
        fill_text_input(page, "注文番号", str(target))  # Enter searches (the form folds)
        expect_text(page, "1件が該当しました。")
        select_grid_rows(page, dataframe(page, 0), [0])
        expect_text(page, "1件選択中")
        click_button(page, "選択した受注を削除")
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text(f"次の 1件の受注を削除します: 注文番号 {target}")).to_be_visible()
        assert get_order(db, target).deleted_at is None, "nothing before the confirmation"
        screenshot(page, "11_delete_dialog")
        dialog.get_by_role("button", name="削除する").click()
        expect_text(page, "1件の受注を削除しました。")
        expect_text(page, "0件が該当しました。")
        assert get_order(db, target).deleted_at is not None
        goto(page, app_server.base, f"/order?order={target}")
        expect_text(page, "この受注は削除されています")
        screenshot(page, "12_deleted_order")
    finally:
        ops = Ops(db, PaidyClient(app_server.base, "sk_test_unused"))
        restore_orders(ops, Actor("e2e-admin", Role.ADMIN), [target])
