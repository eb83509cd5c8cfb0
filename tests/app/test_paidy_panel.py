"""The ▼Paidy 決済情報 panel: exactly the buttons the rule table allows, the confirmation dialog
before money moves, refund validation, the guide's warnings, viewers and core's refusal."""

from __future__ import annotations

import pytest

from core.auth.users import add_user
from core.operations import payments
from core.operations.orders import change_status
from core.roles import Actor, Role
from core.search import get_order
from tests.app.conftest import assert_clean, button_labels, frame_with, joined

UPDATE, CAPTURE, CLOSE, REFUND, REFRESH = (
    "更新(アップデート)",
    "売上確定(キャプチャー)",
    "クローズ",
    "払い戻し(リファンド)",
    "状態確認(ステータス)",
)
ALL = {UPDATE, CAPTURE, CLOSE, REFUND, REFRESH}
# The payment rule table (docs/architecture.md), as buttons (close needs 対応状況 キャンセル, tested separately).
EXPECTED = {
    "open": {UPDATE, CAPTURE, REFRESH},
    "expired": {REFRESH},
    "captured": {REFUND, REFRESH},
    "partially_refunded": {REFUND, REFRESH},
    "refunded": {REFRESH},
    "closed": {REFRESH},
}


def panel_buttons(at) -> set[str]:
    return ALL.intersection(button_labels(at))


def open_order(app_env, no: int):
    at = app_env.app("pages/order.py", query={"order": no})
    assert_clean(at)
    return at


@pytest.mark.parametrize("state", list(EXPECTED))
def test_buttons_follow_the_rule_table(app_env, state):
    no = app_env.order_in_state(state)
    at = open_order(app_env, no)
    assert panel_buttons(at) == EXPECTED[state], (state, button_labels(at))
    status_text = {
        "open": "オープン",
        "expired": "期限切れ",
        "captured": "売上確定",
        "partially_refunded": "一部払い戻し",
        "refunded": "全額払い戻し",
        "closed": "キャンセル",
    }[state]
    assert any(t.value.startswith(status_text) for t in at.text)
    assert "※このオーダーはテスト注文です" in joined(at)


@pytest.mark.parametrize("state", ["open", "expired"])
def test_close_shown_once_the_order_is_cancelled(app_env, state):
    no = app_env.order_in_state(state)
    at = open_order(app_env, no)
    assert CLOSE not in button_labels(at)
    assert "対応状況を「キャンセル」に変更" in joined(at)
    change_status(app_env_ops(app_env), Actor("t", Role.ADMIN), [no], "cancelled")
    at = open_order(app_env, no)
    assert CLOSE in button_labels(at)
    # close goes through the confirmation dialog too
    next(b for b in at.button if b.label == CLOSE).click().run()
    assert "決済をクローズします" in joined(at)
    at.button(key="confirm_run").click().run()
    assert_clean(at)
    assert "クローズが成功しました" in joined(at)
    assert panel_buttons(at) == {REFRESH}


def app_env_ops(app_env):
    from pages import _ui

    return _ui.runtime().ops


def test_capture_through_the_dialog(app_env):
    no = next(
        n
        for n in app_env.orders_in_state("open")
        if get_order(app_env.db, n).total == get_order(app_env.db, n).payment.amount
    )
    at = open_order(app_env, no)
    next(b for b in at.button if b.label == CAPTURE).click().run()
    assert_clean(at)
    amount = get_order(app_env.db, no).payment.amount
    assert f"{amount:,}円 を売上確定(キャプチャー)します" in joined(at)
    # cancel first: nothing happens
    at.button(key="confirm_cancel").click().run()
    assert get_order(app_env.db, no).payment.captured_amount == 0
    next(b for b in at.button if b.label == CAPTURE).click().run()
    at.button(key="confirm_run").click().run()
    assert_clean(at)
    assert any("売上確定(キャプチャー)が成功しました" in s.value for s in at.success)
    pay = get_order(app_env.db, no).payment
    assert pay.captured_amount == amount
    assert panel_buttons(at) == {REFUND, REFRESH}
    assert f"{amount:,}円 (売上確定: {amount:,}円)" in joined(at)
    assert "リクエストID" in joined(at)


