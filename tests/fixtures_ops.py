"""Pytest plugin: the service layer wired to a real database (``db``: SQLite and PostgreSQL)
and a real sandbox over a socket, plus a small factory of orders in every payment state."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from core.operations.context import Ops
from core.operations.link import link_payment
from core.paidy.client import PaidyClient
from core.roles import Actor, Role
from core.storage.models import Order
from core.timeutil import iso_z, utcnow
from tests.secrets import OPS_KEY

OPERATOR = Actor("op-tanaka", Role.OPERATOR)
VIEWER = Actor("viewer-sato", Role.VIEWER)
ADMIN = Actor("admin-suzuki", Role.ADMIN)


class World:
    """Creates sandbox payments in a given state and links them to orders through the real
    link path; reads the sandbox's own record and counters for assertions."""

    def __init__(self, ops: Ops, sandbox) -> None:
        self.ops, self.sandbox, self.url = ops, sandbox, sandbox.url
        self._n = 0

    def payment(
        self,
        state: str = "authorized",
        *,
        price: int = 1380,
        qty: int = 1,
        tax: int = 0,
        shipping: int = 0,
        expires_in_days: float = 30,
        refund_amount: int | None = None,
        status: str | None = None,
    ) -> str:
        self._n += 1
        now = utcnow()
        spec = {
            "buyer": {
                "name1": f"山田 太郎{self._n}",
                "name2": "ヤマダ タロウ",
                "email": f"t{self._n}@example.jp",
                "phone": "08000000001",
            },
            "order": {
                "items": [
                    {
                        "id": f"SKU{self._n}",
                        "title": "Paidyスニーカー",
                        "description": "",
                        "unit_price": price,
                        "quantity": qty,
                    }
                ],
                "tax": tax,
                "shipping": shipping,
                "order_ref": str(1000 + self._n),
            },
            "shipping_address": {
                "line1": "AXISビル 10F",
                "line2": "六本木4-22-1",
                "city": "東京都",
                "state": "港区",
                "zip": "106-2004",
            },
            "description": "test",
            "test": True,
            "created_at": iso_z(now - timedelta(days=30 - expires_in_days)),
            "expires_at": iso_z(now + timedelta(days=expires_in_days)),
            "state": state,
        }
        if refund_amount is not None:
            spec["refund_amount"] = refund_amount
        if status is not None:
            spec["status"] = status
        r = requests.post(
            f"{self.url}/_sandbox/payments/bulk", json={"payments": [spec]}, timeout=5
        )
        r.raise_for_status()
        return r.json()["ids"][0]

    def order(self, state: str = "authorized", **kw) -> int:
        """An order linked to a new sandbox payment in ``state``; returns its 注文番号."""
        pid = self.payment(state, **kw)
        return link_payment(self.ops, ADMIN, pid).order_no

    def set_total(self, order_no: int, total: int) -> None:
        with self.ops.db.session() as s:
            order = s.query(Order).filter_by(order_no=order_no).one()
            order.total = total

    def set_items(self, order_no: int, price: int, qty: int = 1) -> None:
        with self.ops.db.session() as s:
            order = s.query(Order).filter_by(order_no=order_no).one()
            order.items[0].unit_price, order.items[0].quantity = price, qty
            order.subtotal = price * qty
            order.total = order.subtotal + order.tax + order.shipping_fee

    def remote(self, payment_id: str) -> dict:
        """Paidy's (the sandbox's) own record, read over HTTP."""
        r = requests.get(
            f"{self.url}/payments/{payment_id}",
            headers={"Authorization": "Bearer sk_test_x"},
            timeout=5,
        )
        return r.json()

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_sandbox/stats", timeout=5).json()

    def money_calls(self) -> int:
        s = self.stats()
        return s.get("captures_applied", 0) + s.get("refunds_applied", 0)

    def fault(
        self, kind: str, path_contains: str | None = None, method: str | None = None, times: int = 1
    ) -> None:
        """Queue ``times`` faults of ``kind`` for the next matching requests (adds to the queue)."""
        rule = {"kind": kind}
        if path_contains:
            rule["path_contains"] = path_contains
        if method:
            rule["method"] = method
        queued = requests.get(f"{self.url}/_sandbox/faults", timeout=5).json().get("next", [])
        r = requests.post(
            f"{self.url}/_sandbox/faults", json={"next": queued + [rule] * times}, timeout=5
        )
        r.raise_for_status()

    def faults(self, **config) -> None:
        requests.post(f"{self.url}/_sandbox/faults", json=config, timeout=5).raise_for_status()

    def on_paidys_screens(self, payment_id: str, action: str, **body) -> dict:
        """An action taken on Paidy's own merchant screens (no tag of ours)."""
        r = requests.post(
            f"{self.url}/_sandbox/payments/{payment_id}/{action}", json=body, timeout=5
        )
        r.raise_for_status()
        return r.json()

    def land_late_writes(self) -> list[int]:
        """Apply every write held back by an apply_late fault now; their HTTP statuses."""
        return requests.post(f"{self.url}/_sandbox/late", timeout=5).json()["applied"]

    def refunds(self, payment_id: str) -> list[dict]:
        return self.remote(payment_id)["refunds"]


class TestClock:
    """Our side's clock in tests: real time plus an offset a test moves forward, so waiting
    out a settle delay never means sleeping (the sandbox keeps its own clock)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self):
        return utcnow() + self.offset

    def advance(self, delta: timedelta | None = None, **kw: float) -> None:
        self.offset += delta if delta is not None else timedelta(**kw)


def make_ops(db, url: str, *, timeout_s: float = 1.0, **kw) -> Ops:
    client = PaidyClient(url, OPS_KEY, timeout_s=timeout_s, read_retries=2, backoff_factor=0.01)
    return Ops(db, client, clock=kw.pop("clock", None) or TestClock(), concurrency=4, **kw)


def past_deadline(ops: Ops) -> None:
    """Move our clock past every lost write's settle deadline (send bound + delay)."""
    clock = ops.clock
    assert isinstance(clock, TestClock), "past_deadline needs the TestClock"
    clock.advance(ops.send_bound + ops.settle_window + timedelta(seconds=1))


@pytest.fixture
def ops(db, sandbox) -> Ops:
    return make_ops(db, sandbox.url)


@pytest.fixture
def world(ops, sandbox) -> World:
    return World(ops, sandbox)
