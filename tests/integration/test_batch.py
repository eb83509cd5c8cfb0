"""Batch jobs (Paidy決済状況管理) against the real sandbox: preview, bounded concurrency, every
row definite under injected faults, crash recovery without repeats, shared queues."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from core.operations import batch, payments
from core.operations.batch import BatchAction
from core.operations.sync import sync
from core.storage.models import AuditLog, BatchItem, PaidyPayment
from tests.fixtures_ops import OPERATOR, past_deadline


def _orders(world, n, state="authorized", **kw):
    return [world.order(state, **kw) for _ in range(n)]


def test_preview_says_which_rows_run_and_why_others_skip(ops, world):
    open_no = world.order("authorized")
    expired_no = world.order("authorized", expires_in_days=-1)
    captured_no = world.order("captured")
    mismatch_no = world.order("authorized", price=1000)
    world.set_total(mismatch_no, 1100)
    sent_before = world.stats()["requests"]
    rows = {
        r.order_no: r
        for r in batch.preview(
            ops,
            OPERATOR,
            BatchAction.CAPTURE,
            [open_no, expired_no, captured_no, mismatch_no, 424242],
        )
    }
    assert rows[open_no].will_run and rows[open_no].amount == 1380
    assert not rows[expired_no].will_run and "有効期限" in rows[expired_no].reason_ja
    assert not rows[captured_no].will_run and "売上確定" in rows[captured_no].reason_ja
    assert not rows[mismatch_no].will_run and "異なります" in rows[mismatch_no].reason_ja
    assert not rows[424242].will_run
    assert world.stats()["requests"] == sent_before, "a preview sends nothing"


def test_batch_capture_runs_every_row_once(ops, world):
    nos = _orders(world, 12)
    expired = world.order("authorized", expires_in_days=-1)
    job = batch.create_job(ops, OPERATOR, BatchAction.CAPTURE, [*nos, expired])
    batch.run_job(ops, job, concurrency=4)
    prog = batch.progress(ops, job)
    assert prog.done and prog.counts == {"ok": 12, "skipped": 1}
    frame = batch.items_frame(ops, job)
    assert list(frame["order_no"]) == [*nos, expired]
    assert world.stats()["captures_applied"] == 12


def test_batch_of_200_with_faults_finishes_every_row_definitely(ops, world):
    nos = _orders(world, 200)
    world.faults(
        fault_rate=0.15,
        mix={
            "error_500": 1,
            "html_502": 1,
            "applied_500": 1,
            "applied_drop": 1,
            "truncated": 1,
            "rate_limited": 1,
        },
    )
    job = batch.create_job(ops, OPERATOR, BatchAction.CAPTURE, nos)
    batch.run_job(ops, job, concurrency=8)
    world.faults(fault_rate=0)
    with ops.db.session() as s:
        statuses = dict(
            s.execute(
                select(BatchItem.status, func.count())
                .where(BatchItem.job_id == job)
                .group_by(BatchItem.status)
            ).all()
        )
    assert "pending" not in statuses and "running" not in statuses
    assert sum(statuses.values()) == 200
    # settle anything unknown (a sync past the settle deadline), then our record and Paidy's
    # agree and nothing was captured twice
    past_deadline(ops)
    sync(ops, OPERATOR)
    remote_captured = 0
    with ops.db.session() as s:
        for row in s.scalars(select(PaidyPayment)):
            remote = world.remote(row.payment_id)
            assert len(remote["captures"]) <= 1
            assert row.captured_amount == sum(c["amount"] for c in remote["captures"])
            remote_captured += len(remote["captures"])
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.outcome.in_(("intent", "unknown")))
            )
            == 0
        )
    assert world.stats()["captures_applied"] == remote_captured
    # a second run of the same job's failures captures the rest, still once each
    job2 = batch.create_job(ops, OPERATOR, BatchAction.CAPTURE, nos)
    batch.run_job(ops, job2, concurrency=8)
    assert world.stats()["captures_applied"] == 200


def test_crash_mid_batch_resumes_without_repeating(ops, world):
    nos = _orders(world, 10)
    job = batch.create_job(ops, OPERATOR, BatchAction.CAPTURE, nos)
    # a worker ran 3 items, then claimed a 4th, sent its capture and died before recording
    for _ in range(3):
        batch.run_item(ops, batch.claim_next(ops, "doomed", job))
    item = batch.claim_next(ops, "doomed", job)
    from core.operations import audit

    with ops.db.session() as s:
        pid = s.scalar(
            select(PaidyPayment.payment_id).where(PaidyPayment.payment_id == item.payment_id)
        )
    audit.record_intent(
        ops.db,
        actor=OPERATOR.name,
        action="capture",
        now=ops.now(),
        order_id=None,
        order_no=item.order_no,
        payment_id=pid,
        amount=1380,
        job_id=job,
    )
    ops.client.capture(pid)
    # time passes; the item's claim and the lock are stale
    with ops.db.session() as s:
        s.execute(
            update(BatchItem)
            .where(BatchItem.id == item.id)
            .values(claimed_at=ops.now() - timedelta(hours=1))
        )
        s.execute(
            update(AuditLog)
            .where(AuditLog.payment_id == pid)
            .values(created_at=ops.now() - timedelta(hours=1))
        )
    assert batch.recover_stale(ops) == 1
    batch.run_job(ops, job, concurrency=3)
    prog = batch.progress(ops, job)
    assert prog.done and prog.counts.get("ok", 0) == 10, prog.counts
    assert world.stats()["captures_applied"] == 10
    with ops.db.session() as s:  # the resumed row records the capture, not the re-read before it
        assert s.get(BatchItem, item.id).result_code == "settled_done"
        codes = set(s.scalars(select(BatchItem.result_code).where(BatchItem.job_id == job)))
    assert codes == {"ok", "settled_done"}


def test_workers_share_one_queue_without_taking_an_item_twice(ops, world):
    nos = _orders(world, 30)
    job = batch.create_job(ops, OPERATOR, BatchAction.REFRESH, nos)
    import threading

    seen: list[int] = []
    lock = threading.Lock()

    def worker(name):
        while (item := batch.claim_next(ops, name, job)) is not None:
            with lock:
                seen.append(item.id)
            batch.run_item(ops, item)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == len(set(seen)) == 30
    assert batch.progress(ops, job).counts == {"ok": 30}


def test_refund_full_batch_and_close_batch(ops, world):
    captured = _orders(world, 3, "captured")
    partly = world.order("partially_refunded", refund_amount=500)
    job = batch.create_job(ops, OPERATOR, BatchAction.REFUND_FULL, [*captured, partly])
    batch.run_job(ops, job)
    assert batch.progress(ops, job).counts == {"ok": 4}
    with ops.db.session() as s:
        assert all(p.refunded_amount == p.captured_amount for p in s.scalars(select(PaidyPayment)))
    opened = _orders(world, 2)
    expired = world.order("authorized", expires_in_days=-2)
    job = batch.create_job(ops, OPERATOR, BatchAction.CLOSE, [*opened, expired])
    batch.run_job(ops, job)
    assert batch.progress(ops, job).counts == {"ok": 3}


def test_sync_reports_changes_made_outside_the_dashboard(ops, world):
    a, b = world.order("authorized"), world.order("authorized")
    with ops.db.session() as s:
        pid_a = s.scalar(select(PaidyPayment.payment_id).order_by(PaidyPayment.id))
    ops.client.capture(pid_a)  # captured in Paidy's own screens
    job = sync(ops, OPERATOR, open_only=True)
    frame = batch.items_frame(ops, job, "en").set_index("order_no")
    assert frame.loc[a, "message"] == "Refreshed: Open → Captured"  # labels, never raw keys
    assert frame.loc[b, "message"] == "Refreshed: no change"


@pytest.mark.parametrize("bad", [[], None])
def test_empty_job_is_refused(ops, bad):
    from core.domain.errors import RuleViolation

    with pytest.raises(RuleViolation):
        batch.create_job(ops, OPERATOR, BatchAction.CAPTURE, bad or [])


def test_payments_module_exports(ops):
    assert callable(payments.capture)


def test_paidy_calls_stay_bounded_by_the_concurrency_setting(ops, world):
    """More worker threads than Paidy slots: calls still never exceed PAIDY_CONCURRENCY.
    Counted by the sandbox's in-flight gauge (the most requests at once), not timed; the
    300 ms answers make six workers overlap if nothing held them back."""
    nos = [world.order() for _ in range(6)]
    ops.client.limit_in_flight(2)
    world.faults(latency_ms=300)
    requests.post(f"{world.url}/_sandbox/stats", json={"reset_gauge": True}, timeout=5)
    job = batch.create_job(ops, OPERATOR, BatchAction.REFRESH, nos)
    batch.run_job(ops, job, concurrency=6)
    assert batch.progress(ops, job).counts == {"ok": 6}
    assert 1 <= world.stats()["max_in_flight"] <= 2