def test_capture_with_a_mismatch_needs_explicit_confirmation(app_env):
    no = next(
        n
        for n in app_env.orders_in_state("open")
        if get_order(app_env.db, n).total != get_order(app_env.db, n).payment.amount
    )
    at = open_order(app_env, no)
    assert (
        "※受注のお支払い合計と異なります。更新(アップデート)を行うと、Paidy注文代金を修正できます。"
        in joined(at)
    )
    next(b for b in at.button if b.label == CAPTURE).click().run()
    assert at.button(key="confirm_run").disabled
    at.checkbox(key="confirm_mismatch_check").check().run()
    assert not at.button(key="confirm_run").disabled
    at.button(key="confirm_run").click().run()
    assert_clean(at)
    assert any("売上確定(キャプチャー)が成功しました" in s.value for s in at.success)
    # after capture the order total differs from 請求済金額: the guide's second warning
    assert (
        "差額が発生していますがすでに売上確定(キャプチャ)を行っているため手動で対応する必要があります。"
        in joined(at)
    )


def test_update_fixes_the_paidy_amount(app_env):
    no = next(
        n
        for n in app_env.orders_in_state("open")
        if get_order(app_env.db, n).total != get_order(app_env.db, n).payment.amount
    )
    at = open_order(app_env, no)
    next(b for b in at.button if b.label == UPDATE).click().run()
    assert_clean(at)
    assert "更新が成功しました" in joined(at)
    order = get_order(app_env.db, no)
    assert order.payment.amount == order.total
    assert "※受注のお支払い合計と異なります" not in joined(at)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "金額は1円以上で入力してください。"),
        ("-1", "金額は1円以上で入力してください。"),
        ("1.5", "金額は1円単位の整数で入力してください(小数は使えません)。"),
        ("abc", "金額は半角または全角の数字で入力してください(例: 1,000)。"),
        ("99,999,999", "払い戻し可能額"),
    ],
)
def test_refund_amount_validation(app_env, typed, message):
    no = app_env.order_in_state("captured")
    at = open_order(app_env, no)
    at.checkbox(key=f"refund_full_{no}").uncheck().run()
    assert not at.text_input(key=f"refund_amount_{no}").disabled
    at.text_input(key=f"refund_amount_{no}").input(typed)
    refund = next(b for b in at.button if b.label == REFUND)
    assert not refund.disabled  # enabled while typing: the click itself carries the amount
    refund.click().run()
    assert_clean(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert "confirm_run" not in [b.key for b in at.button]  # refused before any confirmation


def test_partial_refund_through_the_dialog(app_env):
    no = app_env.order_in_state("captured")
    captured = get_order(app_env.db, no).payment.captured_amount
    at = open_order(app_env, no)
    assert at.text_input(key=f"refund_amount_{no}").disabled  # 全額 is ticked
    at.checkbox(key=f"refund_full_{no}").uncheck().run()
    at.text_input(key=f"refund_amount_{no}").input("１，０００")  # full-width, as typed
    next(b for b in at.button if b.label == REFUND).click().run()
    assert "1,000円 を払い戻し(リファンド)します" in joined(at)
    at.button(key="confirm_run").click().run()
    assert_clean(at)
    assert any("払い戻し処理が成功しました" in s.value for s in at.success)
    pay = get_order(app_env.db, no).payment
    assert pay.refunded_amount == 1000
    assert f"{captured - 1000:,}円 (売上確定: {captured:,}円 払い戻し: 1,000円)" in joined(at)
    assert panel_buttons(at) == {REFUND, REFRESH}
    # the field is empty again, and no refusal of the old amount stands next to the success
    assert at.text_input(key=f"refund_amount_{no}").value == ""
    assert not at.error, [e.value for e in at.error]


def test_refund_reason_is_sent_to_paidy(app_env):
    no = app_env.order_in_state("captured")
    at = open_order(app_env, no)
    at.checkbox(key=f"refund_full_{no}").uncheck().run()
    at.text_input(key=f"refund_amount_{no}").input("500")
    at.text_input(key=f"refund_reason_{no}").input("商品破損のため一部返金")
    next(b for b in at.button if b.label == REFUND).click().run()
    assert "払い戻し理由: 商品破損のため一部返金" in joined(at)  # in the confirmation
    at.button(key="confirm_run").click().run()
    assert_clean(at)
    refunds = get_order(app_env.db, no).payment.raw_json["refunds"]
    assert refunds[-1]["reason"] == "商品破損のため一部返金" and refunds[-1]["amount"] == 500
    assert at.text_input(key=f"refund_reason_{no}").value == ""
    # the timeline shows Paidy's record of the refund with its reason
    assert any(
        "商品破損のため一部返金" in str(v) for v in frame_with(at, "kind", "detail")["detail"]
    )


def test_full_refund(app_env):
    no = app_env.order_in_state("partially_refunded")
    at = open_order(app_env, no)
    next(b for b in at.button if b.label == REFUND).click().run()
    at.button(key="confirm_run").click().run()
    assert_clean(at)
    assert any("払い戻し処理が成功しました" in s.value for s in at.success)
    assert panel_buttons(at) == {REFRESH}


def test_stale_screen_is_refused_by_core(app_env):
    no = app_env.order_in_state("captured")
    at = open_order(app_env, no)
    next(b for b in at.button if b.label == REFUND).click().run()
    # someone else refunds everything meanwhile
    payments.refund(app_env_ops(app_env), Actor("other", Role.OPERATOR), no)
    at.button(key="confirm_run").click().run()
    assert_clean(at)
    assert any("払い戻し(リファンド)は実行しませんでした" in w.value for w in at.warning)
    assert any(
        "画面を更新" in x.value or "払い戻し可能な金額がありません" in x.value for x in at.text
    )


def test_refresh_button(app_env):
    no = app_env.order_in_state("captured")
    at = open_order(app_env, no)
    next(b for b in at.button if b.label == REFRESH).click().run()
    assert_clean(at)
    assert any("状態確認" in s.value for s in at.success)


def test_save_order_items(app_env):
    no = app_env.order_in_state("open")
    order = get_order(app_env.db, no)
    at = open_order(app_env, no)
    suffix = next(k for k in (n.key for n in at.number_input) if k and k.startswith("shipping_"))[
        9:
    ]
    at.number_input(key=f"shipping_{suffix}").set_value(int(order.shipping_fee) + 100).run()
    at.button(key=f"save_{suffix}").click().run()
    assert_clean(at)
    assert f"受注を登録しました(お支払い合計 {order.total + 100:,}円)。" in joined(at)
    assert get_order(app_env.db, no).total == order.total + 100
    assert "※受注のお支払い合計と異なります" in joined(at)


def test_viewer_sees_no_action_buttons_and_core_refuses(app_env, monkeypatch):
    from core.settings import reload_settings

    monkeypatch.setenv("AUTH_MODE", "password")
    reload_settings()
    add_user(app_env.db, "viewer1", Role.VIEWER, "viewer-password-1")
    no = app_env.order_in_state("open")
    at = app_env.app()
    assert "ログイン" in joined(at)
    at.text_input(key="login_name").input("viewer1")
    at.text_input(key="login_password").input("wrong-password-x")
    at.button[0].click().run()
    assert any("正しくありません" in e.value for e in at.error)
    at.text_input(key="login_password").input("viewer-password-1")
    at.button[0].click().run()
    assert_clean(at)
    assert at.title[0].value == "ダッシュボード"
    at.query_params["order"] = str(no)
    at.switch_page("pages/order.py").run()
    assert_clean(at)
    assert panel_buttons(at) == set()
    assert "閲覧者のため" in joined(at)
    result = payments.capture(app_env_ops(app_env), Actor("viewer1", Role.VIEWER), no)
    assert result.code == "permission_denied"
    assert get_order(app_env.db, no).payment.captured_amount == 0
    # logout returns to the login form
    at.sidebar.button(key="logout").click().run()
    assert "ログイン" in joined(at)


@pytest.mark.pages_dir_mode
def test_a_page_run_directly_still_asks_for_login(app_env, monkeypatch):
    """Streamlit runs pages/order.py without the entry script on a fresh server's first
    request (and AppTest does on switch_page): the gate must hold there too."""
    from core.settings import reload_settings

    monkeypatch.setenv("AUTH_MODE", "password")
    reload_settings()
    no = app_env.order_in_state("open")
    at = app_env.app()
    at.query_params["order"] = str(no)
    at.switch_page("pages/order.py").run()
    assert_clean(at)
    assert "ログイン" in joined(at)
    assert panel_buttons(at) == set()
    assert "▼Paidy 決済情報" not in joined(at)


def test_password_session_expires_after_inactivity(app_env, monkeypatch):
    from core.settings import reload_settings

    monkeypatch.setenv("AUTH_MODE", "password")
    monkeypatch.setenv("SESSION_TIMEOUT_MIN", "1")
    reload_settings()
    add_user(app_env.db, "op1", Role.OPERATOR, "operator-password-1")
    at = app_env.app()
    at.text_input(key="login_name").input("op1")
    at.text_input(key="login_password").input("operator-password-1")
    at.button[0].click().run()
    assert at.title[0].value == "ダッシュボード"
    assert "op1" in joined(at)
    at.session_state["auth_last_seen"] = 0.0  # last activity long ago
    at.run()
    assert "一定時間操作がなかったため、ログアウトしました。" in joined(at)
    assert not [t for t in at.title if t.value == "ダッシュボード"]
