"""削除 on the screens (AppTest): the order page's button and confirmation, list rows, the
deleted order's deep link (admin: 復元), the admins' restore page, and the dashboard's
unlinked authorizations with their one-click link."""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import select

from core.roles import Actor, Role
from core.search import OrderQuery, count_orders, get_order
from core.settings import reload_settings
from core.storage.models import Order
from core.timeutil import utcnow
from tests.app.conftest import assert_clean, button_labels, grid, joined, tick


def is_deleted(app_env, no: int) -> bool:
    with app_env.db.session() as s:
        return s.scalar(select(Order.deleted_at).where(Order.order_no == no)) is not None


def test_order_page_delete_confirm_notice_and_restore(app_env):
    no = app_env.order_in_state("refunded")
    at = app_env.app("pages/order.py", query={"order": no})
    assert_clean(at)
    at.button(key=f"order_delete_{no}").click().run()
    assert not is_deleted(app_env, no), "nothing is deleted before the confirmation"
    assert f"次の 1件の受注を削除します: 注文番号 {no}" in joined(at)
    at.button(key="delete_cancel").click().run()
    assert not is_deleted(app_env, no) and "delete_run" not in [b.key for b in at.button]

    at.button(key=f"order_delete_{no}").click().run()
    at.button(key="delete_run").click().run()
    assert_clean(at)
    assert is_deleted(app_env, no)
    assert "1件の受注を削除しました。" in joined(at)
    assert "この受注は削除されています" in joined(at)
    assert "▼Paidy 決済情報" not in joined(at)  # read-only: no panel, no editor

    at = app_env.app("pages/order.py", query={"order": no})  # the deep link, later
    assert "この受注は削除されています" in joined(at) and "demo-operator" in joined(at)
    at.button(key=f"restore_{no}").click().run()
    assert_clean(at)
    assert not is_deleted(app_env, no)
    assert "1件の受注を復元しました。" in joined(at) and "▼Paidy 決済情報" in joined(at)


def test_order_page_refusal_says_why_and_changes_nothing(app_env):
    no = app_env.order_in_state("open")
    at = app_env.app("pages/order.py", query={"order": no})
    at.button(key=f"order_delete_{no}").click().run()
    at.button(key="delete_run").click().run()
    assert_clean(at)
    assert not is_deleted(app_env, no)
    assert any("先にクローズしてください" in w.value for w in at.warning)


def test_english(app_env):
    no = app_env.order_in_state("closed")
    at = app_env.app("pages/order.py", query={"order": no}, lang="en")
    at.button(key=f"order_delete_{no}").click().run()
    assert f"Delete these 1 orders: {no}" in joined(at)
    at.button(key="delete_run").click().run()
    assert "Deleted 1 orders." in joined(at) and "This order is deleted" in joined(at)


def test_list_rows_delete_with_confirmation(app_env):
    refunded = app_env.orders_in_state("refunded")[0]
    opened = app_env.orders_in_state("open")[0]
    total = count_orders(app_env.db, OrderQuery(), now=utcnow())
    at = app_env.app("pages/orders.py")
    frame = grid(at, "orders_grid").value
    rows = [int(frame.index[frame["order_no"] == n][0]) for n in (refunded, opened)]
    tick(at, "orders_grid", rows)
    assert "2件選択中" in joined(at)
    at.button(key="orders_delete").click().run()
    assert "次の 2件の受注を削除します" in joined(at)
    at.button(key="delete_run").click().run()
    assert_clean(at)
    assert is_deleted(app_env, refunded) and not is_deleted(app_env, opened)
    assert "1件の受注を削除しました。" in joined(at)
    assert any(f"注文番号 {opened}" in w.value and "クローズ" in w.value for w in at.warning)
    assert f"{total - 1}件が該当しました。" in joined(at)
    assert refunded not in set(grid(at, "orders_grid").value["order_no"])
    assert "0件選択中" in joined(at)  # the selection is cleared: the rows moved


