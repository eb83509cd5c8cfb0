"""Money exactly once even when Paidy answers late, not at all, or with the wrong record.

Each case of the attack run, over real HTTP against the sandbox, on SQLite and PostgreSQL,
asserting on Paidy's record (the sandbox) and ours. Our clock is moved past settle
deadlines (``past_deadline``); nothing sleeps for them.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from sqlalchemy import select

from core import views
from core.operations import audit, locks, payments, review, settle
from core.operations.results import Outcome
from core.operations.sync import sync
from core.paidy.models import INTENT_KEY
from core.storage.models import AuditLog, PaidyPayment
from tests.fixtures_ops import OPERATOR, past_deadline


def entries(ops, **where) -> list[AuditLog]:
    with ops.db.session() as s:
        q = select(AuditLog).order_by(AuditLog.id)
        for k, v in where.items():
            q = q.where(getattr(AuditLog, k) == v)
        return list(s.scalars(q))


def ours(ops, payment_id: str) -> PaidyPayment:
    with ops.db.session() as s:
        row = s.scalar(select(PaidyPayment).where(PaidyPayment.payment_id == payment_id))
        s.expunge(row)
        return row


def assert_agree(ops, world, payment_id: str) -> dict:
    """Our amounts equal Paidy's, and no tag of ours is in Paidy's record twice."""
    remote = world.remote(payment_id)
    row = ours(ops, payment_id)
    captured = sum(c["amount"] for c in remote["captures"])
    refunded = sum(r["amount"] for r in remote["refunds"])
    assert (row.captured_amount, row.refunded_amount) == (captured, refunded)
    tags = [
        e["metadata"].get(INTENT_KEY)
        for e in remote["captures"] + remote["refunds"]
        if e["metadata"].get(INTENT_KEY)
    ]
    assert len(tags) == len(set(tags)), "an operator request was applied twice"
    return remote


def pid_of(ops, order_no: int) -> str:
    return payments.refresh(ops, OPERATOR, order_no).payment_id


# --- 1. refund applied late -------------------------------------------------------------------
def test_refund_applied_after_the_timeout_is_found_by_its_tag_and_never_sent_twice(ops, world):
    order_no = world.order("captured", price=3000)
    world.faults(apply_late_s=3600)  # held until land_late_writes()
    world.fault("apply_late", path_contains="/refunds", method="POST")

    r = payments.refund(ops, OPERATOR, order_no, 500)

    assert (r.outcome, r.code) == (Outcome.UNKNOWN, "unknown_checking"), r
    assert "再実行しないでください" in r.message("ja") and "Do not run it again" in r.message("en")
    [entry] = entries(ops, action="refund")
    assert entry.outcome == "unknown" and entry.settle_after is not None and entry.intent_tag
    # the operator asks again: nothing is sent while the first is unsettled
    assert payments.refund(ops, OPERATOR, order_no, 500).code == "unsettled"
    assert world.stats()["by_route"]["POST /refunds"] == 1
    # a 状態確認 before the deadline concludes nothing
    payments.refresh(ops, OPERATOR, order_no)
    assert entries(ops, id=entry.id)[0].outcome == "unknown"
    # the request reaches Paidy late; the next read finds our tag: done, exactly once
    assert world.land_late_writes() == [200]
    payments.refresh(ops, OPERATOR, order_no)
    [settled] = entries(ops, id=entry.id)
    assert settled.outcome == "settled" and settled.detail["settled_applied"] is True
    remote = assert_agree(ops, world, r.payment_id)
    assert [x["amount"] for x in remote["refunds"]] == [500]
    assert settled.detail["paidy_ids"] == [remote["refunds"][0]["id"]]
    assert world.stats()["refunds_applied"] == 1


def test_a_write_landing_after_it_was_concluded_not_done_is_flagged(ops, world):
    order_no = world.order("captured", price=3000)
    world.faults(apply_late_s=3600)
    world.fault("apply_late", path_contains="/refunds", method="POST")
    first = payments.refund(ops, OPERATOR, order_no, 500)
    assert first.outcome is Outcome.UNKNOWN
    past_deadline(ops)
    payments.refresh(ops, OPERATOR, order_no)
    [entry] = entries(ops, action="refund")
    assert entry.outcome == "settled" and entry.detail["settled_applied"] is False
    # concluded "not done" past the deadline: the operator refunds again (a new request)
    second = payments.refund(ops, OPERATOR, order_no, 500)
    assert second.ok
    # ...and the first lands after all (later than any deadline we could wait for)
    world.land_late_writes()
    payments.refresh(ops, OPERATOR, order_no)
    corrected = entries(ops, id=entry.id)[0]
    assert corrected.detail["late"] is True and corrected.detail["settled_applied"] is True
    assert corrected.needs_review is True
    assert corrected.detail["history"][0]["code"] == "settled_not_done"  # kept, not rewritten
    [event] = entries(ops, outcome="late")
    assert event.detail["corrects"] == entry.id
    remote = assert_agree(ops, world, first.payment_id)
    assert sorted(x["amount"] for x in remote["refunds"]) == [500, 500]
    # on the dashboard until a person marks it reviewed
    assert views.metrics(ops.db, ops.now()).needs_review == 1
    assert entry.id in set(views.attention(ops.db)["id"])
    review.mark_reviewed(ops, OPERATOR, entry.id, "返金差額をお客様に確認済み")
    assert views.metrics(ops.db, ops.now()).needs_review == 0


# --- 2. a stale 状態確認 -------------------------------------------------------------------------
def test_a_read_that_began_before_the_refund_never_settles_it(ops, world):
    order_no = world.order("captured", price=3000)
    pid = pid_of(ops, order_no)
    began = ops.now()
    early = ops.client.get_payment(pid)  # a sync's GET: began before the refund...
    ops.clock.advance(seconds=1)
    world.fault("applied_drop", path_contains="/refunds", method="POST")
    world.fault("error_500", method="GET", times=3)  # the refund's own re-read fails
    r = payments.refund(ops, OPERATOR, order_no, 300)
    assert r.outcome is Outcome.UNKNOWN
    past_deadline(ops)  # ...and it answers after the deadline: still proves nothing
    settle.store_read(ops, OPERATOR, pid, early, began)
    [entry] = entries(ops, action="refund")
    assert entry.outcome == "unknown"
    assert payments.refund(ops, OPERATOR, order_no, 300).code == "unsettled"
    assert world.stats()["refunds_applied"] == 1
    payments.refresh(ops, OPERATOR, order_no)  # a read that began now: our tag is there
    assert entries(ops, id=entry.id)[0].detail["settled_applied"] is True
    assert [x["amount"] for x in assert_agree(ops, world, pid)["refunds"]] == [300]


def test_a_stale_read_never_rolls_our_record_back(ops, world):
    order_no = world.order("captured", price=3000)
    r = payments.refund(ops, OPERATOR, order_no, 300)
    assert r.ok and ours(ops, r.payment_id).refunded_amount == 300
    world.fault("stale_read", method="GET", times=2)  # answers from before the refund
    stale = payments.refresh(ops, OPERATOR, order_no)
    assert (stale.outcome, stale.code) == (Outcome.SKIPPED, "stale_read")
    assert ours(ops, r.payment_id).refunded_amount == 300


# --- 3. someone else's refund --------------------------------------------------------------------
def test_a_refund_made_on_paidys_screens_is_not_taken_for_ours(ops, world):
    order_no = world.order("captured", price=3000)
    pid = pid_of(ops, order_no)
    capture_id = world.remote(pid)["captures"][0]["id"]
    world.on_paidys_screens(pid, "refunds", capture_id=capture_id, amount=300)
    world.fault("error_500", path_contains="/refunds", method="POST")  # ours never lands
    r = payments.refund(ops, OPERATOR, order_no, 500)
    assert (r.outcome, r.code) == (Outcome.UNKNOWN, "unknown_checking"), r
    past_deadline(ops)
    payments.refresh(ops, OPERATOR, order_no)
    [entry] = entries(ops, action="refund")
    assert entry.detail["settled_applied"] is False and entry.amount == 500
    assert ours(ops, pid).refunded_amount == 300  # Paidy's (the screen's), not ours
    assert payments.refund(ops, OPERATOR, order_no, 500).ok
    assert [x["amount"] for x in assert_agree(ops, world, pid)["refunds"]] == [300, 500]


# --- 4. another payment's record -----------------------------------------------------------------
def test_another_payments_record_is_never_stored_as_ours(ops, world):
    opened = [world.order() for _ in range(3)]
    world.order("captured", price=2000)  # the record a confused proxy answers with
    with ops.db.session() as s:
        before = {p.payment_id: p.raw_json for p in s.scalars(select(PaidyPayment))}
    world.fault("wrong_payment", method="GET", times=100)
    sync(ops, OPERATOR, open_only=True)
    world.faults(next=[])
    with ops.db.session() as s:
        after = {
            p.payment_id: (p.raw_json, p.status, p.capture_id)
            for p in s.scalars(select(PaidyPayment))
        }
    for pid, raw in before.items():
        assert after[pid][0] == raw, "nothing from a wrong answer was stored"
    failed = [e for e in entries(ops, action="refresh") if e.outcome == "failed"]
    assert len(failed) == len(opened) and "別の決済" in failed[0].message
    # a write answered with another payment's record: unknown, settled by our tag
    world.fault("wrong_payment", path_contains="/captures", method="POST")
    r = payments.capture(ops, OPERATOR, opened[0])
    assert (r.outcome, r.code) == (Outcome.OK, "settled_done"), r
    row = ours(ops, r.payment_id)
    assert row.raw_json["id"] == r.payment_id and row.capture_id.startswith("cap_")
    assert row.capture_id == world.remote(r.payment_id)["captures"][0]["id"]


# --- 5. a redirect to a write ----------------------------------------------------------------------
class _Trap(BaseHTTPRequestHandler):
    seen: ClassVar[list] = []

    def do_GET(self):
        _Trap.seen.append((self.command, self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.end_headers()

    do_POST = do_PUT = do_GET

    def log_message(self, *a):
        pass


@pytest.fixture
def trap():
    _Trap.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_redirect_is_never_followed_and_never_carries_the_key(ops, world, trap):
    order_no = world.order()
    world.faults(redirect_location=f"{trap}/payments/steal/captures")
    world.fault("redirect", path_contains="/captures", method="POST")
    r = payments.capture(ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.UNKNOWN, "unknown_checking"), r
    world.fault("redirect", method="GET", times=3)
    assert payments.refresh(ops, OPERATOR, order_no).outcome is Outcome.FAILED
    world.faults(redirect_location="")  # a redirect to our own URL must not resend either
    world.fault("redirect", method="GET")
    past_deadline(ops)
    payments.refresh(ops, OPERATOR, order_no)
    assert _Trap.seen == []
    assert world.stats()["captures_applied"] == 0
    assert entries(ops, action="capture")[0].detail["settled_applied"] is False
    assert payments.capture(ops, OPERATOR, order_no).ok
    assert world.stats()["captures_applied"] == 1


# --- 6. negative amounts and huge bodies ----------------------------------------------------------
def test_negative_amounts_and_huge_bodies_are_not_trusted(ops, world):
    order_no = world.order("captured", price=5148)
    world.fault("negative_amount", path_contains="/refunds", method="POST")
    r = payments.refund(ops, OPERATOR, order_no, 500)
    assert (r.outcome, r.code) == (Outcome.OK, "settled_done"), r  # applied; judged by tag
    assert ours(ops, r.payment_id).refunded_amount == 500
    world.fault("negative_amount", method="GET", times=3)
    assert payments.refresh(ops, OPERATOR, order_no).outcome is Outcome.FAILED
    world.faults(huge_body_bytes=2_000_000)
    world.fault("huge_body", method="GET", times=3)
    failed = payments.refresh(ops, OPERATOR, order_no)
    assert failed.outcome is Outcome.FAILED and "1MB" in failed.message("ja")
    row = ours(ops, r.payment_id)
    assert (row.captured_amount, row.refunded_amount) == (5148, 500)
    assert "padding" not in row.raw_json
    big = payments.refund(ops, OPERATOR, order_no, 50_000)
    assert (big.outcome, big.code) == (Outcome.SKIPPED, "refund_over_limit")
    assert world.stats()["refunds_applied"] == 1
    assert_agree(ops, world, r.payment_id)


def test_a_huge_answer_to_a_capture_is_settled_by_tag(ops, world):
    order_no = world.order()
    world.faults(huge_body_bytes=2_000_000)
    world.fault("huge_body", path_contains="/captures", method="POST")
    r = payments.capture(ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.OK, "settled_done"), r
    assert_agree(ops, world, r.payment_id)


# --- tags Paidy does not echo -------------------------------------------------------------------
def test_answers_without_our_tag_stop_automatic_not_done(ops, world, monkeypatch):
    """If Paidy answers a tagged write without the tag, later lost answers wait for a person."""
    from core.operations import flags

    order_no = world.order()
    real_capture = ops.client.capture
    monkeypatch.setattr(ops.client, "capture", lambda pid, metadata=None: real_capture(pid))
    assert payments.capture(ops, OPERATOR, order_no).ok
    assert not flags.tags_reliable(ops.db)
    monkeypatch.undo()
    second = world.order("captured", price=1000)
    world.fault("error_500", path_contains="/refunds", method="POST")
    r = payments.refund(ops, OPERATOR, second, 100)
    assert r.outcome is Outcome.UNKNOWN
    past_deadline(ops)
    payments.refresh(ops, OPERATOR, second)
    [entry] = entries(ops, action="refund")
    assert entry.outcome == "unknown" and entry.needs_review  # a person decides
    with pytest.raises(review.ReviewError):
        review.resolve(ops, OPERATOR, entry.id, False, "")
    review.resolve(ops, OPERATOR, entry.id, False, "Paidyの管理画面で払い戻しなしを確認")
    assert entries(ops, id=entry.id)[0].detail["settled_applied"] is False
    assert payments.refund(ops, OPERATOR, second, 100).ok


# --- one request found twice --------------------------------------------------------------------
def test_one_request_found_twice_in_paidys_record_is_flagged(ops, world):
    """E.g. a proxy that replayed our refund: two entries carry one tag."""
    order_no = world.order("captured", price=3000)
    r = payments.refund(ops, OPERATOR, order_no, 400)
    assert r.ok
    [entry] = entries(ops, action="refund")
    remote = world.remote(r.payment_id)
    world.on_paidys_screens(
        r.payment_id,
        "refunds",
        capture_id=remote["captures"][0]["id"],
        amount=400,
        metadata={INTENT_KEY: entry.intent_tag},
    )
    payments.refresh(ops, OPERATOR, order_no)
    flagged = entries(ops, id=entry.id)[0]
    assert flagged.needs_review and flagged.detail["duplicate"] is True
    assert len(flagged.detail["paidy_ids"]) == 2
    [event] = entries(ops, outcome="late")
    assert event.detail["corrects"] == entry.id and "2回" in event.message
    assert ours(ops, r.payment_id).refunded_amount == 800  # ours follows Paidy's record
    payments.refresh(ops, OPERATOR, order_no)  # flagged once, not on every read
    assert len(entries(ops, outcome="late")) == 1


# --- the workers' timer (settle_due) ------------------------------------------------------------
def _reads(world) -> int:
    return world.stats()["by_route"].get("GET /payments", 0)


def test_the_timer_never_reads_a_payment_whose_write_is_in_flight(ops, world):
    """An intent with a live marker is a call in flight: however long ago its payment was
    read, the timer leaves it alone (a read would take a Paidy slot and add a refresh row
    while settling nothing); once past the deadline a dead process's intent is read."""
    order_no = world.order("authorized")
    pid = pid_of(ops, order_no)
    ops.clock.advance(seconds=25)  # read 25 s ago: past the 10 s recheck, before the deadline
    with ops.db.session() as s:
        now = ops.now()
        assert locks.take_in(s, pid, "capture", OPERATOR.name, now, ops.lock_ttl)
        audit.add_intent(
            s,
            actor=OPERATOR.name,
            action="capture",
            now=now,
            order_id=None,
            order_no=order_no,
            payment_id=pid,
            amount=1380,
            intent_tag="oi_inflight",
        )
    reads, rows = _reads(world), len(entries(ops))
    assert settle.due_payments(ops) == []
    assert settle.settle_due(ops) == []
    assert (_reads(world), len(entries(ops))) == (reads, rows)
    past_deadline(ops)  # past the deadline, but the marker is live: the call may still end
    assert settle.due_payments(ops) == []
    ops.clock.advance(ops.lock_ttl)  # nobody finished it: a crash, judged from Paidy's record
    assert settle.due_payments(ops) == [pid]
    [result] = settle.settle_due(ops)
    assert _reads(world) == reads + 1
    [entry] = entries(ops, action="capture")
    assert result.ok and entry.outcome == "settled" and entry.detail["settled_applied"] is False


def test_the_timer_rechecks_a_lost_answer_and_finds_a_late_landing_before_the_deadline(ops, world):
    order_no = world.order("captured", price=3000)
    pid = pid_of(ops, order_no)
    world.faults(apply_late_s=3600)
    world.fault("apply_late", path_contains="/refunds", method="POST")
    lost = payments.refund(ops, OPERATOR, order_no, 500)
    assert lost.outcome is Outcome.UNKNOWN
    assert settle.due_payments(ops) == []  # just read (the write's own answer was lost)
    world.land_late_writes()
    ops.clock.advance(ops.recheck_unknown + timedelta(seconds=1))  # long before the deadline
    assert settle.due_payments(ops) == [pid]
    settle.settle_due(ops)
    [entry] = entries(ops, action="refund")
    assert entry.outcome == "settled" and entry.detail["settled_applied"] is True
    assert settle.due_payments(ops) == []
    assert_agree(ops, world, pid)
