"""Local users and roles: memory-hard hashes, no user enumeration, slowing down repeated
failures, disabled users, OIDC mapping, and the CLI's acting user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.auth import users
from core.auth.cli import resolve_cli_actor
from core.cliargs import UsageError
from core.roles import Actor, Permission, PermissionDenied, Role, require
from core.settings import Settings
from core.storage.models import User
from core.timeutil import utcnow

PW = "correct horse battery staple"


def test_roles_grant_what_the_issue_says():
    viewer, op, admin = Actor("v", Role.VIEWER), Actor("o", Role.OPERATOR), Actor("a", Role.ADMIN)
    assert (
        viewer.can(Permission.VIEW)
        and viewer.can(Permission.EXPORT)
        and not viewer.can(Permission.ACT)
    )
    assert (
        op.can(Permission.ACT) and op.can(Permission.EDIT_ORDERS) and not op.can(Permission.ADMIN)
    )
    assert all(admin.can(p) for p in Permission)
    with pytest.raises(PermissionDenied) as info:
        require(viewer, Permission.ACT)
    assert "権限" in info.value.message("ja")


def test_password_is_stored_as_argon2id_and_login_works(db):
    users.add_user(db, "yamada", "operator", PW)
    with db.session() as s:
        stored = s.scalar(select(User.password_hash))
    assert stored.startswith("$argon2id$") and PW not in stored
    result = users.login(db, "yamada", PW)
    assert result.actor == Actor("yamada", Role.OPERATOR, account=True)


def test_no_user_enumeration(db):
    users.add_user(db, "yamada", "operator", PW)
    wrong_pw = users.login(db, "yamada", "nope")
    no_user = users.login(db, "nobody", "nope")
    assert wrong_pw.actor is None and no_user.actor is None
    assert wrong_pw.message == no_user.message == users.LOGIN_FAILED


def test_repeated_failures_slow_down(db):
    users.add_user(db, "yamada", "operator", PW)
    now = utcnow()
    for _ in range(5):
        assert (
            users.login(db, "yamada", "bad", now=now, client="ip:1").message == users.LOGIN_FAILED
        )
    blocked = users.login(db, "yamada", PW, now=now, client="ip:1")
    assert blocked.actor is None and blocked.message == users.LOGIN_WAIT
    later = users.login(db, "yamada", PW, now=now + timedelta(minutes=20), client="ip:1")
    assert later.actor is not None


def test_disabled_user_cannot_log_in_or_act_from_cli(db):
    users.add_user(db, "yamada", "admin", PW)
    users.disable(db, "yamada")
    assert users.login(db, "yamada", PW).actor is None
    with pytest.raises(UsageError):
        resolve_cli_actor(db, Settings(paidy_secret_key="sk_test_abcdefghijkl"), "yamada")


def test_short_password_refused(db):
    with pytest.raises(users.UserError) as info:
        users.add_user(db, "kato", "viewer", "short")
    assert "10" in info.value.message("ja")


def test_cli_actor_rules(db):
    open_mode = Settings(auth_mode="none")
    locked = Settings(paidy_secret_key="sk_test_abcdefghijkl")
    assert resolve_cli_actor(db, open_mode, "anyone") == Actor("anyone", Role.OPERATOR)
    with pytest.raises(UsageError):
        resolve_cli_actor(db, locked, "anyone")  # no proof: refused before anything
    users.add_user(db, "suzuki", "viewer", PW)
    assert resolve_cli_actor(db, open_mode, "suzuki") == Actor("suzuki", Role.VIEWER, account=True)


def test_oidc_mapping(db):
    settings = Settings(
        auth_admin_emails="boss@shop.jp", auth_operator_emails="ops@shop.jp, ops2@shop.jp"
    )
    assert users.actor_for_email(db, settings, "Boss@Shop.jp").role is Role.ADMIN
    assert users.actor_for_email(db, settings, "ops2@shop.jp").role is Role.OPERATOR
    assert users.actor_for_email(db, settings, "someone@else.jp").role is Role.VIEWER
    assert users.actor_for_email(db, settings, None) is None
    users.add_user(db, "tanaka", "admin", email="tanaka@shop.jp")
    assert users.actor_for_email(db, settings, "Tanaka@shop.jp") == Actor(
        "tanaka", Role.ADMIN, account=True
    )
    users.disable(db, "tanaka")
    assert users.actor_for_email(db, settings, "tanaka@shop.jp") is None
