"""Local users: the stored rows (create, change password or role, disable), logging in, and
mapping an OIDC identity to an actor.

The functions that change a user here are the storage step only: screens and the CLI go
through ``core.auth.admin`` (permission check at the moment of acting + audit entry).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from core.auth import throttle
from core.auth.passwords import hash_password, password_problem, verify_password
from core.bilingual import BilingualError
from core.roles import Actor, Role
from core.settings import Settings
from core.storage.db import Database
from core.storage.models import User
from core.timeutil import as_utc, utcnow

LOGIN_FAILED = (
    "ユーザー名またはパスワードが正しくありません。",
    "The user name or password is not correct.",
)
LOGIN_WAIT = (
    "ログインの失敗が続いたため、しばらく待ってから再度お試しください。",
    "Too many failed attempts; wait a moment and try again.",
)

#: argon2id takes 64 MB per check: at most this many at once per process, so a burst of
#: logins cannot exhaust memory (known and unknown names wait in the same queue)
_VERIFY_SLOTS = threading.BoundedSemaphore(4)


class UserError(BilingualError):
    """A user-management request that cannot be done."""


@dataclass(frozen=True)
class LoginResult:
    actor: Actor | None
    message: tuple[str, str] | None = None


@dataclass(frozen=True)
class UserRow:
    name: str
    role: str
    email: str
    disabled: bool
    has_password: bool


def clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise UserError(
            "ユーザー名を入力してください(100文字以内)。",
            "Enter a user name (up to 100 characters).",
        )
    return name


def clean_email(email: str | None) -> str | None:
    return (email or "").strip().lower() or None


def add_user(
    db: Database, name: str, role: Role | str, password: str | None = None, email: str | None = None
) -> None:
    name = clean_name(name)
    role = _role(role)
    if password is not None and (problem := password_problem(password)):
        raise UserError(*problem)
    with db.session(immediate=True) as s:
        if s.scalar(select(User.id).where(User.name == name)) is not None:
            raise UserError(f"ユーザー {name} はすでに存在します。", f"User {name} already exists.")
        s.add(
            User(
                name=name,
                role=role.value,
                email=clean_email(email),
                password_hash=hash_password(password) if password else None,
                disabled=False,
                failed_logins=0,
                created_at=utcnow(),
            )
        )


def set_password(db: Database, name: str, password: str) -> None:
    if problem := password_problem(password):
        raise UserError(*problem)
    hashed = hash_password(password)
    with db.session(immediate=True) as s:
        get_row(s, name).password_hash = hashed
        throttle.clear_name(s, name)  # a new password: the name starts afresh


def set_role(db: Database, name: str, role: Role | str) -> str:
    """Returns the role before."""
    role = _role(role)
    with db.session(immediate=True) as s:
        user = get_row(s, name)
        before, user.role = user.role, role.value
        return before


def set_disabled(db: Database, name: str, disabled: bool = True) -> bool:
    """Returns whether the user was disabled before."""
    with db.session(immediate=True) as s:
        user = get_row(s, name)
        before, user.disabled = bool(user.disabled), disabled
        return before


def disable(db: Database, name: str) -> None:
    set_disabled(db, name, True)


def find(db: Database, name: str) -> UserRow | None:
    with db.session() as s:
        u = s.scalar(select(User).where(User.name == name))
        if u is None:
            return None
        return UserRow(u.name, u.role, u.email or "", bool(u.disabled), bool(u.password_hash))


def active_admins(db: Database) -> int:
    with db.session() as s:
        return s.execute(
            select(func.count()).where(User.role == Role.ADMIN.value, User.disabled.is_(False))
        ).scalar_one()


def list_users(db: Database) -> list[dict]:
    with db.session() as s:
        return [
            {
                "name": u.name,
                "role": u.role,
                "email": u.email or "",
                "disabled": u.disabled,
                "last_login_at": as_utc(u.last_login_at),
            }
            for u in s.scalars(select(User).order_by(User.name))
        ]


def login(
    db: Database,
    name: str,
    password: str,
    now: datetime | None = None,
    *,
    client: str | None = None,
) -> LoginResult:
    """The same answer, the same work and the same wait for an unknown name, a disabled
    user and a wrong password. ``client`` (IP address or browser session; ``cli:<os user>``
    from the command line) is throttled apart from the name: see ``core/auth/throttle.py``."""
    now = now or utcnow()
    name = (name or "").strip()
    if not throttle.claim(db, name, client, now).allowed:
        return LoginResult(None, LOGIN_WAIT)
    with db.session() as s:
        user = s.execute(
            select(User.password_hash, User.disabled, User.role).where(User.name == name)
        ).one_or_none()
    with _VERIFY_SLOTS:  # a real hash or the dummy one: the same cost either way
        ok = verify_password(user.password_hash if user else None, password or "")
    if user is None or user.disabled or not ok:
        return LoginResult(None, LOGIN_FAILED)
    with db.session(immediate=True) as s:
        throttle.succeeded(s, name, client, now)
        s.execute(update(User).where(User.name == name).values(last_login_at=now))
    return LoginResult(Actor(name, Role(user.role), account=True))


def actor_for_email(db: Database, settings: Settings, email: str | None) -> Actor | None:
    """OIDC: a known user by email keeps its role (and is re-read at every action); else the
    configured email lists decide; anyone else from the identity provider is a viewer.
    ``None``: no email, or a disabled user."""
    if not email:
        return None
    email = email.strip().lower()
    with db.session() as s:
        user = s.execute(
            select(User.name, User.role, User.disabled).where(func.lower(User.email) == email)
        ).first()
    if user is not None:
        return None if user.disabled else Actor(user.name, Role(user.role), account=True)
    admins = {e.strip().lower() for e in settings.auth_admin_emails.split(",") if e.strip()}
    operators = {e.strip().lower() for e in settings.auth_operator_emails.split(",") if e.strip()}
    role = Role.ADMIN if email in admins else Role.OPERATOR if email in operators else Role.VIEWER
    return Actor(email, role)  # the e-mail, not a display name: unambiguous in the audit log


def get_row(s, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserError(f"ユーザー {name} が見つかりません。", f"No user named {name}.")
    return user


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(
            f"権限 {role} はありません(viewer / operator / admin)。",
            f"No role {role} (viewer / operator / admin).",
        ) from None
