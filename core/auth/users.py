"""Local users: create, change password, disable, log in; and the CLI's acting user."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from sqlalchemy import select

from core.auth.passwords import hash_password, lockout_until, password_problem, verify_password
from core.bilingual import BilingualError
from core.roles import Actor, Role
from core.settings import AuthMode, Settings
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


class UserError(BilingualError):
    """A user-management request that cannot be done."""


@dataclass(frozen=True)
class LoginResult:
    actor: Actor | None
    message: tuple[str, str] | None = None


def add_user(
    db: Database, name: str, role: Role | str, password: str | None = None, email: str | None = None
) -> None:
    name = name.strip()
    if not name or len(name) > 100:
        raise UserError(
            "ユーザー名を入力してください(100文字以内)。",
            "Enter a user name (up to 100 characters).",
        )
    if password is not None and (problem := password_problem(password)):
        raise UserError(*problem)
    with db.session() as s:
        if s.scalar(select(User.id).where(User.name == name)) is not None:
            raise UserError(f"ユーザー {name} はすでに存在します。", f"User {name} already exists.")
        s.add(
            User(
                name=name,
                role=Role(role).value,
                email=email,
                password_hash=hash_password(password) if password else None,
                disabled=False,
                failed_logins=0,
                created_at=utcnow(),
            )
        )


def set_password(db: Database, name: str, password: str) -> None:
    if problem := password_problem(password):
        raise UserError(*problem)
    with db.session() as s:
        user = _get(s, name)
        user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None


def set_role(db: Database, name: str, role: Role | str) -> None:
    with db.session() as s:
        _get(s, name).role = Role(role).value


def disable(db: Database, name: str) -> None:
    with db.session() as s:
        _get(s, name).disabled = True


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


def login(db: Database, name: str, password: str, now=None) -> LoginResult:
    """Same message for an unknown user and a wrong password; failures slow the next try."""
    now = now or utcnow()
    with db.session() as s:
        user = s.scalar(select(User).where(User.name == (name or "").strip()))
        if user is not None and user.locked_until and as_utc(user.locked_until) > now:
            return LoginResult(None, LOGIN_WAIT)
        ok = verify_password(user.password_hash if user else None, password or "")
        if user is None or user.disabled or not ok:
            if user is not None:
                user.failed_logins = (user.failed_logins or 0) + 1
                user.locked_until = lockout_until(user.failed_logins, now)
            return LoginResult(None, LOGIN_FAILED)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        return LoginResult(Actor(user.name, Role(user.role)))


def actor_for_email(
    db: Database, settings: Settings, email: str | None, name: str | None = None
) -> Actor | None:
    """OIDC: a known user by email keeps its role; else the configured email lists decide;
    anyone else from the identity provider is a viewer."""
    if not email:
        return None
    email = email.strip().lower()
    with db.session() as s:
        user = s.scalar(select(User).where(User.email == email))
        if user is not None:
            return None if user.disabled else Actor(user.name, Role(user.role))
    admins = {e.strip().lower() for e in settings.auth_admin_emails.split(",") if e.strip()}
    operators = {e.strip().lower() for e in settings.auth_operator_emails.split(",") if e.strip()}
    role = Role.ADMIN if email in admins else Role.OPERATOR if email in operators else Role.VIEWER
    return Actor(name or email, role)


def resolve_cli_actor(db: Database, settings: Settings, name: str) -> Actor:
    """A known user acts with its role. With AUTH_MODE=none an unknown name is an operator;
    otherwise the CLI refuses unknown or disabled users."""
    from core.cli import UsageError

    with db.session() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is not None:
            if user.disabled:
                raise UsageError(f"user {name!r} is disabled")
            return Actor(user.name, Role(user.role))
    if settings.effective_auth_mode is AuthMode.NONE:
        return Actor(name, Role.OPERATOR)
    raise UsageError(f"unknown operator {name!r}: add it with `python -m core users add`")


def cli(db: Database, args, stdin) -> int:
    """``python -m core users add|set-password|set-role|disable|list``."""
    from core.cli import UsageError

    def read_password() -> str:
        if getattr(args, "password_stdin", False):
            return stdin.readline().rstrip("\n")
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise UsageError("the passwords do not match")
        return first

    try:
        cmd = args.users_command
        if cmd == "add":
            pw = read_password() if args.password_stdin or stdin.isatty() else None
            add_user(db, args.name, args.role, pw, args.email)
            print(f"{args.name} added ({args.role})")
        elif cmd == "set-password":
            set_password(db, args.name, read_password())
            print(f"{args.name} password set")
        elif cmd == "set-role":
            set_role(db, args.name, args.role)
            print(f"{args.name} role {args.role}")
        elif cmd == "disable":
            disable(db, args.name)
            print(f"{args.name} disabled")
        else:
            for u in list_users(db):
                print(f"{u['name']}\t{u['role']}\t{'disabled' if u['disabled'] else 'active'}")
    except UserError as exc:
        raise UsageError(exc.en) from None
    return 0


def _get(s, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserError(f"ユーザー {name} が見つかりません。", f"No user named {name}.")
    return user
