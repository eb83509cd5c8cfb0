"""The command line: same service layer, one line per order, exit codes 0/1/2, no secret and
no traceback in the output. Most tests call ``core.cli.main`` in-process; the race test runs
two real processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core.cli import main
from core.settings import reload_settings
from core.storage.models import AuditLog, PaidyPayment
from tests.secrets import CLI_KEY as SECRET

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(monkeypatch, db, sandbox):
    env = {
        "DATABASE_URL": db.url,
        "PAIDY_API_BASE": sandbox.url,
        "PAIDY_SECRET_KEY": SECRET,
        "AUTH_MODE": "none",
        "PAIDY_TIMEOUT_S": "2",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    reload_settings()
    yield env
    monkeypatch.undo()
    reload_settings()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "Traceback" not in out + err
    return code, out, err


def test_capture_one_and_many(cli_env, capsys, world):
    a, b, c = world.order(), world.order(), world.order("authorized", expires_in_days=-1)
    code, out, _ = run(capsys, "capture", str(a), "--operator", "cli-tanaka")
    assert code == 0 and out.strip() == f"{a} capture ok"
    code, out, _ = run(capsys, "capture", str(b), str(c))
    lines = out.strip().splitlines()
    assert lines[0] == f"{b} capture ok"
    assert lines[1].startswith(f"{c} capture skipped: expired")
    assert code == 1  # expired is not "already in the asked state"
    code, out, _ = run(capsys, "capture", str(a))
    assert code == 0 and out.startswith(f"{a} capture skipped: already_captured")
    with world.ops.db.session() as s:
        actors = set(s.scalars(select(AuditLog.actor).where(AuditLog.action == "capture")))
    assert "cli-tanaka" in actors


def test_refund_amount_and_close_and_update(cli_env, capsys, world):
    captured = world.order("captured", price=1380)
    code, out, _ = run(capsys, "refund", str(captured), "--amount", "1,000", "--reason", "返品")
    assert code == 0 and out.strip() == f"{captured} refund ok"
    code, out, _ = run(capsys, "refund", str(captured), "--amount", "500")
    assert code == 1 and "refund skipped: refund_over_limit" in out
    code, out, _ = run(capsys, "refund", str(captured))
    assert code == 0 and out.strip() == f"{captured} refund ok"
    opened = world.order()
    code, out, _ = run(capsys, "update", str(opened))
    assert code == 0 and "no_change" in out  # already in the asked state
    code, out, _ = run(capsys, "close", str(opened))
    assert code == 0 and out.strip() == f"{opened} close ok"


OUT_OF_RANGE = [  # order numbers beyond the 32-bit column: refused before SQL
    ["capture", "12345678901234567890"],
    ["refund", "2147483648"],
    ["export", "--order-no", "99999999999999999999", "--out", "x.csv"],
    ["delete", "0", "--yes"],
]


@pytest.mark.parametrize(
    "argv",
    [
        ["capture"],
        ["capture", "abc"],
        ["capture", "-5"],
        ["refund", "61", "--amount", "1.5"],
        ["refund", "61", "--amount", "٣"],  # Arabic-Indic three: not 3 yen
        ["refund", "61", "--amount", "1²"],
        ["capture", "①⓪⓪"],
        ["export", "--expires-within", "٣", "--out", "x.csv"],
        ["refund", "61", "--amount", "0"],
        ["export", "--ordered-from", "2026-13-01", "--out", "x.csv"],
        ["link", "pay_../../etc"],
        ["nonsense"],
        ["export", "--paidy-state", "bogus", "--out", "x.csv"],
        ["export", "--columns", "order_no,nope", "--out", "/tmp/x.csv"],
        *[argv for argv in OUT_OF_RANGE],
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_change_nothing(cli_env, capsys, world, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")
    assert "Traceback" not in err and "Overflow" not in err
    if argv in OUT_OF_RANGE:
        assert "out of range" in err, err
    assert world.stats()["requests"] == 0


def test_link_creates_the_order_from_paidys_record(cli_env, capsys, world):
    pid = world.payment("authorized", price=2200, tax=200, shipping=550)
    code, out, _ = run(capsys, "link", pid)
    assert code == 0 and "created order" in out
    order_no = int(out.split()[0])
    code, out, _ = run(capsys, "link", pid)
    assert code == 0 and "already linked" in out
    from core.search import get_order

    order = get_order(world.ops.db, order_no)
    assert order is not None


def test_sync_and_export(cli_env, capsys, world, tmp_path):
    a = world.order()
    world.order("captured")
    with world.ops.db.session() as s:
        pid = s.scalar(select(PaidyPayment.payment_id).order_by(PaidyPayment.id))
    world.ops.client.capture(pid)  # captured outside the dashboard
    code, out, _ = run(capsys, "sync", "--open-only")
    assert code == 0 and f"{a} refresh ok" in out
    target = tmp_path / "orders.csv"
    code, out, _ = run(
        capsys,
        "export",
        "--paidy-state",
        "captured",
        "--columns",
        "order_no,paidy_state,billed_amount",
        "--header",
        "keys",
        "--out",
        str(target),
    )
    assert code == 0 and "exported 2 rows" in out
    import pandas as pd

    frame = pd.read_csv(target, encoding="utf-8-sig")
    assert list(frame.columns) == ["order_no", "paidy_state", "billed_amount"]
    assert len(frame) == 2


def test_export_never_overwrites_without_force(cli_env, capsys, world, tmp_path):
    world.order()
    target = tmp_path / "orders.csv"
    target.write_bytes(b"keep me")
    code, out, err = run(capsys, "export", "--out", str(target))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"error: {target} already exists; add --force to overwrite it"
    ]
    assert target.read_bytes() == b"keep me"
    code, out, err = run(
        capsys, "export", "--columns", "order_no,nope", "--out", str(target), "--force"
    )
    assert code == 2 and target.read_bytes() == b"keep me"  # refused before writing anything
    code, out, _ = run(capsys, "export", "--header", "keys", "--out", str(target), "--force")
    assert code == 0 and out.startswith("exported 1 rows")
    assert target.read_bytes().startswith(b"\xef\xbb\xbfordered_at,order_no,")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]  # no temporary left
    fresh = tmp_path / "new.csv"
    code, out, _ = run(capsys, "export", "--out", str(fresh))
    assert code == 0 and fresh.stat().st_size > 0
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would have made it
    for bad in (tmp_path, tmp_path / "missing" / "x.csv"):
        code, out, err = run(capsys, "export", "--out", str(bad))
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_users_commands(cli_env, capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    code, out, _ = run(capsys, "users", "add", "yamada", "--role", "operator", "--password-stdin")
    assert code == 0 and "yamada added" in out
    code, _, err = run(capsys, "users", "add", "yamada", "--role", "operator")
    assert code == 2 and "already exists" in err
    code, out, _ = run(capsys, "users", "list")
    assert "yamada\toperator\tactive" in out


def test_two_processes_racing_on_one_payment_make_one_call(cli_env, world):
    order_no = world.order("captured", price=1380)
    # Paidy answers slowly, so the first process still holds the payment when the second one
    # (started at the same moment, give or take interpreter start-up) reaches it.
    world.faults(latency_ms=2500)
    env = {**os.environ, **cli_env, "PAIDY_TIMEOUT_S": "15"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "core", "refund", str(order_no), "--amount", "100"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for out, err in outs:
        assert SECRET not in out + err and "Traceback" not in err
    assert world.money_calls() == 1, outs
    lines = sorted(o.strip() for o, _ in outs)
    assert lines[0] == f"{order_no} refund ok", outs
    assert lines[1].startswith(f"{order_no} refund skipped: in_progress"), outs


def test_demo_creates_orders_in_the_sandbox(cli_env, capsys, world):
    code, _out, _ = run(capsys, "demo", "--orders", "25", "--seed", "3")
    assert code == 0
    from sqlalchemy import func

    from core.storage.models import Order

    with world.ops.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 25
    assert world.stats()["requests"] == 0  # created through /_sandbox/, not the payment API


@pytest.mark.parametrize(
    "env",
    [{"PAIDY_SECRET_KEY": "sk_live_0123456789abcdefgh"}, {"PAIDY_API_BASE": ""}],
)
def test_demo_refuses_live_keys_and_real_paidy(cli_env, capsys, monkeypatch, env):
    from core.settings import get_settings

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()  # a live key here is refused at start (AUTH_MODE=none, http)
    code, out, err = run(capsys, "demo", "--orders", "5")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: demo" if "PAIDY_API_BASE" in env else "error: A live key")


def test_an_unexpected_failure_is_one_line_with_a_reference_into_the_log(
    cli_env, capsys, monkeypatch, tmp_path
):
    from core import commands

    log_file = tmp_path / "cli.log"
    monkeypatch.setenv("LOG_FILE", str(log_file))
    reload_settings()

    def broken(args):
        raise KeyError("SELECT secret FROM somewhere")

    monkeypatch.setattr(commands, "run", broken)
    code, out, err = run(capsys, "close", "1")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "SELECT" not in err, err
    ref = re.search(r"error: internal error \(ref (E-[0-9a-f]{8}); details in (.+)\)$", err.strip())
    assert ref and ref.group(2) == str(log_file), err
    logged = log_file.read_text(encoding="utf-8")
    assert f"[{ref.group(1)}] command close failed" in logged and "Traceback" in logged
    assert "core.cli" in logged  # the logger is named after its module


def test_an_operator_error_is_its_english_message(cli_env, capsys, monkeypatch):
    from core import commands
    from core.paidy.errors import PaidyUnavailable

    def unavailable(args):
        raise PaidyUnavailable("timeout")

    monkeypatch.setattr(commands, "run", unavailable)
    code, _, err = run(capsys, "close", "1")
    assert code == 1 and err == f"error: {PaidyUnavailable('timeout').message('en')}\n"
