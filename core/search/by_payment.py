"""A page of a search on the Paidy payment alone, newest order first, joining only the page.

"Expiring within 7 days" matches ~20,000 of 1,000,000 orders, all ordered about four weeks
ago. Sorted by order date, the plain query joins every match to its order only to learn that
date (20,000 primary-key probes: 22 ms on SQLite, ~45 ms on PostgreSQL) and keeps 50.
Payments carry their order's date (``paidy_payments.order_ordered_at``, a trigger-kept copy:
migration 0012) in the index that finds them, so:

1. the *edge*: the order date of the K-th newest matching payment (K = offset + page size),
   read from that index alone (deleted orders left out, as everywhere);
2. the page: the plain query restricted to payments at or past the edge - about K rows -
   joined and sorted by the real keys (order date, then order number). Every match newer
   than the edge and every one that ties with it is among them, so the page is exactly the
   plain query's; with fewer than K matches there is no edge and all of them are sorted.

The edge is a literal in the second statement (not a subquery) so both planners see how few
rows pass it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.search.conditions import order_conditions, payment_conditions
from core.search.predicates import PT
from core.search.query import OrderQuery
from core.search.statement import build_select
from core.storage.db import Database
from core.storage.deleted import not_deleted_order_id


def applies(db: Database, query: OrderQuery, sort: str) -> bool:
    """Sorted by order date, with conditions on the payment and none on the order."""
    return sort == "ordered_at" and query.needs_payment() and not order_conditions(db, query)


def page_ids(
    conn: Any,
    db: Database,
    query: OrderQuery,
    now: datetime,
    descending: bool,
    offset: int,
    size: int,
) -> list[int]:
    """The ids of one page (see the module docstring); the same as the plain query's."""
    key = PT.c.order_ordered_at
    on_payments = payment_conditions(query, now)
    edge = conn.execute(
        select(key)
        .where(*on_payments, PT.c.order_id.is_not(None), not_deleted_order_id(PT.c.order_id))
        .order_by(key.desc() if descending else key.asc())
        .limit(1)
        .offset(offset + size - 1)
    ).scalar()
    stmt = build_select(db, query, now=now, columns=["id"], descending=descending)
    if edge is not None:
        stmt = stmt.where(key >= edge if descending else key <= edge)
    return list(conn.execute(stmt.limit(size).offset(offset)).scalars().all())
