"""User administration as service functions: who may (admin, read at the moment of acting),
what changed (an audit entry naming who changed whose what, from the screen or the CLI),
never a password in the audit log.

``via`` says where the change came from: ``"screen"`` or ``"cli"``.
"""

from __future__ import annotations

from datetime import datetime

from core.auth import users
from core.auth.current import authorize
from core.operations import audit
from core.roles import Actor, Permission, Role
from core.storage.db import Database
from core.timeutil import utcnow

ACTIONS = ("user_add", "user_password", "user_role", "user_disable", "user_enable")


def add_user(
    db: Database,
    actor: Actor,
    name: str,
    role: Role | str,
    password: str | None = None,
    email: str | None = None,
    *,
    via: str = "screen",
    now: datetime | None = None,
) -> str:
    """Create a user; returns the cleaned name."""
    now = now or utcnow()
    authorize(db, actor, Permission.ADMIN, attempt="user_add", now=now)
    name = users.clean_name(name)
    users.add_user(db, name, role, password, email)
    _record(
        db,
        actor,
        "user_add",
        f"ユーザー {name} を追加({Role(role).value}{', パスワードあり' if password else ''})",
        now,
        user=name,
        role=Role(role).value,
        email=users.clean_email(email),
        password_set=bool(password),
        via=via,
    )
    return name


def set_password(
    db: Database,
    actor: Actor,
    name: str,
    password: str,
    *,
    via: str = "screen",
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    authorize(db, actor, Permission.ADMIN, attempt="user_password", now=now)
    users.set_password(db, name, password)
    _record(
        db, actor, "user_password", f"ユーザー {name} のパスワードを変更", now, user=name, via=via
    )


def set_role(
    db: Database,
    actor: Actor,
    name: str,
    role: Role | str,
    *,
    via: str = "screen",
    now: datetime | None = None,
) -> str:
    """Change a user's role (effective at that user's next action); returns the role before."""
    now = now or utcnow()
    fresh = authorize(db, actor, Permission.ADMIN, attempt="user_role", now=now)
    role = Role(role)
    if name == fresh.name and fresh.account and role is not Role.ADMIN:
        raise users.UserError(
            "自分自身の管理者権限は外せません。別の管理者に依頼してください。",
            "You cannot take away your own admin role; ask another administrator.",
        )
    before = users.set_role(db, name, role)
    _record(
        db,
        actor,
        "user_role",
        f"ユーザー {name} の権限を変更 {before} → {role.value}",
        now,
        user=name,
        role_before=before,
        role=role.value,
        via=via,
    )
    return before


def disable(
    db: Database, actor: Actor, name: str, *, via: str = "screen", now: datetime | None = None
) -> None:
    """Disable a user: refused at that user's next action, and its sessions end."""
    now = now or utcnow()
    fresh = authorize(db, actor, Permission.ADMIN, attempt="user_disable", now=now)
    if name == fresh.name and fresh.account:
        raise users.UserError(
            "自分自身は無効にできません。別の管理者に依頼してください。",
            "You cannot disable yourself; ask another administrator.",
        )
    users.set_disabled(db, name, True)
    _record(db, actor, "user_disable", f"ユーザー {name} を無効化", now, user=name, via=via)


def enable(
    db: Database, actor: Actor, name: str, *, via: str = "screen", now: datetime | None = None
) -> None:
    now = now or utcnow()
    authorize(db, actor, Permission.ADMIN, attempt="user_enable", now=now)
    users.set_disabled(db, name, False)
    _record(db, actor, "user_enable", f"ユーザー {name} を有効化", now, user=name, via=via)


def _record(db: Database, actor: Actor, action: str, message: str, now: datetime, **detail) -> None:
    audit.record_event(db, actor.name, action, message, now, detail=detail)