def test_the_delete_button_needs_an_operator(app_env, monkeypatch):
    no = app_env.order_in_state("closed")
    monkeypatch.setenv("AUTH_MODE", "password")
    reload_settings()
    viewer = {"auth_actor": Actor("sato", Role.VIEWER), "auth_last_seen": time.time()}
    at = app_env.app("pages/order.py", query={"order": no}, state=viewer)
    assert_clean(at)
    assert f"order_delete_{no}" not in [b.key for b in at.button]
    at = app_env.app("pages/orders.py", state=viewer)
    assert "orders_delete" not in [b.key for b in at.button]


def test_deleted_deep_link_for_an_operator_has_no_restore(app_env, monkeypatch):
    no = app_env.order_in_state("refunded")
    at = app_env.app("pages/order.py", query={"order": no})
    at.button(key=f"order_delete_{no}").click().run()
    at.button(key="delete_run").click().run()
    monkeypatch.setenv("AUTH_MODE", "password")
    reload_settings()
    operator = {"auth_actor": Actor("tanaka", Role.OPERATOR), "auth_last_seen": time.time()}
    at = app_env.app("pages/order.py", query={"order": no}, state=operator)
    assert_clean(at)
    assert "この受注は削除されています" in joined(at)
    assert "復元できるのは管理者のみです。" in joined(at)
    assert f"restore_{no}" not in [b.key for b in at.button]
    with pytest.raises(ValueError, match=r"deleted\.py"):  # not in an operator's navigation
        at.switch_page("pages/deleted.py")


def test_restore_page_for_admins(app_env):
    a, b = app_env.orders_in_state("refunded")[:2]
    at = app_env.app("pages/deleted.py")
    assert "削除済みの受注はありません。" in joined(at)
    for no in (a, b):
        at = app_env.app("pages/order.py", query={"order": no})
        at.button(key=f"order_delete_{no}").click().run()
        at.button(key="delete_run").click().run()
    at = app_env.app("pages/deleted.py")
    assert_clean(at)
    listed = at.dataframe(key="deleted_grid").value
    assert sorted(listed["order_no"]) == sorted([a, b])
    assert set(listed["deleted_by"]) == {"demo-operator"}
    row = int(listed.index[listed["order_no"] == a][0])
    at.session_state["deleted_grid"] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    at.button(key="deleted_restore").click().run()
    assert_clean(at)
    assert "1件の受注を復元しました。" in joined(at)
    assert not is_deleted(app_env, a) and is_deleted(app_env, b)
    assert list(at.dataframe(key="deleted_grid").value["order_no"]) == [b]


def test_dashboard_lists_unlinked_authorizations_and_links_in_one_click(app_env):
    from core.operations.webhook import receive
    from pages._ui import runtime

    spec = {
        "buyer": {"name1": "未登録 花子", "email": "u@example.jp"},
        "order": {"items": [{"title": "帽子", "unit_price": 3300, "quantity": 1}], "tax": 0},
        "test": True,
    }
    r = requests.post(
        f"{app_env.sandbox_url}/_sandbox/payments/bulk", json={"payments": [spec]}, timeout=5
    )
    pid = r.json()["ids"][0]
    at = app_env.app()
    assert "未紐付けのPaidy決済" not in joined(at)  # hidden while there are none
    receive(runtime().ops, {"payment_id": pid, "status": "authorize_success", "order_ref": "**x**"})
    at.run()
    assert_clean(at)
    assert "未紐付けのPaidy決済" in joined(at)
    assert any(pid in t.value and "**x**" in t.value for t in at.text), "shown as plain text"
    assert "紐付け" in button_labels(at)
    at.button(key=f"dash_link_{pid}").click().run()
    assert_clean(at)
    assert any(pid in s.value and "紐付けました" in s.value for s in at.success)
    assert "未紐付けのPaidy決済" not in joined(at)
    with app_env.db.session() as s:
        no = s.scalar(select(Order.order_no).where(Order.customer_name == "未登録 花子"))
    assert get_order(app_env.db, no).payment.payment_id == pid
