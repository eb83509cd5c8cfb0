"""The one builder of a demo payment's rows, in every state, for the demo and bench/: the
sandbox's control spec (``POST /_sandbox/payments/bulk``) and the matching
``paidy_payments`` row (written without reading anything back); and the ``order_items``
rows of demo orders."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.storage.demo.orders import DemoOrder
from core.storage.demo.payments import DemoPayment
from core.timeutil import iso_z


def payment_rows(
    paid: Iterable[tuple[int, DemoOrder, int]], now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """For each (order id, demo order with a payment, order number): the sandbox's specs
    and our ``paidy_payments`` rows (synced at ``now``), in the same order."""
    specs: list[dict[str, Any]] = []
    snapshots: list[dict[str, Any]] = []
    for order_id, demo, order_no in paid:
        assert demo.payment is not None
        specs.append(payment_spec(demo, order_no))
        snapshots.append(snapshot_row(order_id, demo.payment, now))
    return specs, snapshots


def payment_spec(demo: DemoOrder, order_no: int) -> dict[str, Any]:
    """The sandbox's control spec for one demo payment."""
    pay = demo.payment
    assert pay is not None
    row = demo.order
    city_end = row["address1"].find("区") + 1 or row["address1"].find("市") + 1
    spec: dict[str, Any] = {
        "id": pay.payment_id,
        "buyer": {
            "name1": row["customer_name"],
            "name2": row["customer_kana"],
            "email": row["email"],
            "phone": row["phone"],
        },
        "order": {
            "items": [
                {"id": code, "title": name, "description": "", "unit_price": price, "quantity": qty}
                for code, name, price, qty in pay.items
            ],
            "tax": pay.tax,
            "shipping": pay.shipping,
            "order_ref": str(order_no),
        },
        "shipping_address": {
            "line1": row["address2"],
            "line2": row["address1"][city_end:],
            "city": row["address1"][:city_end],
            "state": row["prefecture"],
            "zip": row["zip"],
        },
        "description": f"デモショップ 注文番号 {order_no}",
        "test": True,
        "created_at": iso_z(pay.created_at),
        "expires_at": iso_z(pay.expires_at),
    }
    if pay.state == "rejected":
        spec["status"] = "rejected"
    elif pay.state in ("captured", "partially_refunded", "refunded", "closed"):
        spec["state"] = pay.state
        if pay.state == "partially_refunded":
            spec["refund_amount"] = pay.refunded
    else:
        spec["state"] = "authorized"
    return spec


def snapshot_row(order_id: int, pay: DemoPayment, now: datetime) -> dict[str, Any]:
    """Our ``paidy_payments`` row for a payment the sandbox holds as ``pay`` says."""
    return {
        "order_id": order_id,
        "payment_id": pay.payment_id,
        "status": pay.status,
        "amount": pay.amount,
        "authorized_amount": pay.amount,
        "captured_amount": pay.captured,
        "refunded_amount": pay.refunded,
        "capture_id": None,
        "expires_at": pay.expires_at,
        "paidy_created_at": pay.created_at,
        "test": True,
        "raw_json": None,
        "last_synced_at": now,
        "last_result": None,
        "last_result_at": None,
        "version": 0,
    }


def item_rows(order_ids: Iterable[int], orders: Iterable[DemoOrder]) -> list[dict[str, Any]]:
    """The ``order_items`` rows of ``orders`` (inserted with these ids), in position order."""
    return [
        {"order_id": oid, "position": pos, "product_code": code, "product_name": name,
         "unit_price": price, "quantity": qty}
        for oid, d in zip(order_ids, orders, strict=True)
        for pos, (code, name, price, qty) in enumerate(d.items, start=1)
    ]  # fmt: skip
