"""Demo orders: deterministic for (n, seed, now), spread over the 60 days before ``now``,
4 in 5 paid with Paidy; each order's status follows its payment and its age."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from core.storage.demo.catalogue import (
    DAYS,
    HOSTILE,
    HOSTILE_AT,
    HOSTILE_EVERY,
    OTHER_METHODS,
    PAIDY_SHARE,
)
from core.storage.demo.customers import Item, random_basket, random_customer, shipping_fee
from core.storage.demo.payments import DemoPayment, payment_for, state_for
from core.timeutil import as_utc


@dataclass(frozen=True, slots=True)
class DemoOrder:
    index: int
    order: dict[str, Any]  # an `orders` row without id and order_no
    items: tuple[Item, ...]  # (code, name, unit price, quantity)
    payment: DemoPayment | None


def generate_orders(n: int, seed: int, now: datetime) -> Iterator[DemoOrder]:
    """``n`` demo orders, oldest first, deterministic for (n, seed, now). A generator."""
    now = cast(datetime, as_utc(now))
    rng = random.Random(seed)
    start = now - timedelta(days=DAYS)
    span = timedelta(days=DAYS).total_seconds()
    counters: Counter[str] = Counter()
    salt = f"{seed}:{now.isoformat()}"
    for i in range(n):
        ordered_at = start + timedelta(seconds=span * (i + rng.random() * 0.98) / n)
        yield _one(i, ordered_at, now, rng, counters, salt)


def _one(
    i: int, ordered_at: datetime, now: datetime, rng: random.Random, counters: Counter, salt: str
) -> DemoOrder:
    ordered_at = ordered_at.replace(microsecond=0)
    customer = random_customer(rng)
    items = random_basket(rng)
    subtotal = sum(p * q for _, _, p, q in items)
    shipping = shipping_fee(subtotal, customer["prefecture"])
    age_days = (now - ordered_at).total_seconds() / 86400
    method = "paidy" if i % PAIDY_SHARE != 2 else OTHER_METHODS[(i // PAIDY_SHARE) % 4]
    payment = None
    db_items = items
    if method == "paidy":
        state = state_for(age_days, counters)
        payment, db_items = payment_for(
            i, state, ordered_at, items, subtotal, shipping, counters, salt
        )
        status, paid, shipped_at = _paidy_order_status(state, ordered_at, age_days, rng, now)
    else:
        status, paid, shipped_at = _other_order_status(method, ordered_at, age_days, rng, now)
    sub = sum(p * q for _, _, p, q in db_items)
    tax = max(sub, 0) * 10 // 100
    ship = shipping if sub > 0 else 0
    touched = ordered_at + timedelta(seconds=rng.random() * min(age_days, 5) * 86400)
    updated_at = max(filter(None, [ordered_at, shipped_at, min(touched, now)]))
    row = {
        **customer,
        "ordered_at": ordered_at,
        "updated_at": updated_at,
        "payment_method": method,
        "status": status,
        "payment_status": "paid" if paid else "unpaid",
        "shipped_at": shipped_at,
        "subtotal": sub,
        "shipping_fee": ship,
        "tax": tax,
        "total": sub + tax + ship,
        "note": "Paidy与信NG: お客様へ別の支払方法をご案内"
        if payment and payment.state == "rejected"
        else "",
        "created_at": ordered_at,
    }
    hostile = HOSTILE_AT.get(i)
    if hostile is None and i % HOSTILE_EVERY == HOSTILE_EVERY - 1:
        hostile = (i // HOSTILE_EVERY) % len(HOSTILE)
    if hostile is not None:
        row.update(HOSTILE[hostile])
    return DemoOrder(index=i, order=row, items=tuple(db_items), payment=payment)


def _shipped(ordered_at: datetime, rng: random.Random, now: datetime) -> datetime | None:
    at = ordered_at + timedelta(hours=rng.randrange(18, 72))
    return at if at <= now else None


def _paidy_order_status(
    state: str, ordered_at: datetime, age_days: float, rng: random.Random, now: datetime
) -> tuple[str, bool, datetime | None]:
    if state in ("captured", "partially_refunded"):
        shipped = _shipped(ordered_at, rng, now)
        return ("shipped" if shipped else "paid"), True, shipped
    if state in ("refunded", "closed"):
        return "cancelled", False, None
    if state == "rejected":
        return "new", False, None
    if state == "expired" or age_days > 20:
        return "backordered", False, None
    return ("new" if age_days < 1 else rng.choice(("new", "in_progress"))), False, None


def _other_order_status(
    method: str, ordered_at: datetime, age_days: float, rng: random.Random, now: datetime
) -> tuple[str, bool, datetime | None]:
    if rng.random() < 0.03:
        return "cancelled", False, None
    if age_days < 2:
        if method in ("bank", "convenience"):
            return "awaiting_payment", False, None
        return ("in_progress" if method == "card" else "new"), method == "card", None
    shipped = _shipped(ordered_at, rng, now)
    if shipped is None:
        return "in_progress", method == "card", None
    return "shipped", True, shipped
