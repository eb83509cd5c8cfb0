"""Our copy of Paidy's record: load it as plain facts, and store what Paidy returned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.domain.money import order_amount
from core.domain.states import PaymentSnapshot, PaymentState
from core.paidy.models import Payment
from core.storage.models import Order, PaidyPayment
from core.timeutil import as_utc


@dataclass(frozen=True)
class OrderFacts:
    id: int
    order_no: int
    total: int
    tax: int
    shipping: int
    items: tuple[
        tuple[str, str, int, int], ...
    ]  # (product_code, product_name, unit_price, quantity)
    status: str

    @property
    def items_amount(self) -> int:
        """Paidy's amount rule over our items: sum(price x qty) + tax + shipping."""
        return order_amount([(p, q) for _, _, p, q in self.items], self.tax, self.shipping)

    def paidy_order(self) -> dict:
        return {
            "items": [
                {
                    "id": code,
                    "title": name,
                    "description": name,
                    "unit_price": price,
                    "quantity": qty,
                }
                for code, name, price, qty in self.items
            ],
            "tax": self.tax,
            "shipping": self.shipping,
            "order_ref": str(self.order_no),
        }


@dataclass(frozen=True)
class PaymentFacts:
    row_id: int
    payment_id: str
    status: str
    amount: int
    authorized_amount: int
    captured: int
    refunded: int
    capture_id: str | None
    expires_at: datetime | None
    version: int
    last_synced_at: datetime | None
    refund_ids: tuple[str, ...]

    def snapshot(self) -> PaymentSnapshot:
        return PaymentSnapshot(
            self.status, self.amount, self.captured, self.refunded, self.expires_at
        )

    def state(self, now: datetime) -> PaymentState:
        return self.snapshot().state(now)


def order_facts(order: Order, *, with_items: bool = True) -> OrderFacts:
    """Plain facts of an order; ``with_items=False`` leaves the items out (and unloaded):
    only an update needs them."""
    items = (
        tuple(
            (i.product_code or "", i.product_name or "", int(i.unit_price), int(i.quantity))
            for i in sorted(order.items, key=lambda i: (i.position or 0, i.id or 0))
        )
        if with_items
        else ()
    )
    return OrderFacts(
        order.id,
        order.order_no,
        int(order.total),
        int(order.tax or 0),
        int(order.shipping_fee or 0),
        items,
        order.status,
    )


def payment_facts(p: PaidyPayment) -> PaymentFacts:
    refunds = (p.raw_json or {}).get("refunds") or []
    return PaymentFacts(
        row_id=p.id,
        payment_id=p.payment_id,
        status=p.status or "",
        amount=int(p.amount or 0),
        authorized_amount=int(p.authorized_amount or p.amount or 0),
        captured=int(p.captured_amount or 0),
        refunded=int(p.refunded_amount or 0),
        capture_id=p.capture_id,
        expires_at=as_utc(p.expires_at),
        version=int(p.version or 0),
        last_synced_at=as_utc(p.last_synced_at),
        refund_ids=tuple(r.get("id", "") for r in refunds if isinstance(r, dict)),
    )


def load_by_order_no(
    s: Session, order_no: int, *, for_update: bool = False
) -> tuple[Order | None, PaidyPayment | None]:
    order = s.scalar(
        select(Order).options(selectinload(Order.items)).where(Order.order_no == order_no)
    )
    if order is None:
        return None, None
    q = select(PaidyPayment).where(PaidyPayment.order_id == order.id)
    if for_update:
        q = q.with_for_update()
    return order, s.scalar(q)


def load_facts(
    s: Session, order_no: int, *, for_update: bool = False, with_items: bool = True
) -> tuple[OrderFacts | None, PaymentFacts | None, int | None]:
    """(order facts, payment facts, order id) in one query (plus one for the items when
    asked): None facts when the order or its payment is missing. ``for_update`` locks the
    payment row (only when both exist: an outer join's nullable side cannot be locked)."""
    q = select(Order, PaidyPayment).where(Order.order_no == order_no)
    if for_update:
        q = q.join(PaidyPayment, PaidyPayment.order_id == Order.id).with_for_update(of=PaidyPayment)
    else:
        q = q.outerjoin(PaidyPayment, PaidyPayment.order_id == Order.id)
    if with_items:
        q = q.options(selectinload(Order.items))
    row = s.execute(q).first()
    if row is None:
        return None, None, None
    order, pay = row
    facts = order_facts(order, with_items=with_items)
    return facts, (payment_facts(pay) if pay is not None else None), order.id


def load_by_payment_id(
    s: Session, payment_id: str, *, for_update: bool = False
) -> PaidyPayment | None:
    q = select(PaidyPayment).where(PaidyPayment.payment_id == payment_id)
    if for_update:
        q = q.with_for_update()
    return s.scalar(q)


def load_locked(s: Session, payment_id: str) -> PaidyPayment:
    """The row of a payment this operation already found, under the row lock. Gone
    meanwhile (deleted under our feet): LookupError, never a half-written outcome."""
    row = load_by_payment_id(s, payment_id, for_update=True)
    if row is None:
        raise LookupError(f"payment {payment_id} is no longer stored")
    return row


def is_stale(row: PaidyPayment, payment: Payment) -> bool:
    """Is this read older than what we already stored? Paidy's captures and refunds only
    ever grow and a closed payment never reopens: a read missing one we have seen, or
    authorized after closed, began before that write (a slow or lagging read)."""
    raw = row.raw_json or {}
    seen = {e.get("id") for key in ("captures", "refunds") for e in raw.get(key) or []}
    have = {e.id for e in payment.captures} | {e.id for e in payment.refunds}
    if seen - have:
        return True
    return (row.status or "") == "closed" and payment.status == "authorized"


def apply_payment(row: PaidyPayment, payment: Payment, now: datetime) -> bool:
    """Store Paidy's answer on our row; bump ``version`` when anything an operator decides on
    moved (status, amounts). Filling in a missing capture id is not such a change."""
    before = (row.status, row.amount, row.captured_amount, row.refunded_amount)
    row.status = payment.status
    row.amount = payment.amount
    if not row.authorized_amount:
        row.authorized_amount = payment.amount
    row.captured_amount = payment.captured_amount
    row.refunded_amount = payment.refunded_amount
    row.capture_id = payment.capture_id
    row.expires_at = payment.expires_at
    row.paidy_created_at = payment.created_at
    row.test = payment.test
    row.raw_json = payment.model_dump(mode="json")
    row.last_synced_at = now
    changed = before != (
        row.status,
        row.amount,
        row.captured_amount,
        row.refunded_amount,
    )
    if changed:
        row.version = (row.version or 0) + 1
    return changed
