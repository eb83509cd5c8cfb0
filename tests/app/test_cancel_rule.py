"""The cancel rule on the screens (core.domain.cancellation): the order page never offers
売上確定 for a キャンセル order and core refuses it even from a dialog opened before the
cancellation; the batch page's preview says so for capture and announces the 対応状況 change
of a close, and the run does exactly that."""

from __future__ import annotations

from core.operations.orders import change_status
from core.roles import Actor, Role
from core.search import get_order
from tests.app.conftest import (
    assert_clean,
    button_labels,
    frame_with,
    joined,
    run_until,
    tick,
)

CAPTURE, CLOSE = "売上確定(キャプチャー)", "クローズ"
ADMIN = Actor("t", Role.ADMIN)


def ops():
    from pages import _ui

    return _ui.runtime().ops


def matching_open(app_env, status: str | None = None) -> int:
    for n in app_env.orders_in_state("open"):
        order = get_order(app_env.db, n)
        if order.total == order.payment.amount and (status is None or order.status == status):
            return n
    raise AssertionError("no open order with a matching total")


def test_order_page_offers_no_capture_for_a_cancelled_order(app_env):
    no = matching_open(app_env)
    at = app_env.app("pages/order.py", query={"order": no})
    assert CAPTURE in button_labels(at)
    change_status(ops(), ADMIN, [no], "cancelled")
    at = app_env.app("pages/order.py", query={"order": no})
    assert_clean(at)
    assert CAPTURE not in button_labels(at) and CLOSE in button_labels(at)
    assert "対応状況が「キャンセル」のため、売上確定(キャプチャー)はできません。" in joined(at)


def test_a_capture_confirmed_after_the_cancellation_is_refused_by_core(app_env):
    no = matching_open(app_env)
    at = app_env.app("pages/order.py", query={"order": no})
    next(b for b in at.button if b.label == CAPTURE).click().run()
    assert "を売上確定(キャプチャー)します" in joined(at)
    change_status(ops(), ADMIN, [no], "cancelled")  # another operator, meanwhile
    at.button(key="confirm_run").click().run()
    assert_clean(at)
    assert (
        f"注文番号 {no} は対応状況が「キャンセル」のため売上確定(キャプチャー)できません"
        in joined(at)
    )
    assert get_order(app_env.db, no).payment.captured_amount == 0


def _batch_preview(app_env, action: str, no: int):
    at = app_env.app("pages/batch.py")
    at.text_input(key="batch_text").input(str(no)).run()
    tick(at, "batch_grid", [0])
    at.selectbox(key="batch_action").set_value(action)
    at.button(key="batch_run").click().run()
    assert_clean(at)
    return at, frame_with(at, "will_run", "reason")


def test_batch_capture_preview_refuses_a_cancelled_order(app_env):
    no = matching_open(app_env)
    change_status(ops(), ADMIN, [no], "cancelled")
    at, preview = _batch_preview(app_env, "capture", no)
    assert list(preview["will_run"]) == ["×"]
    assert "キャンセル" in preview["reason"].iloc[0]
    assert "実行できる受注がありません。" in joined(at)


def test_batch_close_says_and_sets_the_cancellation(app_env):
    no = matching_open(app_env)
    assert get_order(app_env.db, no).status != "cancelled"
    at, preview = _batch_preview(app_env, "close", no)
    assert list(preview["will_run"]) == ["○"]
    assert preview["note"].iloc[0] == "対応状況を「キャンセル」に変更します"
    assert "クローズする1件の受注は、対応状況が「キャンセル」に変更されます。" in joined(at)
    at.button(key="batch_confirm").click().run()
    run_until(at, lambda a: "一括処理が完了しました" in joined(a))
    order = get_order(app_env.db, no)
    assert order.status == "cancelled" and order.payment.status == "closed"
    assert "キャンセルに変更しました" in "".join(frame_with(at, "position", "message")["message"])
