"""The cancel rule (core.domain.cancellation) through the service layer, so every surface
gets it: capture of a キャンセル order is refused and sends nothing; a close that leaves the
payment closed sets 対応状況 to キャンセル in the same transaction; the batch preview says so
before anything runs, the job keeps exactly what was confirmed, and the CLI exits 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from core.operations import batch, payments
from core.operations.batch import BatchAction
from core.operations.orders import change_status
from core.operations.results import Outcome
from core.search import get_order
from core.storage.models import AuditLog, BatchItem, BatchJob
from tests.fixtures_ops import ADMIN, OPERATOR
from tests.secrets import CLI_KEY

ROOT = Path(__file__).resolve().parents[2]


def cancelled_order(ops, world) -> int:
    no = world.order("authorized")
    change_status(ops, ADMIN, [no], "cancelled")
    return no


def status_of(ops, no: int) -> str:
    return get_order(ops.db, no).status


def test_capture_of_a_cancelled_order_is_refused_and_sends_nothing(ops, world):
    no = cancelled_order(ops, world)
    sent = world.stats()["requests"]
    r = payments.capture(ops, OPERATOR, no)
    assert r.outcome is Outcome.SKIPPED and r.code == "order_cancelled"
    assert f"注文番号 {no}" in r.message_ja and "キャンセル" in r.message_ja
    assert "cancelled" in r.message_en
    assert world.stats()["requests"] == sent
    assert world.remote(get_order(ops.db, no).payment.payment_id)["status"] == "authorized"
    with ops.db.session() as s:  # the refusal is in the audit log
        codes = list(s.scalars(select(AuditLog.detail).where(AuditLog.order_no == no)))
    assert any((d or {}).get("code") == "order_cancelled" for d in codes)


def test_a_close_cancels_the_order_in_the_same_step(ops, world):
    no = world.order("authorized")
    assert status_of(ops, no) == "new"
    r = payments.close(ops, OPERATOR, no)
    assert r.ok and "キャンセルに変更" in r.message_ja and "Cancelled" in r.message_en
    assert status_of(ops, no) == "cancelled"
    with ops.db.session() as s:
        entry = s.get(AuditLog, r.audit_id)
        assert entry.outcome == "ok" and "キャンセルに変更" in entry.message
    # closing an order already cancelled on the order page says nothing more
    other = cancelled_order(ops, world)
    r = payments.close(ops, OPERATOR, other)
    assert r.ok and "キャンセルに変更" not in r.message_ja
    assert status_of(ops, other) == "cancelled"


def test_a_close_that_did_not_happen_leaves_the_order_alone(ops, world):
    no = world.order("authorized")
    world.fault("error_500", path_contains="/close", method="POST")
    r = payments.close(ops, OPERATOR, no)
    assert not r.ok
    assert status_of(ops, no) == "new"


def test_a_close_whose_answer_was_lost_but_applied_cancels_the_order(ops, world):
    no = world.order("authorized")
    world.fault("applied_drop", path_contains="/close", method="POST")
    r = payments.close(ops, OPERATOR, no)
    assert r.ok and r.code == "settled_done"
    assert status_of(ops, no) == "cancelled"


def test_batch_preview_names_the_cancellation_and_the_status_change(ops, world):
    cancelled = cancelled_order(ops, world)
    opened = world.order("authorized")
    rows = {r.order_no: r for r in batch.preview(ops, OPERATOR, "capture", [cancelled, opened])}
    assert not rows[cancelled].will_run and "キャンセル" in rows[cancelled].reason_ja
    assert rows[opened].will_run
    rows = {r.order_no: r for r in batch.preview(ops, OPERATOR, "close", [cancelled, opened])}
    assert rows[opened].will_run and rows[opened].cancels_order
    assert "キャンセル" in rows[opened].note_ja and "Cancelled" in rows[opened].note_en
    assert rows[cancelled].will_run and not rows[cancelled].cancels_order
    assert rows[cancelled].note_ja == ""


def test_batch_run_keeps_the_rule(ops, world):
    cancelled = cancelled_order(ops, world)
    opened = world.order("authorized")
    captures = world.stats()["captures_applied"]
    job = batch.create_job(ops, OPERATOR, BatchAction.CAPTURE, [cancelled, opened])
    batch.run_job(ops, job, concurrency=2)
    items = batch.items_frame(ops, job).set_index("order_no")
    assert items.loc[cancelled, "status"] == "skipped"
    assert items.loc[cancelled, "result_code"] == "order_cancelled"
    assert items.loc[opened, "status"] == "ok"
    assert world.stats()["captures_applied"] == captures + 1

    to_close = world.order("authorized")
    job = batch.create_job(ops, OPERATOR, BatchAction.CLOSE, [to_close])
    batch.run_job(ops, job, concurrency=1)
    assert batch.items_frame(ops, job)["status"].tolist() == ["ok"]
    assert status_of(ops, to_close) == "cancelled"  # the same outcome as the order page


def test_the_job_stores_exactly_the_confirmed_set_and_total(ops, world):
    a, b = world.order("authorized", price=1000), world.order("authorized", price=2500)
    expired = world.order("authorized", expires_in_days=-1)
    rows = batch.preview(ops, OPERATOR, "capture", [a, expired, b])
    will = [r for r in rows if r.will_run]
    assert [r.order_no for r in will] == [a, b]
    job = batch.create_job(ops, OPERATOR, "capture", [a, b], confirmed=will)
    with ops.db.session() as s:
        stored = s.get(BatchJob, job)
        assert stored.total == 2 and stored.confirmed_amount == 3500
        items = s.execute(
            select(BatchItem.order_no, BatchItem.confirmed_amount).where(BatchItem.job_id == job)
        ).all()
    assert sorted(items) == [(a, 1000), (b, 2500)]
    assert batch.progress(ops, job).confirmed_amount == 3500
    batch.run_job(ops, job, concurrency=2)
    assert batch.progress(ops, job).counts == {"ok": 2}


def test_a_payment_changed_since_the_confirmation_is_not_run(ops, world):
    no = world.order("authorized", price=1000)
    will = [r for r in batch.preview(ops, OPERATOR, "capture", [no]) if r.will_run]
    world.set_items(no, 900)  # someone lowers the order and updates Paidy after the preview
    assert payments.update(ops, OPERATOR, no).ok
    job = batch.create_job(ops, OPERATOR, "capture", [no], confirmed=will)
    captures = world.stats()["captures_applied"]
    batch.run_job(ops, job, concurrency=1)
    items = batch.items_frame(ops, job)
    assert items["status"].tolist() == ["skipped"] and items["result_code"].tolist() == ["changed"]
    assert world.stats()["captures_applied"] == captures


def test_cli_capture_of_a_cancelled_order_exits_1_with_the_message(ops, world, db, sandbox):
    no = cancelled_order(ops, world)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAIDY_", "DATABASE_"))}
    env.update(
        DATABASE_URL=db.url,
        PAIDY_API_BASE=sandbox.url,
        PAIDY_SECRET_KEY=CLI_KEY,
        AUTH_MODE="none",
    )
    done = subprocess.run(
        [sys.executable, "-m", "core", "capture", str(no)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    line = done.stdout.strip()
    assert line.startswith(f"{no} capture skipped: order_cancelled: ")
    assert f"Order {no} is cancelled" in line
    assert "Traceback" not in done.stdout + done.stderr and CLI_KEY not in done.stdout + done.stderr
    assert get_order(ops.db, no).payment.captured_amount == 0
