"""Every screen renders in both languages; search, paging, the deep link, the language switch."""

from __future__ import annotations

import pytest

from tests.app.conftest import assert_clean, grid, joined, tick

PAGES = [
    "pages/dashboard.py",
    "pages/orders.py",
    "pages/order.py",
    "pages/batch.py",
    "pages/audit.py",
    "pages/settings.py",
]
TITLES = {
    "ja": [
        "ダッシュボード",
        "受注管理",
        "受注編集 注文番号",
        "Paidy決済状況管理",
        "操作履歴",
        "設定",
    ],
    "en": ["Dashboard", "Orders", "Edit order", "Paidy payments (batch)", "Audit log", "Settings"],
}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_screen_renders(app_env, lang):
    captured = app_env.order_in_state("captured")
    for page, title in zip(PAGES, TITLES[lang], strict=True):
        at = app_env.app(
            page, lang=lang, query={"order": captured} if page.endswith("order.py") else None
        )
        assert_clean(at)
        assert any(title in t.value for t in at.title), (page, [t.value for t in at.title])
    # the open-dashboard banner and the demo mode badge are on every page
    assert "AUTH_MODE=none" in joined(at)
    assert ("デモ" if lang == "ja" else "Demo") in joined(at)


def test_language_switch(app_env):
    at = app_env.app()
    assert at.title[0].value == "ダッシュボード"
    at.sidebar.radio(key="ui_lang").set_value("en").run()
    assert_clean(at)
    assert at.title[0].value == "Dashboard"
    at.switch_page("pages/orders.py").run()
    assert at.title[0].value == "Orders"  # kept in session state across pages
    assert "orders found" in joined(at)


def test_search_count_and_paging(app_env):
    at = app_env.app("pages/orders.py")
    assert_clean(at)
    assert "40件が該当しました。" in joined(at)
    # 25 per page -> two pages; the second holds the remaining 15 rows
    at.selectbox(key="orders_page_size").set_value(25).run()
    assert "1 / 2 ページ" in joined(at)
    at.number_input(key="orders_page").set_value(2).run()
    assert_clean(at)
    assert "2 / 2 ページ" in joined(at)
    assert len(grid(at, "orders_grid").value) == 15
    # exact order number through the form
    at.text_input(key="of_order_no").input("7")
    next(b for b in at.button if b.label == "この条件で検索する").click().run()
    assert_clean(at)
    assert "1件が該当しました。" in joined(at)
    shown = grid(at, "orders_grid").value
    assert list(shown["order_no"]) == [7]
    assert shown["edit"].iloc[0] == "/order?order=7"
    # the conditions are remembered across pages
    at.switch_page("pages/dashboard.py").run()
    at.switch_page("pages/orders.py").run()
    assert "1件が該当しました。" in joined(at)
    assert at.text_input(key="of_order_no").value == "7"


def test_search_refuses_bad_input_with_a_message(app_env):
    at = app_env.app("pages/orders.py")
    at.text_input(key="of_amount_min").input("abc")
    next(b for b in at.button if b.label == "この条件で検索する").click().run()
    assert_clean(at)
    assert any("購入金額(下限)" in e.value for e in at.error)


def test_search_by_paidy_state_and_expiry(app_env):
    opened = app_env.orders_in_state("open")
    at = app_env.app("pages/orders.py")
    at.multiselect(key="of_paidy_state").set_value(["open"])
    next(b for b in at.button if b.label == "この条件で検索する").click().run()
    assert f"{len(opened)}件が該当しました。" in joined(at)
    assert sorted(grid(at, "orders_grid").value["order_no"]) == opened


def test_order_deep_link(app_env):
    no = app_env.order_in_state("captured")
    at = app_env.app("pages/order.py", query={"order": no})
    assert_clean(at)
    assert at.title[0].value == f"受注編集 注文番号 {no}"
    assert "▼Paidy 決済情報" in joined(at)
    assert str(at.query_params["order"]).strip("[]'") == str(no)


def test_order_page_unknown_and_bad_numbers(app_env):
    at = app_env.app("pages/order.py", query={"order": 99999})
    assert_clean(at)
    assert any("99999" in e.value for e in at.error)
    at = app_env.app("pages/order.py", query={"order": "abc"})
    assert_clean(at)
    assert at.error


def test_orders_selection_opens_order_and_changes_status(app_env):
    at = app_env.app("pages/orders.py")
    shown = grid(at, "orders_grid").value
    first = int(shown["order_no"].iloc[0])
    second = int(shown["order_no"].iloc[1])
    tick(at, "orders_grid", [0, 1])
    assert "2件選択中" in joined(at)
    at.selectbox(key="orders_new_status").set_value("in_progress")
    at.button(key="orders_status_apply").click().run()
    assert_clean(at)
    assert "2件の対応状況を「対応中」に変更しました。" in joined(at) or "対応中" in joined(at)
    from core.search import get_order

    assert get_order(app_env.db, first).status == "in_progress"
    assert get_order(app_env.db, second).status == "in_progress"


def test_audit_and_settings(app_env):
    at = app_env.app("pages/settings.py")
    assert_clean(at)
    assert "sk_" not in joined(at) or "…" in joined(at)  # never a key, at most the mask
    at.button(key="settings_test").click().run()
    assert_clean(at)
    assert any("Paidyに接続できました" in s.value for s in at.success)
    at.switch_page("pages/audit.py").run()
    assert_clean(at)
    assert at.download_button(key="audit_csv_download")  # one click: made when pressed
