"""The money path's cases against the in-memory Paidy: every action in every state (a
refusal sends nothing), capture, partial and full refund, close, update, a lost answer
settled by the intent tag, an outcome that stays unknown until the settle deadline, and
"already done". Counters (calls made, money moved) instead of the sandbox's HTTP stats."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.domain.states import PaymentState
from core.operations import payments
from core.operations.results import Outcome
from core.operations.snapshots import payment_facts
from core.storage.models import AuditLog, Order, PaidyPayment
from tests.fixtures_ops import OPERATOR, VIEWER, past_deadline

STATES: dict[str, dict[str, Any]] = {  # the fake's spec of each state
    "open": dict(state="authorized"),
    "expired": dict(state="authorized", expires_in_days=-1),
    "captured": dict(state="captured"),
    "partially_refunded": dict(state="partially_refunded", refund_amount=500),
    "refunded": dict(state="refunded"),
    "closed": dict(state="closed"),
    "rejected": dict(state="authorized", status="rejected"),
}
DERIVED = {  # ... and the state we derive from it
    "open": PaymentState.OPEN,
    "expired": PaymentState.EXPIRED,
    "captured": PaymentState.CAPTURED,
    "partially_refunded": PaymentState.PARTIALLY_REFUNDED,
    "refunded": PaymentState.REFUNDED,
    "closed": PaymentState.CLOSED,
    "rejected": PaymentState.REJECTED,
}
# (state, action) -> "ok" or the refusal's code
EXPECTED = {
    "open": {"capture": "ok", "close": "ok", "update": "no_change", "refund": "not_captured"},
    "expired": {"capture": "expired", "close": "ok", "update": "expired", "refund": "not_captured"},
    **{
        state: {
            "capture": "already_captured",
            "close": "already_captured",
            "update": "already_captured",
            "refund": "nothing_to_refund" if state == "refunded" else "ok",
        }
        for state in ("captured", "partially_refunded", "refunded")
    },
    "closed": {
        "capture": "already_closed",
        "close": "already_closed",
        "update": "already_closed",
        "refund": "not_captured",
    },
    "rejected": dict.fromkeys(("capture", "close", "update", "refund"), "rejected"),
}
ACTIONS = {
    "capture": payments.capture,
    "close": payments.close,
    "update": payments.update,
    "refund": payments.refund,
}
WRITES = ("capture", "refund", "update", "close")


def writes(paidy) -> int:
    return sum(paidy.calls[name] for name in WRITES)


def stored(ops, order_no: int) -> PaidyPayment:
    with ops.db.session() as s:
        return s.scalar(
            select(PaidyPayment).join(Order, Order.id == PaidyPayment.order_id)
            .where(Order.order_no == order_no)
        )  # fmt: skip


def audit_rows(ops, **where) -> list[AuditLog]:
    with ops.db.session() as s:
        q = select(AuditLog)
        for key, value in where.items():
            q = q.where(getattr(AuditLog, key) == value)
        return list(s.scalars(q.order_by(AuditLog.id)))


def agrees(ops, paidy, order_no: int) -> None:
    """Our stored record is Paidy's."""
    row = stored(ops, order_no)
    remote = paidy.payments[row.payment_id]
    assert row.status == remote["status"]
    assert row.captured_amount == sum(c["amount"] for c in remote["captures"])
    assert row.refunded_amount == sum(r["amount"] for r in remote["refunds"])


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_in_every_state(ops, paidy, order, state, action):
    order_no = order(**STATES[state])
    assert payment_facts(stored(ops, order_no)).state(ops.now()) is DERIVED[state]
    before, sent = dict(paidy.payments), writes(paidy)

    result = ACTIONS[action](ops, OPERATOR, order_no)

    expected = EXPECTED[state][action]
    if expected == "ok":
        assert result.outcome is Outcome.OK, result
        assert writes(paidy) == sent + 1
    else:
        assert (result.outcome, result.code) == (Outcome.SKIPPED, expected), result
        assert writes(paidy) == sent, "a refused action sends nothing"
        assert paidy.payments == before
        assert result.message("ja") and result.message("en")
    agrees(ops, paidy, order_no)
    [entry] = audit_rows(ops, action=action)
    assert entry.actor == OPERATOR.name and entry.outcome == result.outcome.value


def test_capture(ops, paidy, order):
    order_no = order("authorized", price=1380)
    r = payments.capture(ops, OPERATOR, order_no)
    assert r.ok and r.state_after is PaymentState.CAPTURED
    assert paidy.applied["capture"] == 1
    agrees(ops, paidy, order_no)
    again = payments.capture(ops, OPERATOR, order_no)
    assert (again.outcome, again.code) == (Outcome.SKIPPED, "already_captured")
    assert paidy.money_moved == 1


def test_partial_then_full_refund(ops, paidy, order):
    order_no = order("captured", price=1380)
    r = payments.refund(ops, OPERATOR, order_no, 1000)
    assert r.ok and r.amount == 1000 and r.state_after is PaymentState.PARTIALLY_REFUNDED
    r = payments.refund(ops, OPERATOR, order_no)  # everything that is left
    assert r.ok and r.amount == 380 and r.state_after is PaymentState.REFUNDED
    assert paidy.applied["refund"] == 2
    agrees(ops, paidy, order_no)
    r = payments.refund(ops, OPERATOR, order_no, 1)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, "nothing_to_refund")
    assert paidy.calls["refund"] == 2


