"""Who acts from the command line, and ``python -m core users ...``.

AUTH_MODE=none (demo): no proof; a known user acts with its current role, any other name is
an operator (not a user account).

AUTH_MODE=password or oidc: ``--operator NAME`` (default: the OS user name) must be proven
with that user's password, read from a prompt or, with ``--password-stdin``, from the first
line of standard input. The proof goes through the same login throttle as the screen
(client ``cli:<os user>``). ``users`` commands need a proven admin; only while no active
admin exists (bootstrap) may they run unproven, recorded as ``os:<os user>`` with role admin.
"""

from __future__ import annotations

import getpass
from typing import TextIO

from core.auth import admin, users
from core.cliargs import UsageError, default_operator
from core.roles import Actor, Role
from core.settings import AuthMode, Settings
from core.storage.db import Database


class Secrets:
    """Passwords for one command: lines of stdin (``--password-stdin``), else prompts."""

    def __init__(self, from_stdin: bool, stdin: TextIO) -> None:
        self.from_stdin, self.stdin = from_stdin, stdin

    def read(self, prompt: str, *, confirm: bool = False) -> str:
        if self.from_stdin:
            line = self.stdin.readline()
            if not line:
                raise UsageError(f"--password-stdin: no line for {prompt.rstrip(': ')}")
            return line.rstrip("\r\n")
        if not self.stdin.isatty():
            raise UsageError(
                f"{prompt.rstrip(': ')} needed: pass --password-stdin or run in a terminal"
            )
        first = getpass.getpass(prompt)
        if confirm and first != getpass.getpass("again: "):
            raise UsageError("the passwords do not match")
        return first

    @property
    def can_read(self) -> bool:
        return self.from_stdin or self.stdin.isatty()


def resolve_cli_actor(
    db: Database, settings: Settings, name: str, secrets: Secrets | None = None
) -> Actor:
    """The acting user of a CLI command (see the module docstring)."""
    if settings.effective_auth_mode is AuthMode.NONE:
        found = users.find(db, name)
        if found is None:
            return Actor(name, Role.OPERATOR)
        if found.disabled:
            raise UsageError(f"user {name!r} is disabled")
        return Actor(found.name, Role(found.role), account=True)
    if secrets is None or not secrets.can_read:
        raise UsageError(
            f"--operator {name}: AUTH_MODE={settings.effective_auth_mode.value} needs the "
            "user's password (a prompt, or --password-stdin)"
        )
    password = secrets.read(f"password for {name}: ")
    result = users.login(db, name, password, client=f"cli:{default_operator()}")
    if result.actor is None:
        raise UsageError(f"--operator {name}: {(result.message or users.LOGIN_FAILED)[1]}")
    return result.actor


def users_actor(db: Database, settings: Settings, operator: str | None, secrets: Secrets) -> Actor:
    """Who runs a ``users`` command (an admin, proven; or the OS user while bootstrapping)."""
    if settings.effective_auth_mode is AuthMode.NONE:
        return Actor(operator or f"os:{default_operator()}", Role.ADMIN)
    if operator:
        return resolve_cli_actor(db, settings, operator, secrets)
    if users.active_admins(db) == 0:
        return Actor(f"os:{default_operator()}", Role.ADMIN)  # bootstrap: no admin to prove yet
    raise UsageError(
        "an admin exists: pass --operator ADMIN_NAME and its password "
        "(a prompt, or --password-stdin: first line)"
    )


def users_cli(db: Database, settings: Settings, args, stdin: TextIO) -> int:
    """``python -m core users add|set-password|set-role|disable|enable|list``."""
    cmd = args.users_command
    if cmd == "list":
        for u in users.list_users(db):
            print(f"{u['name']}\t{u['role']}\t{'disabled' if u['disabled'] else 'active'}")
        return 0
    secrets = Secrets(getattr(args, "password_stdin", False), stdin)
    actor = users_actor(db, settings, getattr(args, "operator", None), secrets)
    try:
        if cmd == "add":
            pw = (
                secrets.read(f"new password for {args.name}: ", confirm=True)
                if secrets.can_read
                else None
            )
            admin.add_user(db, actor, args.name, args.role, pw, args.email, via="cli")
            print(f"{args.name} added ({args.role})")
        elif cmd == "set-password":
            pw = secrets.read(f"new password for {args.name}: ", confirm=True)
            admin.set_password(db, actor, args.name, pw, via="cli")
            print(f"{args.name} password set")
        elif cmd == "set-role":
            admin.set_role(db, actor, args.name, args.role, via="cli")
            print(f"{args.name} role {args.role}")
        elif cmd == "disable":
            admin.disable(db, actor, args.name, via="cli")
            print(f"{args.name} disabled")
        elif cmd == "enable":
            admin.enable(db, actor, args.name, via="cli")
            print(f"{args.name} enabled")
    except users.UserError as exc:
        raise UsageError(exc.en) from None
    return 0
