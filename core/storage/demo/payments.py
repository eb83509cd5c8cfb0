"""A demo order's Paidy payment: its state (from the order's age band), amounts, refunds,
and the order's items as the shop holds them now (which may differ from Paidy's)."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.domain.money import order_amount
from core.storage.demo.catalogue import AUTH_DAYS, BANDS, WRAPPING
from core.storage.demo.customers import Item


@dataclass(frozen=True, slots=True)
class DemoPayment:
    payment_id: str
    state: str  # open|expired|captured|partially_refunded|refunded|closed|rejected
    created_at: datetime
    expires_at: datetime
    amount: int  # what Paidy authorized (the original items)
    captured: int
    refunded: int
    items: tuple[Item, ...]  # Paidy's items (code, name, price, qty)
    tax: int
    shipping: int

    @property
    def status(self) -> str:
        """Paidy's raw status for this state."""
        if self.state in ("open", "expired"):
            return "authorized"
        return "rejected" if self.state == "rejected" else "closed"


def state_for(age_days: float, counters: Counter) -> str:
    for limit, pattern in BANDS:
        if age_days < limit:
            key = f"band{limit}"
            state = pattern[counters[key] % len(pattern)]
            counters[key] += 1
            return state
    return "captured"


def payment_id(salt: str, i: int) -> str:
    digest = hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=12).digest()
    return "pay_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def payment_for(
    i: int,
    state: str,
    ordered_at: datetime,
    items: list[Item],
    subtotal: int,
    shipping: int,
    counters: Counter,
    salt: str,
) -> tuple[DemoPayment, list[Item]]:
    """The payment, and the order's items as the shop holds them now (may differ)."""
    tax = subtotal * 10 // 100
    amount = order_amount([(p, q) for _, _, p, q in items], tax, shipping)
    created = ordered_at - timedelta(seconds=20)
    captured = amount if state in ("captured", "partially_refunded", "refunded") else 0
    refunded = 0
    db_items = list(items)
    counters[state] += 1
    nth = counters[state]
    if state == "open" and nth % 40 == 2:  # edited before capture, Update not done yet
        db_items.append((*WRAPPING, 1))
    elif state == "captured" and nth % 60 == 3:  # changed after capture: manual handling
        code, name, price, qty = db_items[0]
        db_items[0] = (code, name, price, qty + 1)
    elif state == "partially_refunded":
        discount = max(100, (subtotal * _refund_share(i) // 100) // 100 * 100)
        discount = min(discount, subtotal - 1)
        sub2 = subtotal - discount
        new_total = sub2 + sub2 * 10 // 100 + shipping
        refunded = max(1, amount - new_total)
        if nth % 5 != 4:  # recorded in the order as a discount line (no warning)
            db_items.append(("DISCOUNT", "お詫び値引き", -discount, 1))
    elif state == "refunded":
        refunded = amount
        if nth % 4 != 3:  # the operator zeroed the order as the guide asks
            db_items = []
    payment = DemoPayment(
        payment_id=payment_id(salt, i),
        state=state,
        created_at=created,
        expires_at=created + timedelta(days=AUTH_DAYS),
        amount=amount,
        captured=captured,
        refunded=refunded,
        items=tuple(items),
        tax=tax,
        shipping=shipping,
    )
    return payment, db_items


def _refund_share(i: int) -> int:
    """A deterministic 10..30 (%) for partial refunds."""
    return 10 + (i * 7919) % 21
