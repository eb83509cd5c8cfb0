"""Demo data: deterministic generation with every rule-table state, seeding into the database
and a real sandbox (both agree), once-only seeding under concurrency, clean failure."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from core.domain.money import Discrepancy, discrepancy, order_amount
from core.domain.orders import Gender, OrderStatus, PaymentMethod, PaymentStatus
from core.domain.states import PaymentState
from core.search import OrderQuery, count_orders, iter_orders
from core.storage.demo import DemoError, generate_orders, seed_demo, seed_demo_if_empty
from core.storage.models import Order, OrderItem, PaidyPayment

NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
PAY_ID = re.compile(r"^pay_[A-Za-z0-9_-]+$")


def test_generation_is_deterministic_and_consistent():
    a = list(generate_orders(200, seed=1, now=NOW))
    assert a == list(generate_orders(200, seed=1, now=NOW))
    assert a != list(generate_orders(200, seed=2, now=NOW))
    assert list(generate_orders(0, seed=1, now=NOW)) == []
    times = [d.order["ordered_at"] for d in a]
    assert times == sorted(times) and NOW - timedelta(days=60) <= times[0] and times[-1] <= NOW
    ids = [d.payment.payment_id for d in a if d.payment]
    assert len(set(ids)) == len(ids) and all(PAY_ID.match(i) for i in ids)
    assert len(ids) == 160  # 80 % Paidy
    for d in a:
        row = d.order
        assert row["subtotal"] == sum(p * q for _, _, p, q in d.items)
        assert row["total"] == row["subtotal"] + row["tax"] + row["shipping_fee"]
        assert row["updated_at"] <= NOW and row["ordered_at"] <= row["updated_at"]
        assert row["status"] in set(OrderStatus) and row["payment_status"] in set(PaymentStatus)
        assert row["payment_method"] in set(PaymentMethod)
        assert row["gender"] is None or row["gender"] in set(Gender)
        if d.payment:
            p = d.payment
            assert p.amount == order_amount([(x[2], x[3]) for x in p.items], p.tax, p.shipping)
            assert p.expires_at - p.created_at == timedelta(days=30)


def test_generation_covers_every_state_and_both_warnings():
    demo = list(generate_orders(200, seed=1, now=NOW))
    pays = [(d, d.payment) for d in demo if d.payment]
    states = Counter(p.state for _, p in pays)
    assert set(states) == {
        "open",
        "expired",
        "captured",
        "partially_refunded",
        "refunded",
        "closed",
        "rejected",
    }
    left = [(p.expires_at - NOW).total_seconds() / 86400 for _, p in pays if p.state == "open"]
    assert any(0 < x <= 3 for x in left) and any(3 < x <= 7 for x in left)
    assert all(
        (p.expires_at <= NOW) == (p.state == "expired") for _, p in pays if p.status == "authorized"
    )
    warnings = Counter(
        discrepancy(d.order["total"], p.amount, p.captured, p.refunded, p.status) for d, p in pays
    )
    assert warnings[Discrepancy.BEFORE_CAPTURE] >= 1 and warnings[Discrepancy.AFTER_CAPTURE] >= 1
    assert warnings[Discrepancy.NONE] > 0.9 * len(pays)  # a handful, not the norm
    names = " ".join(d.order["customer_name"] for d in demo)
    assert (
        "🌸" in names
        and "𠮷" in names
        and any(d.order["customer_name"].startswith("=") for d in demo)
    )
    kinds = {(p.state, d.order["status"]) for d, p in pays}
    assert ("closed", "cancelled") in kinds and ("captured", "shipped") in kinds


def _sandbox_payments(url: str) -> dict[str, dict]:
    found, offset = {}, 0
    while True:
        page = requests.get(
            f"{url}/_sandbox/payments", params={"limit": 1000, "offset": offset}, timeout=30
        ).json()
        found.update({p["id"]: p for p in page["payments"]})
        offset += len(page["payments"])
        if not page["payments"] or offset >= page["total"]:
            return found


def test_seed_demo_writes_orders_and_matching_sandbox_payments(db, sandbox_url):
    report = seed_demo(db, sandbox_url=sandbox_url, orders=200, seed=1, now=NOW)
    assert (report.orders, report.payments) == (200, 160)
    assert (report.first_order_no, report.last_order_no) == (1, 200)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 200
        assert s.scalar(select(func.count()).select_from(OrderItem)) > 200
        snaps = {p.payment_id: p for p in s.scalars(select(PaidyPayment))}
    remote = _sandbox_payments(sandbox_url)
    assert set(remote) == set(snaps)
    for pid, snap in snaps.items():
        pay = remote[pid]
        captured = sum(c["amount"] for c in pay["captures"])
        refunded = sum(r["amount"] for r in pay["refunds"])
        assert (pay["status"], pay["amount"], captured, refunded) == (
            snap.status, snap.amount, snap.captured_amount, snap.refunded_amount
        )  # fmt: skip
        assert snap.test and snap.last_synced_at == NOW and snap.authorized_amount == snap.amount
    # what the search derives matches the planned states
    for state, n in report.states.items():
        assert count_orders(db, OrderQuery(paidy_state=state), now=NOW) == n, state
    assert count_orders(db, OrderQuery(discrepancy_only=True), now=NOW) >= 2
    assert count_orders(db, OrderQuery(expires_within_days=3), now=NOW) >= 1
    order_refs = {p["order"]["order_ref"] for p in remote.values()}
    nos = {
        str(r.order_no)
        for r in iter_orders(db, OrderQuery(paidy_only=True), now=NOW, columns=["order_no"])
    }
    assert order_refs == nos


def test_seeding_again_continues_the_order_numbers(db_sqlite, sandbox_url):
    seed_demo(db_sqlite, sandbox_url=sandbox_url, orders=30, seed=1, now=NOW, chunk_size=7)
    report = seed_demo(
        db_sqlite, sandbox_url=sandbox_url, orders=20, seed=1, now=NOW + timedelta(seconds=1)
    )
    assert (report.first_order_no, report.last_order_no) == (31, 50)
    assert count_orders(db_sqlite, OrderQuery(), now=NOW) == 50


def test_seed_if_empty_runs_once_even_when_two_start_together(db, sandbox_url):
    results, errors = [], []

    def start():
        try:
            results.append(seed_demo_if_empty(db, sandbox_url, orders=50, seed=1, now=NOW))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(r.skipped for r in results) == [False, True]
    assert count_orders(db, OrderQuery(), now=NOW) == 50
    assert seed_demo_if_empty(db, sandbox_url, orders=50, now=NOW).skipped


def test_unreachable_sandbox_is_a_clear_error_and_leaves_nothing(db_sqlite):
    with pytest.raises(DemoError) as info:
        seed_demo(db_sqlite, sandbox_url="http://127.0.0.1:9", orders=10, now=NOW)
    assert "サンドボックス" in info.value.message("ja")
    assert count_orders(db_sqlite, OrderQuery(), now=NOW) == 0


def test_states_are_what_the_dashboard_derives(db_sqlite, sandbox_url):
    seed_demo(db_sqlite, sandbox_url=sandbox_url, orders=60, seed=5, now=NOW)
    derived = Counter(
        r.paidy_state
        for r in iter_orders(
            db_sqlite, OrderQuery(paidy_only=True), now=NOW, columns=["paidy_state"]
        )
    )
    assert set(derived) <= {s.value for s in PaymentState} - {"unknown"}
