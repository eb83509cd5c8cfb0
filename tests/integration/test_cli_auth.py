"""The CLI's acting user must be proven when there is a login (AUTH_MODE password/oidc):
the user's password from a prompt or --password-stdin; ``users`` commands need a proven
admin after bootstrap and are audited; a bad or unsafe variable exits 2 with one line."""

from __future__ import annotations

import io
import sys

import pytest
from sqlalchemy import select

from core.auth import users
from core.cli import main
from core.search import get_order
from core.settings import reload_settings
from core.storage.models import AuditLog
from tests.secrets import CLI_KEY as SECRET

ADA_PW = "ada-password-123"
OP_PW = "op-password-1234"


@pytest.fixture
def locked_env(monkeypatch, db, sandbox):
    env = {
        "DATABASE_URL": db.url,
        "PAIDY_API_BASE": sandbox.url,
        "PAIDY_SECRET_KEY": SECRET,
        "AUTH_MODE": "password",
        "PAIDY_TIMEOUT_S": "2",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    reload_settings()
    yield env
    monkeypatch.undo()
    reload_settings()


def run(capsys, monkeypatch, *argv, stdin: str = ""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))  # not a terminal: no prompt
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert SECRET not in out + err and "Traceback" not in out + err
    return code, out, err


def audit(db) -> list[AuditLog]:
    with db.session() as s:
        return list(s.scalars(select(AuditLog).order_by(AuditLog.id)))


def test_operator_must_be_proven(locked_env, capsys, monkeypatch, world, db):
    users.add_user(db, "ada", "admin", ADA_PW)
    users.add_user(db, "sato", "viewer", "sato-password-1")
    no = world.order()
    # no proof (stdin is not a terminal): refused before anything, exit 2
    code, out, err = run(capsys, monkeypatch, "capture", str(no), "--operator", "ada")
    assert code == 2 and out == "" and err.count("\n") == 1 and "--password-stdin" in err
    # a wrong password: the login's own answer, exit 2
    code, _, err = run(
        capsys,
        monkeypatch,
        "capture",
        str(no),
        "--operator",
        "ada",
        "--password-stdin",
        stdin="guess\n",
    )
    assert code == 2 and "not correct" in err
    assert get_order(db, no).payment.captured_amount == 0
    # proven: acts, and the audit names ada
    code, out, _ = run(
        capsys,
        monkeypatch,
        "capture",
        str(no),
        "--operator",
        "ada",
        "--password-stdin",
        stdin=ADA_PW + "\n",
    )
    assert code == 0 and out.strip() == f"{no} capture ok"
    assert audit(db)[-1].actor == "ada" and audit(db)[-1].action == "capture"
    # a proven viewer is refused by the role rule (exit 1, nothing moved)
    other = world.order()
    code, out, _ = run(
        capsys,
        monkeypatch,
        "capture",
        str(other),
        "--operator",
        "sato",
        "--password-stdin",
        stdin="sato-password-1\n",
    )
    assert code == 1 and "permission_denied" in out
    # a disabled user's right password is refused like a wrong one
    users.disable(db, "sato")
    code, _, err = run(
        capsys,
        monkeypatch,
        "close",
        str(other),
        "--operator",
        "sato",
        "--password-stdin",
        stdin="sato-password-1\n",
    )
    assert code == 2 and "not correct" in err