@pytest.mark.parametrize(
    ("amount", "code"), [("0", "amount_not_positive"), ("2000", "refund_over_limit")]
)
def test_refund_amount_refusals_send_nothing(ops, paidy, order, amount, code):
    order_no = order("captured", price=1380)
    r = payments.refund(ops, OPERATOR, order_no, amount)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, code)
    assert paidy.calls["refund"] == 0


def test_close_cancels_the_order(ops, paidy, order):
    order_no = order("authorized")
    r = payments.close(ops, OPERATOR, order_no)
    assert r.ok and r.state_after is PaymentState.CLOSED
    assert paidy.payments[r.payment_id]["status"] == "closed"
    with ops.db.session() as s:
        assert s.scalar(select(Order.status).where(Order.order_no == order_no)) == "cancelled"


def test_update_sends_the_orders_items(ops, paidy, order):
    order_no = order("authorized", price=1000)
    with ops.db.session() as s:
        row = s.scalar(select(Order).where(Order.order_no == order_no))
        row.items[0].unit_price = 1050
        row.subtotal = row.total = 1050
    r = payments.update(ops, OPERATOR, order_no)
    assert r.ok, r
    assert paidy.payments[r.payment_id]["amount"] == 1050
    assert paidy.applied["update"] == 1


def test_update_over_the_limit_is_refused_before_sending(ops, paidy, order):
    order_no = order("authorized", price=1000)
    with ops.db.session() as s:
        row = s.scalar(select(Order).where(Order.order_no == order_no))
        row.items[0].unit_price = 1200
    r = payments.update(ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, "update_over_limit")
    assert paidy.calls["update"] == 0


def test_viewer_is_refused_and_logged(ops, paidy, order):
    order_no = order("authorized")
    r = payments.capture(ops, VIEWER, order_no)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, "permission_denied")
    assert paidy.calls["capture"] == 0
    [entry] = audit_rows(ops, action="capture")
    assert entry.actor == VIEWER.name and entry.outcome == "skipped"


def test_no_order(ops, paidy):
    r = payments.capture(ops, OPERATOR, 999_999)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, "no_order")


@pytest.mark.parametrize("action", ["capture", "refund"])
def test_lost_answer_is_settled_by_the_intent_tag(ops, paidy, order, action):
    order_no = order("authorized" if action == "capture" else "captured")
    paidy.next(action, "lost_answer")
    r = ACTIONS[action](ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.OK, "settled_done"), r
    assert paidy.money_moved == 1
    agrees(ops, paidy, order_no)
    again = ACTIONS[action](ops, OPERATOR, order_no)  # already captured / nothing left
    assert again.outcome is Outcome.SKIPPED, again
    assert paidy.calls[action] == 1


def test_lost_answer_with_paidy_unreachable_stays_unknown_until_refresh(ops, paidy, order):
    order_no = order("authorized")
    paidy.next("capture", "lost_answer")
    paidy.next("get_payment", "unavailable")  # the settling read fails
    r = payments.capture(ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.UNKNOWN, "unknown_checking")
    blocked = payments.close(ops, OPERATOR, order_no)
    assert (blocked.outcome, blocked.code) == (Outcome.SKIPPED, "unsettled")
    assert paidy.calls["close"] == 0
    settled = payments.refresh(ops, OPERATOR, order_no)
    assert settled.ok and settled.state_after is PaymentState.CAPTURED
    [entry] = audit_rows(ops, action="capture")
    assert entry.outcome == "settled" and (entry.detail or {}).get("settled_applied") is True
    assert payments.capture(ops, OPERATOR, order_no).code == "already_captured"
    assert paidy.money_moved == 1


def test_unknown_outcome_is_not_done_only_after_the_deadline(ops, paidy, order):
    order_no = order("authorized")
    paidy.next("capture", "never_arrived")
    r = payments.capture(ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.UNKNOWN, "unknown_checking"), r
    blocked = payments.capture(ops, OPERATOR, order_no)
    assert (blocked.outcome, blocked.code) == (Outcome.SKIPPED, "unsettled")
    payments.refresh(ops, OPERATOR, order_no)  # before the deadline: proves nothing
    assert audit_rows(ops, action="capture")[0].outcome == "unknown"
    past_deadline(ops)
    payments.refresh(ops, OPERATOR, order_no)
    entry = audit_rows(ops, action="capture")[0]
    assert entry.outcome == "settled" and (entry.detail or {}).get("settled_applied") is False
    assert paidy.money_moved == 0
    assert payments.capture(ops, OPERATOR, order_no).ok  # now it may run, exactly once
    assert paidy.money_moved == 1


def test_refused_by_paidy_but_already_done_there(ops, paidy, order):
    """Captured on Paidy's own screens since our last read: Paidy refuses our capture, the
    re-read shows the goal reached: "already captured", not a failure."""
    order_no = order("authorized")
    paidy.on_paidys_screens(stored(ops, order_no).payment_id, "capture")
    r = payments.capture(ops, OPERATOR, order_no)
    assert (r.outcome, r.code) == (Outcome.SKIPPED, "already_captured"), r
    assert r.paidy_code == "payment.state_invalid"
    agrees(ops, paidy, order_no)
    assert paidy.money_moved == 0  # (Paidy's own capture is not one of our calls)


def test_refused_by_paidy_is_a_failure(ops, paidy, order):
    order_no = order("captured")
    paidy.next("refund", "refused")
    r = payments.refund(ops, OPERATOR, order_no, 100)
    assert r.outcome is Outcome.FAILED and r.paidy_code == "payment.state_invalid", r
    assert paidy.applied["refund"] == 0
    agrees(ops, paidy, order_no)
