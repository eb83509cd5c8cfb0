"""``python -m core delete|restore ORDER_NO...``: asks first (or --yes), one line per order,
exit 0 / 1 (any refused or missing) / 2 (bad arguments or not confirmed: nothing changed)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core.cli import main
from core.settings import reload_settings
from core.storage.models import Order


@pytest.fixture
def cli_env(monkeypatch, db, sandbox):
    for k, v in {
        "DATABASE_URL": db.url,
        "PAIDY_API_BASE": sandbox.url,
        "AUTH_MODE": "none",
        "PAIDY_TIMEOUT_S": "2",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PAIDY_SECRET_KEY", raising=False)
    reload_settings()
    yield
    monkeypatch.undo()
    reload_settings()


def run(capsys, monkeypatch, *argv, stdin: str = ""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def deleted(db, no: int) -> bool:
    with db.session() as s:
        return s.scalar(select(Order.deleted_at).where(Order.order_no == no)) is not None


def test_delete_asks_then_prints_one_line_per_order(cli_env, capsys, monkeypatch, world, db):
    closed, open_ = world.order(state="closed"), world.order(state="authorized")
    code, out, err = run(capsys, monkeypatch, "delete", str(closed), str(open_), stdin="n\n")
    assert code == 2 and out == "" and "not confirmed" in err
    assert f"{closed}, {open_}" in err  # the question names the orders
    assert not deleted(db, closed)

    code, out, _ = run(capsys, monkeypatch, "delete", str(closed), str(open_), stdin="y\n")
    lines = out.strip().splitlines()
    assert lines[0] == f"{closed} delete ok"
    assert lines[1].startswith(f"{open_} delete skipped: delete_open: ")
    assert "Close it first" in lines[1]
    assert code == 1 and deleted(db, closed) and not deleted(db, open_)

    code, out, _ = run(capsys, monkeypatch, "delete", str(closed), "--yes")
    assert code == 0 and out.startswith(f"{closed} delete skipped: already_deleted")
    code, out, _ = run(capsys, monkeypatch, "delete", "999999", "--yes")
    assert code == 1 and out.startswith("999999 delete failed: no_order")


def test_bad_arguments_change_nothing(cli_env, capsys, monkeypatch):
    for argv in (["delete"], ["delete", "abc", "--yes"], ["restore", "0", "--yes"]):
        code, out, err = run(capsys, monkeypatch, *argv)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_restore_needs_an_admin(cli_env, capsys, monkeypatch, world, db):
    no = world.order(state="refunded")
    assert run(capsys, monkeypatch, "delete", str(no), "--yes")[0] == 0
    code, out, err = run(capsys, monkeypatch, "restore", str(no), "--yes", "--operator", "op")
    assert code == 1 and "not allowed" in err and deleted(db, no)
    assert run(capsys, monkeypatch, "users", "add", "boss", "--role", "admin")[0] == 0
    code, out, _ = run(capsys, monkeypatch, "restore", str(no), "--operator", "boss", stdin="y\n")
    assert code == 0 and out.strip() == f"{no} restore ok" and not deleted(db, no)
