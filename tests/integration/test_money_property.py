"""A property over many interleavings: late applies, stale and slow reads, lost answers,
refunds made on Paidy's screens, double clicks and syncs, over 30 payments. At the end,
after the late writes land and one sync past the settle deadline, for every payment our
captured/refunded amounts equal Paidy's, no operator request is in Paidy's record twice,
and every request's audit entry says "done" exactly when Paidy holds its tag."""

from __future__ import annotations

import os
import threading

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.operations import audit, payments, settle
from core.paidy.models import INTENT_KEY
from core.storage.models import AuditLog, PaidyPayment
from tests.fixtures_ops import OPERATOR, past_deadline

CAPTURED, OPEN = 20, 10
WRITE_FAULTS = [None, None, "applied_drop", "error_500", "apply_late", "timeout", "huge_body"]

refund = st.tuples(
    st.just("refund"),
    st.integers(0, CAPTURED - 1),
    st.integers(1, 3000),
    st.sampled_from(WRITE_FAULTS),
)
capture = st.tuples(
    st.just("capture"), st.integers(0, OPEN - 1), st.just(0), st.sampled_from(WRITE_FAULTS)
)
outside = st.tuples(
    st.just("screen_refund"), st.integers(0, CAPTURED - 1), st.integers(1, 800), st.none()
)
sync = st.tuples(
    st.just("sync"),
    st.integers(0, CAPTURED + OPEN - 1),
    st.just(0),
    st.sampled_from([None, "stale_read"]),
)
slow = st.tuples(
    st.sampled_from(["slow_start", "slow_deliver"]),
    st.integers(0, CAPTURED - 1),
    st.just(0),
    st.none(),
)
other = st.tuples(
    st.sampled_from(["advance", "land_late", "double_refund"]),
    st.integers(0, CAPTURED - 1),
    st.integers(1, 2000),
    st.none(),
)
steps = st.lists(st.one_of(refund, capture, outside, sync, slow, other), min_size=5, max_size=25)


@settings(
    max_examples=int(os.environ.get("MONEY_PROPERTY_EXAMPLES", "8")),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=steps)
def test_money_moves_exactly_once_under_any_interleaving(ops, world, plan):
    world.faults(next=[], apply_late_s=3600, timeout_hold_s=0.0, huge_body_bytes=1_100_000)
    captured = [world.order("captured", price=5000) for _ in range(CAPTURED)]
    opened = [world.order() for _ in range(OPEN)]
    every = captured + opened
    pid = {n: payments.refresh(ops, OPERATOR, n).payment_id for n in every}
    slow_reads: list = []

    for kind, i, amount, fault in plan:
        if kind in ("refund", "capture") and fault:
            world.fault(fault, path_contains=f"/{kind}s", method="POST")
        if kind == "refund":
            payments.refund(ops, OPERATOR, captured[i], amount)
        elif kind == "capture":
            payments.capture(ops, OPERATOR, opened[i])
        elif kind == "screen_refund":
            remote = world.remote(pid[captured[i]])
            left = sum(c["amount"] for c in remote["captures"]) - sum(
                r["amount"] for r in remote["refunds"]
            )
            if left >= amount:
                capture_id = remote["captures"][0]["id"]
                world.on_paidys_screens(
                    pid[captured[i]], "refunds", capture_id=capture_id, amount=amount
                )
        elif kind == "sync":
            if fault:
                world.fault(fault, method="GET")
            payments.refresh(ops, OPERATOR, every[i])
        elif kind == "slow_start":  # a read that begins now and answers later
            slow_reads.append(
                (pid[captured[i]], ops.now(), ops.client.get_payment(pid[captured[i]]))
            )
        elif kind == "slow_deliver" and slow_reads:
            _deliver(ops, slow_reads)
        elif kind == "advance":
            ops.clock.advance(seconds=amount / 40)  # 0..50 s: before or past a deadline
        elif kind == "land_late":
            world.land_late_writes()
        elif kind == "double_refund":  # two operators (or a double click) at once
            both = [
                threading.Thread(target=payments.refund, args=(ops, OPERATOR, captured[i], 100))
                for _ in range(2)
            ]
            for t in both:
                t.start()
            for t in both:
                t.join()
        world.faults(next=[])

    # the end: late writes land, then one sync that begins past every deadline
    world.land_late_writes()
    past_deadline(ops)
    for n in every:
        payments.refresh(ops, OPERATOR, n)
    with ops.db.session() as s:
        rows = {
            r.payment_id: (r.captured_amount, r.refunded_amount)
            for r in s.scalars(select(PaidyPayment))
        }
        mine = AuditLog.payment_id.in_(list(pid.values()))  # this example's payments
        tagged = list(s.scalars(select(AuditLog).where(mine, AuditLog.intent_tag.is_not(None))))
        assert not list(
            s.scalars(select(AuditLog).where(mine, AuditLog.outcome.in_(audit.UNSETTLED)))
        )
    paidy_tags: set[str] = set()
    for n in every:
        remote = world.remote(pid[n])
        got = [e["metadata"].get(INTENT_KEY) for e in remote["captures"] + remote["refunds"]]
        got = [g for g in got if g]
        assert len(got) == len(set(got)), "an operator request was applied twice"
        paidy_tags |= set(got)
        captured_total = sum(c["amount"] for c in remote["captures"])
        refunded_total = sum(r["amount"] for r in remote["refunds"])
        assert rows[pid[n]] == (captured_total, refunded_total), n
    for entry in tagged:
        assert audit.was_applied(entry) == (entry.intent_tag in paidy_tags), (
            entry.id,
            entry.action,
            entry.outcome,
            entry.detail,
        )


def _deliver(ops, slow_reads: list) -> None:
    payment_id, began, result = slow_reads.pop(0)
    settle.store_read(ops, OPERATOR, payment_id, result, began)
