"""Seeding: demo orders inserted in chunks (Core executemany), their payments created in the
sandbox through ``POST /_sandbox/payments/bulk`` with ids we choose, and the matching
``paidy_payments`` rows written without reading anything back; once only, under a
cross-process lock, when there are no orders yet (:func:`seed_demo_if_empty`)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from core.search.gram_counts import fold
from core.storage.db import Database
from core.storage.demo.orders import DemoOrder, generate_orders
from core.storage.demo.rows import item_rows, payment_rows
from core.storage.demo.sandbox_control import SandboxControl
from core.storage.models import Order, OrderItem, PaidyPayment
from core.timeutil import as_utc, utcnow

SEED_LOCK_KEY = 0x5041494460  # pg_advisory_xact_lock key for seeding


@dataclass(frozen=True)
class DemoReport:
    orders: int = 0
    payments: int = 0
    states: dict[str, int] = field(default_factory=dict)
    first_order_no: int | None = None
    last_order_no: int | None = None
    seconds: float = 0.0
    skipped: bool = False  # seed_demo_if_empty found orders already


def _lock(conn: Connection) -> None:
    """Serialise seeders: SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEED_LOCK_KEY})


def _insert_chunk(
    conn: Connection,
    chunk: list[DemoOrder],
    sandbox: SandboxControl,
    now: datetime,
    http_chunk: int,
) -> tuple[int, int, int]:
    """Insert orders, items and payments of one chunk; returns (orders, first_no, last_no)."""
    base = conn.execute(select(func.coalesce(func.max(Order.order_no), 0))).scalar_one()
    rows = [{**d.order, "order_no": base + k + 1} for k, d in enumerate(chunk)]
    if conn.dialect.name == "sqlite":  # we hold the write lock: the next ids are ours
        first_id = conn.execute(select(func.coalesce(func.max(Order.id), 0))).scalar_one() + 1
        ids: Sequence[int] = list(range(first_id, first_id + len(rows)))
        conn.execute(insert(Order), [{**r, "id": i} for r, i in zip(rows, ids, strict=True)])
    else:  # RETURNING keeps the sequence in charge
        returning = insert(Order).returning(Order.id, sort_by_parameter_order=True)
        ids = conn.execute(returning, rows).scalars().all()
    items = item_rows(ids, chunk)
    if items:
        conn.execute(insert(OrderItem), items)
    paidy = [
        (oid, d, base + k + 1)
        for k, (oid, d) in enumerate(zip(ids, chunk, strict=True))
        if d.payment
    ]
    for start in range(0, len(paidy), http_chunk):
        specs, snapshots = payment_rows(paidy[start : start + http_chunk], now)
        sandbox.create_bulk(specs)
        conn.execute(insert(PaidyPayment), snapshots)
    return len(paidy), base + 1, base + len(chunk)


def _seed(
    conn_factory: Callable[[], AbstractContextManager[Connection]],
    *,
    sandbox_url: str,
    orders: int,
    seed: int,
    now: datetime,
    chunk_size: int,
    http_chunk: int,
) -> DemoReport:
    started = time.perf_counter()
    sandbox = SandboxControl(sandbox_url)
    states: Counter[str] = Counter()
    report = DemoReport()
    generated = generate_orders(orders, seed, now)
    try:
        while chunk := list(islice(generated, chunk_size)):
            with conn_factory() as conn:
                payments, first, last = _insert_chunk(conn, chunk, sandbox, now, http_chunk)
                fold(conn)  # the chunk's name gram counts (PostgreSQL)
            states.update(d.payment.state for d in chunk if d.payment)
            report = replace(
                report,
                orders=report.orders + len(chunk),
                payments=report.payments + payments,
                first_order_no=report.first_order_no or first,
                last_order_no=last,
            )
    finally:
        sandbox.close()
    return replace(report, states=dict(states), seconds=time.perf_counter() - started)


def seed_demo(
    db: Database,
    *,
    sandbox_url: str,
    orders: int = 200,
    seed: int = 1,
    now: datetime | None = None,
    chunk_size: int = 10_000,
    http_chunk: int = 5_000,
) -> DemoReport:
    """Add ``orders`` demo orders (numbers after the current maximum) and their payments.

    Each chunk is one transaction under the seeding lock: orders and items are inserted,
    the payments created in the sandbox, the snapshot rows written. A failure rolls back
    the chunk (the sandbox may keep orphan payments; their ids are never reused).
    """
    if orders < 0:
        raise ValueError("orders must be >= 0")
    now = as_utc(now) or utcnow()
    return _seed(
        lambda: _seed_transaction(db),
        sandbox_url=sandbox_url,
        orders=orders,
        seed=seed,
        now=now,
        chunk_size=chunk_size,
        http_chunk=http_chunk,
    )


@contextmanager
def _seed_transaction(db: Database) -> Iterator[Connection]:
    """A transaction holding the seeding lock (BEGIN IMMEDIATE / advisory xact lock)."""
    with db.connect(immediate=True) as conn:
        _lock(conn)
        yield conn


def seed_demo_if_empty(
    db: Database,
    sandbox_url: str,
    *,
    orders: int = 200,
    seed: int = 1,
    now: datetime | None = None,
) -> DemoReport:
    """Seed only when there are no orders. Two processes starting at once seed once: the
    check and the whole seeding run in one transaction holding the seeding lock."""
    now = as_utc(now) or utcnow()
    with _seed_transaction(db) as conn:
        if conn.execute(select(Order.id).limit(1)).first() is not None:
            return DemoReport(skipped=True)
        return _seed(
            lambda: nullcontext(conn),
            sandbox_url=sandbox_url,
            orders=orders,
            seed=seed,
            now=now,
            chunk_size=10_000,
            http_chunk=5_000,
        )
