"""As an operator in a real browser: search, open, capture through the dialog, refund part of
another order, capture three on the batch page, download the CSV; a screenshot per screen."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from playwright.sync_api import expect

from core.search import OrderQuery, get_order, search_orders
from core.storage.db import get_database
from core.timeutil import utcnow
from tests.e2e.helpers import (
    button,
    click_button,
    dataframe,
    expect_text,
    fill_text_input,
    goto,
    screenshot,
    select_grid_rows,
    select_option,
    set_checkbox,
    wait_for_app_run,
)

pytestmark = pytest.mark.e2e


def orders_in_state(server, state: str) -> list[int]:
    db = get_database(server.db_url)
    page = search_orders(
        db,
        OrderQuery(paidy_state=[state]),
        now=utcnow(),
        sort="order_no",
        descending=False,
        page_size=100,
    )
    return [int(n) for n in page.frame["order_no"]]


def matching_open(server) -> list[int]:
    db = get_database(server.db_url)
    return [
        n
        for n in orders_in_state(server, "open")
        if get_order(db, n).total == get_order(db, n).payment.amount
    ]


def test_partial_refund(page, app_server):
    no = orders_in_state(app_server, "captured")[1]
    # a deep link is the first request this server sees: the navigation must be the app's
    goto(page, app_server.base, f"/order?order={no}")
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav).to_contain_text("Paidy決済状況管理")
    expect(nav).not_to_contain_text("streamlit app")
    set_checkbox(page, "全額", False)
    fill_text_input(page, "払い戻し額(円)", "500")
    click_button(page, "払い戻し(リファンド)")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("500円 を払い戻し(リファンド)します")).to_be_visible()
    dialog.get_by_role("button", name="実行する").click()
    expect_text(page, "払い戻し処理が成功しました")
    expect_text(page, "払い戻し: 500円")
    screenshot(page, "06_order_refunded")


def test_operator_journey(page, app_server):
    base = app_server.base
    target = matching_open(app_server)[0]

    goto(page, base, "/")
    expect_text(page, "ログインなしで公開されています")
    expect_text(page, "有効期限が近いオーソリ")
    dataframe(page, 0)
    expect(page.locator("[data-testid='stVegaLiteChart']").first).to_be_visible()
    screenshot(page, "01_dashboard")

    # search one order and open it from the list
    goto(page, base, "/orders")
    fill_text_input(page, "注文番号", str(target))  # Enter searches, and the form folds away
    expect_text(page, "1件が該当しました。")
    expect(button(page, "この条件で検索する")).to_be_hidden()
    screenshot(page, "02_orders")
    select_grid_rows(page, dataframe(page, 0), [0])
    expect_text(page, "1件選択中")
    click_button(page, "選択した受注を編集")
    expect(page).to_have_url(f"{base}/order?order={target}")
    expect_text(page, f"受注編集 注文番号 {target}")
    expect_text(page, "▼Paidy 決済情報")
    expect_text(page, "※このオーダーはテスト注文です")
    screenshot(page, "03_order_open")

    # capture through the confirmation dialog
    click_button(page, "売上確定(キャプチャー)")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("を売上確定(キャプチャー)します")).to_be_visible()
    screenshot(page, "04_capture_dialog")
    dialog.get_by_role("button", name="実行する").click()
    expect_text(page, "売上確定(キャプチャー)が成功しました")
    expect(button(page, "払い戻し(リファンド)")).to_be_visible()
    expect(button(page, "売上確定(キャプチャー)")).to_have_count(0)
    screenshot(page, "05_order_captured")


def test_batch_capture_three(page, app_server):
    goto(page, app_server.base, "/batch")
    expect_text(page, "※ Paidyと通信を行うため処理に時間がかかる場合があります。")
    select_option(page, "Paidy状態", "オープン")
    grid = dataframe(page, 0)
    select_grid_rows(page, grid, [0, 1, 2])
    expect_text(page, "3件選択中")
    select_option(page, "一括処理", "売上確定(キャプチャー)")
    click_button(page, "実行")
    expect_text(page, "実行内容の確認")
    screenshot(page, "07_batch_preview")
    click_button(page, "この内容で実行する")
    expect_text(page, "一括処理が完了しました")
    assert "job=" in page.url
    screenshot(page, "08_batch_results")
    # a reload shows the results again (job id in the URL)
    page.reload()
    wait_for_app_run(page)
    expect_text(page, "一括処理が完了しました")


def test_csv_download_and_other_screens(page, app_server):
    goto(page, app_server.base, "/orders")
    page.get_by_text("CSV出力", exact=True).click()
    with page.expect_download() as info:  # one click: the CSV is made when it is pressed
        button(page, "CSVをダウンロード").click()
    data = open(info.value.path(), "rb").read()
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert len(frame) == 40
    assert "注文番号" in frame.columns
    goto(page, app_server.base, "/audit")
    expect_text(page, "件が該当しました。")
    screenshot(page, "09_audit")
    goto(page, app_server.base, "/settings")
    click_button(page, "接続テスト")
    expect_text(page, "Paidyに接続できました")
    screenshot(page, "10_settings")
