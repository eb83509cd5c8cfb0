"""core.views on SQLite and PostgreSQL: metrics agree with the order search, audit filters
and CSV, captures per JST day, the order timeline."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from core import views as dq
from core.domain.states import Action, PaymentState
from core.operations import audit, payments
from core.operations.results import ActionResult, Outcome
from core.search import OrderQuery, count_orders, frame_for_orders
from core.storage.demo import seed_demo
from core.timeutil import jst_day_start_utc, jst_today, utcnow
from tests.fixtures_ops import OPERATOR


@pytest.fixture
def seeded(db, sandbox):
    seed_demo(db, sandbox_url=sandbox.url, orders=40, seed=1)
    return db


def _ok(action: Action, order_no: int, amount: int) -> ActionResult:
    return ActionResult(action, Outcome.OK, "ok", "ok", "ok", order_no, f"pay_t{order_no}", amount)


def test_metrics_agree_with_the_search(seeded):
    now = utcnow()
    m = dq.metrics(seeded, now)
    assert m.open_count == count_orders(seeded, OrderQuery(paidy_state=["open"]), now=now)
    assert m.open_count > 0
    assert m.expiring_3_count == count_orders(seeded, OrderQuery(expires_within_days=3), now=now)
    assert m.expiring_7_count == count_orders(seeded, OrderQuery(expires_within_days=7), now=now)
    assert m.expiring_3_count <= m.expiring_7_count <= m.open_count
    assert m.discrepancies == count_orders(seeded, OrderQuery(discrepancy_only=True), now=now)
    assert m.discrepancies > 0
    assert m.captured_today == m.refunded_month == m.unsettled == 0
    by_state = dq.amounts_by_state(seeded, now)
    assert int(by_state["count"].sum()) == count_orders(
        seeded, OrderQuery(paidy_only=True), now=now
    )
    for row in by_state.itertuples():
        assert row.count == count_orders(seeded, OrderQuery(paidy_state=[row.state]), now=now)
    open_row = by_state[by_state["state"] == PaymentState.OPEN.value].iloc[0]
    assert int(open_row["amount"]) == m.open_amount


def test_today_and_month_come_from_the_audit_log(db):
    now = utcnow()
    today = jst_day_start_utc(jst_today(now))
    month = jst_day_start_utc(jst_today(now).replace(day=1))
    audit.record_attempt(db, "op", _ok(Action.CAPTURE, 1, 1000), now)
    audit.record_attempt(db, "op", _ok(Action.CAPTURE, 2, 500), now)
    audit.record_attempt(db, "op", _ok(Action.REFUND, 1, 300), now)
    if month < today:  # earlier this month (not possible on the 1st)
        audit.record_attempt(db, "op", _ok(Action.CAPTURE, 3, 7000), today - timedelta(seconds=1))
    audit.record_attempt(db, "op", _ok(Action.CAPTURE, 4, 9000), month - timedelta(days=3))
    failed = ActionResult(Action.CAPTURE, Outcome.FAILED, "x", "x", "x", 5, "pay_t5", 100)
    audit.record_attempt(db, "op", failed, now)
    unknown = ActionResult(Action.REFUND, Outcome.UNKNOWN, "unknown", "x", "x", 6, "pay_t6", 100)
    audit.record_attempt(db, "op", unknown, now)
    m = dq.metrics(db, now)
    assert (m.captured_today, m.captured_today_count) == (1500, 2)
    assert m.captured_month == 1500 + (7000 if month < today else 0)
    assert (m.refunded_today, m.refunded_month) == (300, 300)
    assert m.failed_today == 1
    assert m.unsettled == 1
    days = dq.captures_per_day(db, now, days=40)
    assert len(days) == 40
    assert days.iloc[-1]["amount"] == 1500 and days.iloc[-1]["count"] == 2
    assert int(days["amount"].sum()) == 1500 + 9000 + (7000 if month < today else 0)


def test_audit_filters_and_csv(db):
    now = utcnow()
    audit.record_attempt(db, "tanaka", _ok(Action.CAPTURE, 61, 1380), now)
    audit.record_attempt(db, "suzuki", _ok(Action.REFUND, 62, 1000), now - timedelta(days=2))
    audit.record_event(db, "tanaka", "status_change", "=cmd|' /C calc'!A0", now)
    assert dq.audit_count(db, dq.AuditFilter()) == 3
    assert dq.audit_count(db, dq.AuditFilter(actor="TANA")) == 2
    assert dq.audit_count(db, dq.AuditFilter(actions=("refund",))) == 1
    assert dq.audit_count(db, dq.AuditFilter(outcomes=("ok",), order_no=61)) == 1
    assert dq.audit_count(db, dq.AuditFilter(payment_id="pay_t62")) == 1
    today = jst_today(now)
    assert dq.audit_count(db, dq.AuditFilter(date_from=today, date_to=today)) == 2
    assert dq.audit_count(db, dq.AuditFilter(date_to=today - timedelta(days=2))) == 1
    frame = dq.audit_log(db, dq.AuditFilter(), limit=2)
    assert len(frame) == 2 and frame["id"].is_monotonic_decreasing
    assert dq.distinct_actors(db) == ["suzuki", "tanaka"]
    data = dq.audit_csv(db, dq.AuditFilter(), {"actor": "担当者"}, encoding="cp932")
    rows = list(csv.reader(io.StringIO(data.decode("cp932"))))
    assert rows[0][2] == "担当者" and len(rows) == 4
    assert any(cell.startswith("'=cmd") for row in rows for cell in row)  # formula neutralised


def test_timeline_and_expiring(db, world, ops):
    no = world.order("authorized", expires_in_days=2)
    later = world.order("authorized", expires_in_days=20)
    soon = dq.expiring_soon(db, utcnow())
    assert list(soon["order_no"])[:2] == [no, later]
    assert int(soon["days_left"].iloc[0]) in (1, 2)
    result = payments.capture(ops, OPERATOR, no)
    assert result.ok
    timeline = dq.order_timeline(db, no)
    kinds = list(timeline["kind"])
    assert "authorized" in kinds and "capture" in kinds and "audit:capture" in kinds
    assert timeline["at"].is_monotonic_decreasing
    assert dq.any_payment_id(db)
    assert dq.counts(db)["payments"] == 2
    frame = frame_for_orders(db, [later, no, 999999], utcnow())
    assert sorted(frame["order_no"]) == sorted([no, later])
