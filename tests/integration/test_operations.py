"""The service layer against the real sandbox over HTTP, on SQLite and PostgreSQL.

Every action in every state of the rule table; a refused action sends nothing; every fault
kind during capture and refund ends with Paidy's record and ours agreeing and at most one
money-moving call; the audit log holds every attempt.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from core.domain.states import PaymentState
from core.operations import payments
from core.operations.results import Outcome
from core.operations.snapshots import payment_facts
from core.storage.models import AuditLog, InflightAction, PaidyPayment
from tests.fixtures_ops import OPERATOR, VIEWER, past_deadline

STATES = {
    # sandbox spec -> our derived state
    "open": (dict(state="authorized"), PaymentState.OPEN),
    "expired": (dict(state="authorized", expires_in_days=-1), PaymentState.EXPIRED),
    "captured": (dict(state="captured"), PaymentState.CAPTURED),
    "partially_refunded": (
        dict(state="partially_refunded", refund_amount=500),
        PaymentState.PARTIALLY_REFUNDED,
    ),
    "refunded": (dict(state="refunded"), PaymentState.REFUNDED),
    "closed": (dict(state="closed"), PaymentState.CLOSED),
    "rejected": (dict(state="authorized", status="rejected"), PaymentState.REJECTED),
}

# (state, action) -> expected (outcome, code). "ok" rows must change Paidy's record.
EXPECTED = {
    "open": {"capture": "ok", "close": "ok", "update": "no_change", "refund": "not_captured"},
    "expired": {"capture": "expired", "close": "ok", "update": "expired", "refund": "not_captured"},
    "captured": {
        "capture": "already_captured",
        "close": "already_captured",
        "update": "already_captured",
        "refund": "ok",
    },
    "partially_refunded": {
        "capture": "already_captured",
        "close": "already_captured",
        "update": "already_captured",
        "refund": "ok",
    },
    "refunded": {
        "capture": "already_captured",
        "close": "already_captured",
        "update": "already_captured",
        "refund": "nothing_to_refund",
    },
    "closed": {
        "capture": "already_closed",
        "close": "already_closed",
        "update": "already_closed",
        "refund": "not_captured",
    },
    "rejected": {
        "capture": "rejected",
        "close": "rejected",
        "update": "rejected",
        "refund": "rejected",
    },
}

ACTIONS = {
    "capture": lambda ops, actor, n: payments.capture(ops, actor, n),
    "close": lambda ops, actor, n: payments.close(ops, actor, n),
    "update": lambda ops, actor, n: payments.update(ops, actor, n),
    "refund": lambda ops, actor, n: payments.refund(ops, actor, n),
}


def writes(world) -> int:
    """Mutating requests that reached Paidy (anything but GET)."""
    return sum(n for route, n in world.stats()["by_route"].items() if not route.startswith("GET"))


def audit_rows(ops, **where):
    with ops.db.session() as s:
        q = select(AuditLog)
        for k, v in where.items():
            q = q.where(getattr(AuditLog, k) == v)
        return list(s.scalars(q.order_by(AuditLog.id)))


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_in_every_state(ops, world, state, action):
    spec, derived = STATES[state]
    order_no = world.order(**spec)
    with ops.db.session() as s:
        row = s.scalar(select(PaidyPayment))
        assert row.payment_id and payment_facts(row).state(ops.now()) is derived
        pid = row.payment_id
    before = world.remote(pid)
    writes_before = writes(world)

    result = ACTIONS[action](ops, OPERATOR, order_no)

    expected = EXPECTED[state][action]
    after = world.remote(pid)
    if expected == "ok":
        assert result.outcome is Outcome.OK, result
        assert writes(world) == writes_before + 1
        assert after != before
    else:
        assert (result.outcome, result.code) == (Outcome.SKIPPED, expected), result
        assert writes(world) == writes_before, "a refused action must send nothing"
        assert after == before
        assert result.message("ja") and result.message("en")
    # our record agrees with Paidy's
    with ops.db.session() as s:
        row = s.scalar(select(PaidyPayment).where(PaidyPayment.payment_id == pid))
        assert row.status == after["status"]
        assert row.captured_amount == sum(c["amount"] for c in after["captures"])
        assert row.refunded_amount == sum(r["amount"] for r in after["refunds"])
    # every attempt is in the audit log, with its actor
    entries = audit_rows(ops, action=action, payment_id=pid)
    assert len(entries) == 1 and entries[0].actor == OPERATOR.name
    assert entries[0].outcome == result.outcome.value


@pytest.mark.parametrize("state", list(STATES))
def test_refresh_in_every_state(ops, world, state):
    spec, derived = STATES[state]
    order_no = world.order(**spec)
    result = payments.refresh(ops, OPERATOR, order_no)
    assert result.outcome is Outcome.OK
    assert result.state_after is derived
    assert writes(world) == 0


def test_update_sends_items_and_follows_the_guide(ops, world):
    order_no = world.order("authorized", price=1380)
    world.set_items(order_no, 1480)  # the guide: 1,380 -> 1,480
    r = payments.update(ops, OPERATOR, order_no)
    assert r.ok, r
    assert r.message("ja") == "更新が成功しました"
    remote = world.remote(r.payment_id)
    assert remote["amount"] == 1480
    assert remote["order"]["items"][0]["unit_price"] == 1480
    assert remote["order"]["order_ref"] == str(order_no)


def test_update_over_ten_percent_is_refused_before_sending(ops, world):
    order_no = world.order("authorized", price=1000)
    world.set_items(order_no, 1101)
    r = payments.update(ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, "update_over_limit")
    assert "1,100" in r.message("ja")
    assert writes(world) == 0


def test_capture_with_total_mismatch_needs_confirmation(ops, world):
    order_no = world.order("authorized", price=1380)
    world.set_total(order_no, 1480)
    r = payments.capture(ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, "total_mismatch")
    assert writes(world) == 0
    r = payments.capture(ops, OPERATOR, order_no, confirm_mismatch=True)
    assert r.ok and r.message("ja") == "売上確定(キャプチャー)が成功しました"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0", "amount_not_positive"),
        ("-1", "amount_not_positive"),
        ("1.5", "amount_not_whole"),
        ("abc", "amount_not_number"),
        ("1,381", "refund_over_limit"),
        ("", "amount_empty"),
    ],
)
def test_refund_amount_refusals(ops, world, text, code):
    order_no = world.order("captured", price=1380)
    r = payments.refund(ops, OPERATOR, order_no, text)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, code)
    assert writes(world) == 0


def test_partial_then_full_refund(ops, world):
    order_no = world.order("captured", price=1380)
    r = payments.refund(ops, OPERATOR, order_no, "１，０００", reason="返品")
    assert r.ok and r.amount == 1000
    assert r.state_after is PaymentState.PARTIALLY_REFUNDED
    remote = world.remote(r.payment_id)
    assert [x["amount"] for x in remote["refunds"]] == [1000]
    assert remote["refunds"][0]["reason"] == "返品"
    r = payments.refund(ops, OPERATOR, order_no)  # 全額: what is left
    assert r.ok and r.amount == 380 and r.state_after is PaymentState.REFUNDED


def test_viewer_is_refused_in_core_and_logged(ops, world):
    order_no = world.order("authorized")
    r = payments.capture(ops, VIEWER, order_no)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, "permission_denied")
    assert writes(world) == 0
    [entry] = audit_rows(ops, action="capture")
    assert entry.actor == VIEWER.name and entry.outcome == "skipped"


def test_unknown_order_and_order_without_payment(ops, world):
    r = payments.capture(ops, OPERATOR, 999999)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, "no_order")


def test_stale_screen_is_refused(ops, world):
    """A second click or another tab acting on what it showed before the first action."""
    order_no = world.order("captured", price=1380)
    with ops.db.session() as s:
        shown_version = s.scalar(select(PaidyPayment.version))
    first = payments.refund(ops, OPERATOR, order_no, 500, expected_version=shown_version)
    second = payments.refund(ops, OPERATOR, order_no, 500, expected_version=shown_version)
    assert first.ok
    assert (second.outcome, second.code) == (Outcome.SKIPPED, "changed")
    assert world.money_calls() == 1


def test_concurrent_double_click_makes_one_call(ops, world):
    order_no = world.order("captured", price=1380)
    world.faults(latency_ms=150)
    with ops.db.session() as s:
        version = s.scalar(select(PaidyPayment.version))
    results = []
    barrier = threading.Barrier(6)

    def click():
        barrier.wait()
        results.append(payments.refund(ops, OPERATOR, order_no, 100, expected_version=version))

    threads = [threading.Thread(target=click) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.ok for r in results) == 1
    assert {r.code for r in results if not r.ok} <= {"in_progress", "changed"}
    assert world.money_calls() == 1
    from pathlib import Path

    out = Path(__file__).resolve().parents[2] / "artifacts"
    out.mkdir(exist_ok=True)
    (out / f"double_click_{ops.db.dialect}.json").write_text(
        f'{{"clicks": 6, "calls": {world.money_calls()}, "prevented": {sum(not r.ok for r in results)}}}'
    )
    with ops.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InflightAction)) == 0


# --- faults: every kind during capture and refund ------------------------------------------
APPLIED = {
    "applied_timeout": True,
    "applied_500": True,
    "applied_drop": True,
    "truncated": True,
    "wrong_payment": True,
    "negative_amount": True,
    "huge_body": True,
    "error_500": False,
    "html_502": False,
    "timeout": False,
    "redirect": False,
    "rate_limited": False,
}
#: a definite refusal (429 envelope): failed at once; every other unapplied kind is a lost
#: answer: unknown until a read past the settle deadline shows no tag
DEFINITE = {"rate_limited"}


@pytest.mark.parametrize("kind", list(APPLIED))
@pytest.mark.parametrize("action", ["capture", "refund"])
def test_fault_during_money_action_is_settled_from_paidys_record(ops, world, kind, action):
    order_no = world.order("authorized" if action == "capture" else "captured", price=1380)
    route = "/captures" if action == "capture" else "/refunds"
    world.fault(kind, path_contains=route, method="POST")
    money_before = world.money_calls()

    r = ACTIONS[action](ops, OPERATOR, order_no)

    if APPLIED[kind]:
        assert r.outcome is Outcome.OK, r
        assert r.code == "settled_done"
    elif kind in DEFINITE:
        assert r.outcome is Outcome.FAILED, r
    else:
        assert (r.outcome, r.code) == (Outcome.UNKNOWN, "unknown_checking"), r
        blocked = ACTIONS[action](ops, OPERATOR, order_no)
        assert (blocked.outcome, blocked.code) == (Outcome.SKIPPED, "unsettled")
        payments.refresh(ops, OPERATOR, order_no)  # too early: still unknown
        assert audit_rows(ops, action=action)[0].outcome == "unknown"
        past_deadline(ops)
        payments.refresh(ops, OPERATOR, order_no)
        entry = audit_rows(ops, action=action)[0]
        assert entry.outcome == "settled" and entry.detail["settled_applied"] is False
    remote = world.remote(r.payment_id)
    assert world.money_calls() - money_before == (1 if APPLIED[kind] else 0)
    with ops.db.session() as s:
        row = s.scalar(select(PaidyPayment).where(PaidyPayment.payment_id == r.payment_id))
        assert row.captured_amount == sum(c["amount"] for c in remote["captures"])
        assert row.refunded_amount == sum(x["amount"] for x in remote["refunds"])
    entry = audit_rows(ops, action=action)[0]
    assert entry.outcome == ("settled" if r.outcome is Outcome.UNKNOWN else r.outcome.value)
    # nothing is left blocking the payment: a retry is refused or runs exactly once
    again = ACTIONS[action](ops, OPERATOR, order_no)
    if APPLIED[kind]:
        assert again.outcome is Outcome.SKIPPED
        assert world.money_calls() - money_before == 1
    else:
        assert again.ok
        assert world.money_calls() - money_before == 1


def test_lost_answer_with_paidy_unreachable_stays_unknown_until_refresh(ops, world):
    order_no = world.order("authorized", price=1380)
    world.fault("applied_drop", path_contains="/captures", method="POST")
    world.fault("error_500", method="GET", times=3)  # the settling GET and its 2 retries fail
    r = payments.capture(ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.UNKNOWN, "unknown_checking")
    assert "確認中" in r.message("ja") and "再実行しないでください" in r.message("ja")
    # money actions wait for the outcome to be known
    blocked = payments.close(ops, OPERATOR, order_no)
    assert (blocked.outcome, blocked.code) == (Outcome.SKIPPED, "unsettled")
    assert world.money_calls() == 1
    # a refresh settles it from Paidy's record
    settled = payments.refresh(ops, OPERATOR, order_no)
    assert settled.ok and settled.state_after is PaymentState.CAPTURED
    [entry] = audit_rows(ops, action="capture", payment_id=r.payment_id)
    assert entry.outcome == "settled" and entry.detail["settled_applied"] is True
    again = payments.capture(ops, OPERATOR, order_no)
    assert again.code == "already_captured"
    assert world.money_calls() == 1


def test_crash_between_intent_and_outcome_is_settled(ops, world):
    """A process died after writing the intent and sending the capture: the stale lock is taken
    over, the intent blocks money, and a refresh settles it as done."""
    from datetime import timedelta

    from core.operations import audit, locks

    order_no = world.order("authorized", price=1380)
    with ops.db.session() as s:
        pid = s.scalar(select(PaidyPayment.payment_id))
    long_ago = ops.now() - timedelta(hours=1)
    tag = payments.new_tag()
    audit_id = audit.record_intent(
        ops.db,
        actor="crashed",
        action="capture",
        now=long_ago,
        order_id=None,
        order_no=order_no,
        payment_id=pid,
        amount=1380,
        intent_tag=tag,
    )
    assert locks.try_acquire(ops.db, pid, "capture", "crashed", long_ago, ops.lock_ttl)
    ops.client.capture(pid, metadata=payments.tagged(None, tag))  # went out before the crash

    r = payments.capture(ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, "unsettled")
    payments.refresh(ops, OPERATOR, order_no)
    with ops.db.session() as s:
        entry = s.get(AuditLog, audit_id)
        assert entry.outcome == "settled" and entry.detail["settled_applied"] is True
    assert payments.capture(ops, OPERATOR, order_no).code == "already_captured"
    assert world.money_calls() == 1
