"""削除 (soft delete) and restore through the service layer, on SQLite and PostgreSQL, with
orders linked to real sandbox payments in every state.

The rule: refused while the payment is open/expired (close first), captured or partially
refunded (refund first), or busy; allowed for refunded, closed, rejected and no payment.
A deleted order leaves search (count and page), export, the dashboard and sync, stays in the
audit log, and comes back on restore. Every attempt is audited.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core import views as dq
from core.domain.deletion import OrderIsDeleted
from core.export import export_csv
from core.operations import delete as deletion
from core.operations.orders import change_status, save_order
from core.operations.sync import sync_order_nos
from core.roles import PermissionDenied
from core.search import OrderQuery, count_orders, frame_for_orders, iter_orders, search_orders
from core.storage.models import AuditLog, Order, OrderItem, PaidyPayment
from core.timeutil import utcnow
from tests.fixtures_ops import ADMIN, OPERATOR, VIEWER

REFUSED = {
    "open": (dict(state="authorized"), "delete_open"),
    "expired": (dict(state="authorized", expires_in_days=-1), "delete_expired"),
    "captured": (dict(state="captured"), "delete_captured"),
    "partially_refunded": (
        dict(state="partially_refunded", refund_amount=500),
        "delete_captured",
    ),
}
ALLOWED = {
    "refunded": dict(state="refunded"),
    "closed": dict(state="closed"),
    "rejected": dict(state="authorized", status="rejected"),
}


def plain_order(ops, order_no: int, name: str = "支払なし 花子") -> int:
    """An order without a Paidy payment (e.g. paid by bank transfer)."""
    now = utcnow()
    with ops.db.session() as s:
        s.add(
            Order(
                order_no=order_no,
                ordered_at=now,
                updated_at=now,
                customer_name=name,
                customer_kana="シハライナシ ハナコ",
                email="bank@example.jp",
                payment_method="bank",
                subtotal=1000,
                total=1000,
                items=[OrderItem(product_name="タオル", unit_price=1000, quantity=1)],
            )
        )
    return order_no


def audit_rows(ops, order_no: int) -> list[tuple[str, str, str]]:
    with ops.db.session() as s:
        return [
            (r.action, r.outcome, r.actor)
            for r in s.scalars(
                select(AuditLog).where(AuditLog.order_no == order_no).order_by(AuditLog.id)
            )
        ]


def in_search(ops, order_no: int, **query) -> bool:
    page = search_orders(ops.db, OrderQuery(**query), now=ops.now(), page_size=1000)
    return order_no in set(page.frame["order_no"])


@pytest.mark.parametrize("state", sorted(REFUSED))
def test_refused_while_money_can_still_move(ops, world, state):
    spec, code = REFUSED[state]
    no = world.order(**spec)
    before = world.stats()["requests"]
    [result] = deletion.delete_orders(ops, OPERATOR, [no])
    assert (result.outcome, result.code) == ("skipped", code)
    assert not result.done
    assert str(no) in result.message("ja") and str(no) in result.message("en")
    assert in_search(ops, no)
    assert world.stats()["requests"] == before, "deleting never calls Paidy"
    assert audit_rows(ops, no)[-1] == ("delete", "skipped", OPERATOR.name)


@pytest.mark.parametrize("state", sorted(ALLOWED))
def test_allowed_once_nothing_can_move(ops, world, state):
    no = world.order(**ALLOWED[state])
    [result] = deletion.delete_orders(ops, OPERATOR, [no])
    assert (result.outcome, result.code) == ("ok", "ok") and result.done
    assert result.cli_line() == f"{no} delete ok"
    with ops.db.session() as s:
        order = s.scalar(select(Order).where(Order.order_no == no))
        assert order.deleted_by == OPERATOR.name and order.deleted_at is not None
    assert not in_search(ops, no)
    # again: already deleted counts as done, and is audited too
    [again] = deletion.delete_orders(ops, OPERATOR, [no])
    assert (again.outcome, again.code, again.done) == ("skipped", "already_deleted", True)
    assert [a for a in audit_rows(ops, no) if a[0] == "delete"] == [
        ("delete", "ok", OPERATOR.name),
        ("delete", "skipped", OPERATOR.name),
    ]


def test_an_order_without_payment_can_be_deleted_and_unknown_numbers_fail(ops):
    no = plain_order(ops, 9001)
    ok, missing = deletion.delete_orders(ops, ADMIN, [no, 424242])
    assert ok.outcome == "ok"
    assert (missing.outcome, missing.code, missing.done) == ("failed", "no_order", False)
    assert missing.cli_line().startswith("424242 delete failed: no_order:")


def test_a_payment_with_an_unsettled_outcome_blocks_deleting(ops, world):
    no = world.order(state="refunded")
    with ops.db.session() as s:
        pid = s.scalar(select(PaidyPayment.payment_id))
        s.add(
            AuditLog(
                created_at=utcnow(),
                actor="x",
                action="refund",
                order_no=no,
                payment_id=pid,
                outcome="unknown",
            )
        )
    [result] = deletion.delete_orders(ops, OPERATOR, [no])
    assert result.code == "delete_busy" and in_search(ops, no)


def test_deleted_orders_leave_every_list_and_restore_brings_them_back(ops, world):
    kept = world.order(state="captured")
    gone = world.order(state="refunded")
    plain = plain_order(ops, 9002, name="山田 削除")
    with ops.db.session() as s:  # a discrepancy on the refunded one: dashboard counts it
        s.scalar(select(Order).where(Order.order_no == gone)).total = 1
    now = ops.now()
    queries = [
        OrderQuery(),
        OrderQuery(name="山田"),  # text-only count (FTS on SQLite)
        OrderQuery(name="ヤマ"),  # 2 characters: the FTS vocabulary (kana; not the plain one)
        OrderQuery(paidy_state=["refunded"]),  # payment-only count
        OrderQuery(paidy_state=["refunded"], name="山田"),
        OrderQuery(discrepancy_only=True),
        OrderQuery(order_no=gone),
    ]
    before = [count_orders(ops.db, q, now=now) for q in queries]
    metrics_before = dq.metrics(ops.db, now)
    assert metrics_before.discrepancies == 1
    results = deletion.delete_orders(ops, OPERATOR, [gone, plain])
    assert [r.outcome for r in results] == ["ok", "ok"]

    after = [count_orders(ops.db, q, now=now) for q in queries]
    assert after == [before[0] - 2, before[1] - 2, before[2] - 1, 0, 0, 0, 0]
    for q in queries:  # the count and the rows agree
        rows = [r.order_no for r in iter_orders(ops.db, q, now=now, columns=["order_no"])]
        assert count_orders(ops.db, q, now=now) == len(rows)
        assert gone not in rows and plain not in rows
    assert in_search(ops, kept) and not in_search(ops, gone)
    out = io.BytesIO()
    report = export_csv(ops.db, OrderQuery(), out, columns=["order_no"], header="keys", now=now)
    exported = out.getvalue().decode("utf-8-sig").split()[1:]
    assert report.rows == before[0] - 2 and sorted(map(int, exported)) == [kept]
    metrics = dq.metrics(ops.db, now)
    assert metrics.discrepancies == 0
    states = set(dq.amounts_by_state(ops.db, now)["state"])
    assert "refunded" not in states and "captured" in states
    assert gone not in sync_order_nos(ops) and kept in sync_order_nos(ops)
    assert list(frame_for_orders(ops.db, [gone, kept], now)["order_no"]) == [kept]
    # the audit log keeps them, and says who deleted them
    assert ("delete", "ok", OPERATOR.name) in audit_rows(ops, gone)
    assert len(dq.audit_log(ops.db, dq.AuditFilter(order_no=gone))) >= 2  # link + delete

    listed = deletion.deleted_orders(ops, ADMIN)
    assert set(listed["order_no"]) == {gone, plain}
    assert set(listed["deleted_by"]) == {OPERATOR.name}
    restored = deletion.restore_orders(ops, ADMIN, [gone, plain, kept])
    assert [(r.outcome, r.code) for r in restored] == [
        ("ok", "ok"),
        ("ok", "ok"),
        ("skipped", "not_deleted"),
    ]
    assert all(r.done for r in restored)
    assert OPERATOR.name in restored[0].message("ja")
    assert [count_orders(ops.db, q, now=now) for q in queries] == before
    assert dq.metrics(ops.db, now).discrepancies == 1
    assert deletion.deleted_count(ops) == 0
    assert ("restore", "ok", ADMIN.name) in audit_rows(ops, gone)


def test_roles(ops, world):
    no = world.order(state="closed")
    with pytest.raises(PermissionDenied):
        deletion.delete_orders(ops, VIEWER, [no])
    assert audit_rows(ops, no)[-1] == ("delete", "skipped", VIEWER.name)
    assert in_search(ops, no)
    assert deletion.delete_orders(ops, OPERATOR, [no])[0].outcome == "ok"
    with pytest.raises(PermissionDenied):
        deletion.restore_orders(ops, OPERATOR, [no])
    with pytest.raises(PermissionDenied):
        deletion.deleted_orders(ops, OPERATOR)
    assert audit_rows(ops, no)[-1] == ("restore", "skipped", OPERATOR.name)
    assert not in_search(ops, no)
    assert deletion.restore_orders(ops, ADMIN, [no])[0].outcome == "ok"


def test_a_deleted_order_is_not_edited(ops, world):
    no = world.order(state="closed")
    deletion.delete_orders(ops, OPERATOR, [no])
    with pytest.raises(OrderIsDeleted):
        save_order(
            ops,
            OPERATOR,
            no,
            items=[{"product_name": "x", "unit_price": 1, "quantity": 1}],
            shipping_fee=0,
            tax=0,
            status="new",
        )
    assert change_status(ops, OPERATOR, [no], "shipped") == 0
    with ops.db.session() as s:
        assert s.scalar(select(Order.status).where(Order.order_no == no)) != "shipped"
