"""The reported bug, in a real browser: filter オープン, tick rows, 売上確定, run. The list
shrinks under the ticked positions; before the fix the rows that moved up were ticked and a
second 実行 captured orders nobody chose. Now nothing is ticked after the run, a second 実行
asks to choose first, and only the chosen orders were captured (audit log and Paidy)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from core.search import OrderQuery, get_order, search_orders
from core.storage.db import get_database
from core.storage.models import AuditLog, BatchJob
from core.timeutil import utcnow
from tests.e2e.helpers import (
    click_button,
    dataframe,
    expect_text,
    goto,
    screenshot,
    select_grid_rows,
    select_option,
)
from tests.fixtures_ops import World, make_ops

pytestmark = pytest.mark.e2e

FRESH = 6  # open orders this test adds (other e2e tests capture the demo's few open ones)
TICKED = [0, 1, 2, 3]


def batch_list(db) -> list[int]:
    """The batch page's list for Paidy状態 = オープン, in its order (the page's query)."""
    found = search_orders(
        db,
        OrderQuery(paidy_only=True, paidy_state=["open"]),
        now=utcnow(),
        page=1,
        page_size=100,
    )
    return [int(n) for n in found.frame["order_no"]]


def captures_since(db, audit_id: int) -> set[int]:
    with db.session() as s:
        return set(
            s.scalars(
                select(AuditLog.order_no).where(
                    AuditLog.id > audit_id, AuditLog.action == "capture"
                )
            )
        )


def test_a_run_leaves_nothing_ticked_and_nothing_unchosen_runs(page, app_server):
    db = get_database(app_server.db_url)
    world = World(make_ops(db, app_server.sandbox_url), SimpleNamespace(url=app_server.sandbox_url))
    for _ in range(FRESH):
        world.order("authorized")  # order total == Paidy amount: every one can be captured
    with db.session() as s:
        last_audit = s.scalar(select(func.max(AuditLog.id))) or 0
        jobs_before = s.scalar(select(func.count()).select_from(BatchJob))
    listed = batch_list(db)
    picked = [listed[i] for i in TICKED]
    assert all(get_order(db, n).total == get_order(db, n).payment.amount for n in picked)

    goto(page, app_server.base, "/batch")
    select_option(page, "Paidy状態", "オープン")
    expect_text(page, f"{len(listed)}件が該当しました。")
    select_grid_rows(page, dataframe(page, 0), TICKED)
    expect_text(page, f"{len(TICKED)}件選択中")
    select_option(page, "一括処理", "売上確定(キャプチャー)")
    click_button(page, "実行")
    expect_text(page, "実行内容の確認")
    total = sum(get_order(db, n).payment.amount for n in picked)
    numbers = ", ".join(map(str, picked))
    expect_text(page, f"{len(picked)}件を実行します(合計 {total:,}円)。注文番号: {numbers}")
    click_button(page, "この内容で実行する")
    expect_text(page, "一括処理が完了しました")
    screenshot(page, "09_batch_after_run")

    # the list shrank under the old positions, and nothing is ticked
    expect_text(page, f"{len(listed) - len(picked)}件が該当しました。")
    expect_text(page, re.compile(r"^0件選択中"))
    action = (
        page.locator("[data-testid='stSelectbox']")
        .filter(has=page.get_by_text("一括処理", exact=True))
        .first
    )
    expect(action).not_to_contain_text("売上確定(キャプチャー)")  # the pull-down starts over
    # a second 実行 asks to choose and runs nothing
    select_option(page, "一括処理", "売上確定(キャプチャー)")
    click_button(page, "実行")
    expect_text(page, "受注が選択されていません")
    expect(page.get_by_text("実行内容の確認")).to_have_count(0)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(BatchJob)) == jobs_before + 1
    assert captures_since(db, last_audit) == set(picked)
    for no in picked:
        assert world.remote(get_order(db, no).payment.payment_id)["status"] == "closed"
    for no in batch_list(db):  # everything still listed is still open at Paidy
        assert world.remote(get_order(db, no).payment.payment_id)["status"] == "authorized"

    # the browser's grid is a fresh one: one new tick is one chosen order, the one shown there
    select_grid_rows(page, dataframe(page, 1), [0])  # 0 is now the job's result table
    expect_text(page, re.compile(r"^1件選択中"))
    click_button(page, "実行")
    expect_text(
        page, f"1件を実行します(合計 {get_order(db, batch_list(db)[0]).payment.amount:,}円)"
    )
    expect_text(page, f"注文番号: {batch_list(db)[0]}")
    screenshot(page, "10_batch_fresh_selection")

    # 全て選択 ticks every row in the browser too: unticking one leaves the others chosen
    left = len(batch_list(db))
    click_button(page, "全て選択")
    expect_text(page, f"{left}件選択中(表示中 {left}件)")
    expect_text(page, "実行内容の確認を取り消しました")  # the preview was for one order
    select_grid_rows(page, dataframe(page, 1), [0])
    expect_text(page, f"{left - 1}件選択中(表示中 {left}件)")
    click_button(page, "全て解除")
    expect_text(page, f"0件選択中(表示中 {left}件)")
