"""The login gate and 設定 with real logins: a disabled user's next click ends the session
(nothing runs, logged), a demoted user sees the new role at once, admin writes from the
screen are audited, a bad variable shows one message instead of the app."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.auth import admin, users
from core.roles import Actor, Role
from core.search import get_order
from core.settings import reload_settings
from core.storage.models import AuditLog
from tests.app.conftest import assert_clean, joined
from tests.app.test_paidy_panel import CAPTURE, panel_buttons

BOSS = Actor("boss", Role.ADMIN, account=True)
OP_PW = "operator-password-1"
BOSS_PW = "boss-password-123"


@pytest.fixture
def password_env(app_env, monkeypatch):
    monkeypatch.setenv("AUTH_MODE", "password")
    reload_settings()
    users.add_user(app_env.db, "boss", "admin", BOSS_PW)
    users.add_user(app_env.db, "op1", "operator", OP_PW)
    return app_env


def log_in(app_env, name: str, password: str):
    at = app_env.app()
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    assert_clean(at)
    assert at.title[0].value == "ダッシュボード", joined(at)
    return at


def sidebar_user(at) -> str:
    return next(t.value for t in at.sidebar.text if t.value.startswith("ユーザー"))


def audit(db, actor: str) -> list[AuditLog]:
    with db.session() as s:
        return list(
            s.scalars(select(AuditLog).where(AuditLog.actor == actor).order_by(AuditLog.id))
        )


def _open_matching(app_env) -> int:
    return next(
        n
        for n in app_env.orders_in_state("open")
        if get_order(app_env.db, n).total == get_order(app_env.db, n).payment.amount
    )


def test_capture_after_disable_ends_the_session_and_moves_nothing(password_env):
    env = password_env
    no = _open_matching(env)
    at = log_in(env, "op1", OP_PW)
    at.query_params["order"] = str(no)
    at.switch_page("pages/order.py").run()
    next(b for b in at.button if b.label == CAPTURE).click().run()
    assert "を売上確定(キャプチャー)します" in joined(at)  # the confirmation is open
    admin.disable(env.db, BOSS, "op1")  # meanwhile, an admin disables op1
    at.button(key="confirm_run").click().run()
    assert_clean(at)
    assert get_order(env.db, no).payment.captured_amount == 0
    assert "無効化されたため、ログアウトしました" in joined(at)
    assert at.text_input(key="login_name") is not None  # back at the login form
    assert "auth_actor" not in at.session_state
    ended = [e for e in audit(env.db, "op1") if e.action == "session_end"]
    assert ended and ended[0].detail["code"] == "user_disabled"
    # the session stays ended: the password no longer opens it either
    at.text_input(key="login_name").input("op1")
    at.text_input(key="login_password").input(OP_PW)
    at.button[0].click().run()
    assert any("正しくありません" in e.value for e in at.error)


def test_a_demoted_user_sees_the_new_role_at_once(password_env):
    env = password_env
    no = env.order_in_state("open")
    at = log_in(env, "op1", OP_PW)
    assert "オペレーター" in sidebar_user(at)
    admin.set_role(env.db, BOSS, "op1", "viewer")
    at.run()
    assert "閲覧者" in sidebar_user(at)
    at.query_params["order"] = str(no)
    at.switch_page("pages/order.py").run()
    assert_clean(at)
    assert panel_buttons(at) == set()


def test_admin_writes_from_the_screen_are_audited(password_env):
    env = password_env
    at = log_in(env, "boss", BOSS_PW)
    at.switch_page("pages/settings.py").run()
    assert_clean(at)
    at.text_input(key="settings_user_name").input("kato")
    at.selectbox(key="settings_user_role").set_value("viewer")
    at.text_input(key="settings_user_password").input("kato-password-1")
    next(b for b in at.button if b.label == "ユーザーを追加").click().run()
    assert_clean(at)
    assert "ユーザー kato を追加しました。" in joined(at)
    at.selectbox(key="settings_user_pick").set_value("kato")
    at.selectbox(key="settings_user_new_role").set_value("operator")
    at.button(key="settings_user_set_role").click().run()
    assert_clean(at)
    at.selectbox(key="settings_user_pick").set_value("kato")
    at.button(key="settings_user_disable").click().run()
    assert_clean(at)
    kato = users.find(env.db, "kato")
    assert kato.role == "operator" and kato.disabled
    # refusing to disable yourself is a message, not a change
    at.selectbox(key="settings_user_pick").set_value("boss").run()
    at.button(key="settings_user_disable").click().run()
    assert_clean(at)
    assert "自分自身は無効にできません" in joined(at) and not users.find(env.db, "boss").disabled
    # a column set saved from the screen is audited too
    at.text_input(key="settings_set_name").input("経理用")
    next(b for b in at.button if b.label == "保存").click().run()
    assert_clean(at)
    entries = [(e.action, e.detail.get("user"), e.detail.get("via")) for e in audit(env.db, "boss")]
    assert entries[:3] == [
        ("user_add", "kato", "screen"),
        ("user_role", "kato", "screen"),
        ("user_disable", "kato", "screen"),
    ]
    assert ("column_set_save", None, None) in entries
    assert "kato-password-1" not in repr([(e.message, e.detail) for e in audit(env.db, "boss")])


def test_an_operator_cannot_use_the_admin_forms(password_env):
    at = log_in(password_env, "op1", OP_PW)
    at.switch_page("pages/settings.py").run()
    assert_clean(at)
    assert "管理者のみ" in joined(at)
    assert not [b for b in at.button if b.key == "settings_user_disable"]


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("AUTH_MODE", "x"),
        ("PAIDY_TIMEOUT_S", "abc"),
        ("PAIDY_CONCURRENCY", "0"),
        ("SESSION_TIMEOUT_MIN", "0"),
        ("PAIDY_API_BASE", "file:///etc/passwd"),
    ],
)
def test_a_bad_variable_is_one_message_on_screen(app_env, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    from core.settings import get_settings

    get_settings.cache_clear()
    at = app_env.app()
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]  # markdown escapes off
    assert len(errors) == 1 and var in errors[0] and "起動できませんでした" in errors[0]
    assert "ValidationError" not in errors[0]
    assert not [t for t in at.title if t.value == "ダッシュボード"]
