"""How many orders match: a COUNT that reads only the tables its conditions need.

Deleted orders are subtracted by asking the few deleted rows (core/storage/deleted.py), and
a name or email fragment alone is counted straight from the text-search structures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from core.search.conditions import order_conditions, payment_conditions
from core.search.predicates import OT, PT
from core.search.query import OrderQuery
from core.search.statement import require_aware
from core.search.text_match import text_only_count
from core.storage.db import Database
from core.storage.deleted import deleted_ids


def count_orders(db: Database, query: OrderQuery, *, now: datetime) -> int:
    """How many orders match. Reads only the table(s) the conditions need."""
    with db.engine.connect() as conn:
        interactive(conn, db)
        return int(conn.execute(count_select(db, query, now=now)).scalar_one())


def interactive(conn: Any, db: Database, *, serial: bool = False) -> None:
    """PostgreSQL, for this transaction: no JIT (compiling a count over 100,000 rows costs
    more than running it), and with ``serial`` no parallel workers (starting them costs
    more than a 50-row page; the planner counts neither well under load)."""
    if db.dialect != "postgresql":
        return
    settings = "set_config('jit', 'off', true)"
    if serial:
        settings += ", set_config('max_parallel_workers_per_gather', '0', true)"
    conn.exec_driver_sql(f"SELECT {settings}")


def count_select(db: Database, query: OrderQuery, *, now: datetime) -> Select:
    """The COUNT statement of :func:`count_orders`: all matches minus the deleted ones
    among them (asked from the few deleted rows: core/storage/deleted.py)."""
    require_aware(now)
    every = _count_with_deleted(db, query, now).scalar_subquery()
    return select(every - _count_deleted(db, query, now).scalar_subquery())


def _count_deleted(db: Database, q: OrderQuery, now: datetime) -> Select:
    """How many deleted orders match: driven from the materialised deleted ids."""
    dead = deleted_ids().cte("deleted_orders").prefix_with("MATERIALIZED")
    on_payments = payment_conditions(q, now)
    from_ = dead.join(OT, OT.c.id == dead.c.id)
    if on_payments:
        from_ = from_.join(PT, PT.c.order_id == OT.c.id)
    on_orders = order_conditions(db, q, fts_drives=False)
    return select(func.count()).select_from(from_).where(*on_orders, *on_payments)


def _count_with_deleted(db: Database, query: OrderQuery, now: datetime) -> Select:
    text_only = text_only_count(db, query)
    if text_only is not None:
        return text_only
    on_orders, on_payments = order_conditions(db, query), payment_conditions(query, now)
    if on_payments and not on_orders:  # linked payments are orders: no join needed
        return select(func.count()).select_from(PT).where(PT.c.order_id.is_not(None), *on_payments)
    from_ = OT.join(PT, PT.c.order_id == OT.c.id) if on_payments else OT
    return select(func.count()).select_from(from_).where(*on_orders, *on_payments)