def test_users_bootstrap_then_a_proven_admin(locked_env, capsys, monkeypatch, db):
    from core.cliargs import default_operator

    # no admin yet: the OS user may create the first one (recorded as os:<user>)
    code, out, _ = run(
        capsys,
        monkeypatch,
        "users",
        "add",
        "ada",
        "--role",
        "admin",
        "--password-stdin",
        stdin=ADA_PW + "\n",
    )
    assert code == 0 and "ada added" in out
    first = audit(db)[-1]
    assert first.actor == f"os:{default_operator()}" and first.action == "user_add"
    assert first.detail["via"] == "cli"
    # an admin exists: unproven users commands are refused, nothing changed
    code, _, err = run(capsys, monkeypatch, "users", "add", "mallory", "--role", "admin")
    assert code == 2 and "--operator" in err and users.find(db, "mallory") is None
    # proven admin: operator's password first, then the new user's
    code, out, _ = run(
        capsys,
        monkeypatch,
        "users",
        "add",
        "op1",
        "--role",
        "operator",
        "--operator",
        "ada",
        "--password-stdin",
        stdin=f"{ADA_PW}\n{OP_PW}\n",
    )
    assert code == 0 and "op1 added" in out
    assert users.login(db, "op1", OP_PW).actor is not None
    code, out, _ = run(
        capsys,
        monkeypatch,
        "users",
        "set-role",
        "op1",
        "--role",
        "viewer",
        "--operator",
        "ada",
        "--password-stdin",
        stdin=ADA_PW + "\n",
    )
    assert code == 0
    entry = audit(db)[-1]
    assert (entry.actor, entry.action) == ("ada", "user_role")
    assert entry.detail["user"] == "op1" and entry.detail["role_before"] == "operator"
    assert entry.detail["role"] == "viewer" and entry.detail["via"] == "cli"
    # an operator (not admin) proven is refused by core, nothing changed
    code, _, err = run(
        capsys,
        monkeypatch,
        "users",
        "disable",
        "ada",
        "--operator",
        "op1",
        "--password-stdin",
        stdin=OP_PW + "\n",
    )
    assert code == 1 and "not allowed" in err and not users.find(db, "ada").disabled
    code, out, _ = run(capsys, monkeypatch, "users", "list")
    assert "op1\tviewer\tactive" in out
    every = repr([(e.message, e.detail) for e in audit(db)])
    assert ADA_PW not in every and OP_PW not in every


def test_demo_mode_needs_no_proof(monkeypatch, capsys, db, sandbox):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("PAIDY_API_BASE", sandbox.url)
    monkeypatch.setenv("AUTH_MODE", "none")
    reload_settings()
    try:
        code, out, _ = run(
            capsys,
            monkeypatch,
            "users",
            "add",
            "yamada",
            "--role",
            "operator",
            "--password-stdin",
            stdin="correct horse battery\n",
        )
        assert code == 0 and "yamada added" in out
    finally:
        monkeypatch.undo()
        reload_settings()


@pytest.mark.parametrize(
    ("env", "var"),
    [
        ({"PAIDY_TIMEOUT_S": "abc"}, "PAIDY_TIMEOUT_S"),
        ({"PAIDY_CONCURRENCY": "0"}, "PAIDY_CONCURRENCY"),
        ({"AUTH_MODE": "x"}, "AUTH_MODE"),
        ({"SESSION_TIMEOUT_MIN": "0"}, "SESSION_TIMEOUT_MIN"),
        ({"PAIDY_API_BASE": "file:///etc/passwd"}, "PAIDY_API_BASE"),
        (
            {
                "PAIDY_SECRET_KEY": "sk_live_" + "9" * 24,
                "PAIDY_API_BASE": "http://api.paidy.com",
                "AUTH_MODE": "password",
            },
            "PAIDY_API_BASE",
        ),
        (
            {
                "PAIDY_SECRET_KEY": "sk_live_" + "9" * 24,
                "PAIDY_API_BASE": "https://paidy.evil.example",
                "AUTH_MODE": "password",
            },
            "PAIDY_ALLOW_CUSTOM_HOST",
        ),
    ],
)
def test_a_bad_variable_exits_2_with_one_line(monkeypatch, capsys, tmp_path, env, var):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from core.settings import get_settings

    get_settings.cache_clear()
    try:
        code, out, err = run(capsys, monkeypatch, "capture", "61", "--operator", "ada")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and var in err
    assert "ValidationError" not in err and "sk_live_9" not in err
    assert not (tmp_path / "never.db").exists()  # nothing was started
