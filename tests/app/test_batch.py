"""Paidy決済状況管理: selection -> preview -> confirmation -> job -> progress and per-row
results read back from the database by ``?job=N``; the dashboard's one-click preselection."""

from __future__ import annotations

from core.search import get_order
from tests.app.conftest import assert_clean, frame_with, grid, joined, run_until, tick


def job_done(at) -> bool:
    return "一括処理が完了しました" in joined(at)


def test_select_preview_run_and_results(app_env):
    opened = app_env.orders_in_state("open")
    at = app_env.app("pages/batch.py")
    assert_clean(at)
    assert "※ Paidyと通信を行うため処理に時間がかかる場合があります。" in joined(at)
    at.multiselect(key="batch_states").set_value(["open", "captured"]).run()
    shown = grid(at, "batch_grid").value
    rows = list(range(min(4, len(shown))))
    picked = [int(shown["order_no"].iloc[i]) for i in rows]
    tick(at, "batch_grid", rows)
    assert f"{len(rows)}件選択中" in joined(at)
    at.selectbox(key="batch_action").set_value("capture")
    at.button(key="batch_run").click().run()
    assert_clean(at)
    preview = frame_with(at, "will_run", "reason")
    assert sorted(preview["order_no"]) == sorted(picked)
    will_run = [
        int(n) for n, w in zip(preview["order_no"], preview["will_run"], strict=True) if w == "○"
    ]
    skipped = [r for r, w in zip(preview["reason"], preview["will_run"], strict=True) if w == "×"]
    assert set(will_run) <= set(opened)
    assert all(skipped)  # every skipped row says why
    at.button(key="batch_confirm").click().run()
    assert_clean(at)
    job = str(at.query_params["job"]).strip("[]'")
    assert job.isdigit()
    run_until(at, job_done)
    items = frame_with(at, "position", "message")
    assert sorted(items["order_no"]) == sorted(will_run)
    assert set(items["status"]) == {"成功"}
    for no in will_run:
        assert get_order(app_env.db, no).payment.captured_amount > 0
    assert at.download_button(key=f"batch_csv_{job}")
    # a reload (a new session with the same URL) shows the same results
    again = app_env.app("pages/batch.py", query={"job": job})
    assert_clean(again)
    assert job_done(again)
    assert sorted(frame_with(again, "position", "message")["order_no"]) == sorted(will_run)


def test_dashboard_sends_expiring_authorizations_to_capture(app_env):
    at = app_env.app()
    assert_clean(at)
    expiring = frame_with(at, "days_left")
    assert len(expiring)
    at.button(key="dash_to_batch").click().run()
    assert_clean(at)
    assert at.title[0].value == "Paidy決済状況管理"
    assert f"{len(expiring)}件が選択されています" in joined(at)
    assert at.selectbox(key="batch_action").value == "capture"
    assert f"{len(expiring)}件選択中" in joined(at)  # preselected rows
    at.button(key="batch_run").click().run()
    assert_clean(at)
    preview = frame_with(at, "will_run", "reason")
    assert sorted(preview["order_no"]) == sorted(int(n) for n in expiring["order_no"])


def test_orders_selection_goes_to_batch(app_env):
    at = app_env.app("pages/orders.py")
    shown = grid(at, "orders_grid").value
    tick(at, "orders_grid", [0, 1, 2])
    at.button(key="orders_to_batch").click().run()
    assert_clean(at)
    assert at.title[0].value == "Paidy決済状況管理"
    paidy = [
        int(n) for n, p in zip(shown["order_no"][:3], shown["paidy_state"][:3], strict=True) if p
    ]
    assert sorted(grid(at, "batch_grid").value["order_no"]) == sorted(paidy)


def test_batch_refresh_job_in_english(app_env):
    at = app_env.app("pages/batch.py", lang="en")
    tick(at, "batch_grid", [0, 1])
    at.selectbox(key="batch_action").set_value("refresh")
    at.button(key="batch_run").click().run()
    assert "Will run: 2" in joined(at)
    at.button(key="batch_confirm").click().run()
    run_until(at, lambda a: "Batch job finished" in joined(a))
    assert_clean(at)
