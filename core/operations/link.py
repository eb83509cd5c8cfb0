"""Linking: fetch a payment from Paidy and create its order, or attach it to an existing one.

Paidy has no list endpoint, so this is how a payment made outside our records (an
authorization with no order) comes in. The id is validated before it reaches a URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from core.auth.current import authorize
from core.domain.deletion import OrderIsDeleted
from core.domain.errors import OrderNotFound, RuleViolation
from core.messages import part
from core.operations import audit
from core.operations.context import Ops
from core.operations.snapshots import apply_payment
from core.paidy.errors import InvalidPaymentId
from core.paidy.models import Payment, is_payment_id
from core.roles import Actor, Permission
from core.storage.models import Order, OrderItem, PaidyPayment


class OrderHasOtherPayment(RuleViolation):
    code = "order_has_payment"
    ja = "注文番号 {order_no} には別のPaidy決済({payment_id})が紐付いています。"
    en = "Order {order_no} is already linked to another Paidy payment ({payment_id})."


@dataclass(frozen=True)
class LinkResult:
    payment_id: str
    order_no: int
    created_order: bool
    already_linked: bool

    def cli_line(self) -> str:
        if self.already_linked:
            return f"{self.order_no} link ok: {self.payment_id} already linked"
        what = "created order" if self.created_order else "linked to order"
        return f"{self.order_no} link ok: {self.payment_id} {what}"


def link_payment(
    ops: Ops, actor: Actor, payment_id: str, order_no: int | None = None
) -> LinkResult:
    actor = authorize(ops.db, actor, Permission.ACT, attempt="link", now=ops.now())
    if not is_payment_id(payment_id):
        raise InvalidPaymentId(payment_id)
    result = ops.client.get_payment(payment_id)
    payment, now = result.payment, ops.now()
    with ops.db.session(immediate=True) as s:
        existing = s.scalar(select(PaidyPayment).where(PaidyPayment.payment_id == payment_id))
        if existing is not None and existing.order_id is not None:
            apply_payment(existing, payment, now)
            linked_no = s.execute(
                select(Order.order_no).where(Order.id == existing.order_id)
            ).scalar_one()
            return LinkResult(payment_id, linked_no, False, True)
        if order_no is not None:
            order = s.scalar(select(Order).where(Order.order_no == order_no))
            if order is None:
                raise OrderNotFound(order_no=order_no)
            if order.deleted_at is not None:
                raise OrderIsDeleted(order_no=str(order_no))
            other = s.scalar(
                select(PaidyPayment.payment_id).where(PaidyPayment.order_id == order.id)
            )
            if other and other != payment_id:
                raise OrderHasOtherPayment(order_no=order_no, payment_id=other)
            created = False
        else:
            order = _order_from_payment(s, payment, now)
            created = True
        row = existing or PaidyPayment(payment_id=payment_id, version=0)
        row.order_id = order.id
        apply_payment(row, payment, now)
        s.add(row)
        s.flush()
        order_no = order.order_no
    audit.record_event(
        ops.db,
        actor.name,
        "link",
        None,
        now,
        msg=[part("linked", payment_id=payment_id, order_no=str(order_no))],
        order_no=order_no,
        payment_id=payment_id,
        request_id=result.request_id,
    )
    return LinkResult(payment_id, order_no, created, False)


def _order_from_payment(s, payment: Payment, now) -> Order:
    buyer, order, addr = payment.buyer, payment.order, payment.shipping_address
    ref = (order.order_ref or "").strip() if order else ""
    taken = (
        ref.isdigit() and s.scalar(select(Order.id).where(Order.order_no == int(ref))) is not None
    )
    order_no = (
        int(ref)
        if ref.isdigit() and not taken and len(ref) < 10
        else (s.scalar(select(func.max(Order.order_no))) or 0) + 1
    )
    items = order.items if order else []
    subtotal = sum(i.unit_price * i.quantity for i in items)
    tax, shipping = (order.tax, order.shipping) if order else (0, 0)
    row = Order(
        order_no=order_no,
        ordered_at=payment.created_at or now,
        updated_at=now,
        created_at=now,
        customer_name=(buyer.name1 if buyer else "") or "",
        customer_kana=(buyer.name2 if buyer else "") or "",
        email=(buyer.email if buyer else "") or "",
        phone=(buyer.phone if buyer else "") or "",
        zip=(addr.zip if addr else "") or "",
        prefecture=(addr.city if addr else "") or "",
        address1=" ".join(x for x in ((addr.state, addr.line2) if addr else ()) if x),
        address2=(addr.line1 if addr else "") or "",
        payment_method="paidy",
        status="new",
        payment_status="unpaid",
        subtotal=subtotal,
        shipping_fee=shipping,
        tax=tax,
        total=subtotal + tax + shipping,
        note=f"Paidy決済 {payment.id} から作成",
    )
    row.items = [
        OrderItem(
            position=n,
            product_code=i.id or "",
            product_name=i.title or i.description or "",
            unit_price=i.unit_price,
            quantity=i.quantity,
        )
        for n, i in enumerate(items)
    ]
    s.add(row)
    s.flush()
    return row
