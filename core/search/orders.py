"""Reading orders: every match streamed in sort order, their ids, the grid rows of chosen
orders, and one order by number (:class:`core.domain.errors.OrderNotFound` if none)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import selectinload

from core.domain.errors import OrderNotFound
from core.search.columns import COLUMNS
from core.search.frames import to_frame
from core.search.predicates import OT
from core.search.query import OrderQuery
from core.search.statement import build_select
from core.storage.db import Database
from core.storage.models import Order


def iter_orders(
    db: Database,
    query: OrderQuery,
    *,
    now: datetime,
    columns: Sequence[str] | None = None,
    chunk_size: int = 5000,
    sort: str = "ordered_at",
    descending: bool = True,
    times_as_text: bool = False,
) -> Iterator[Row]:
    """Every matching row, in sort order, streamed ``chunk_size`` rows at a time.

    Each row is a tuple of the chosen ``columns`` (names from :data:`COLUMNS`; also
    readable by name, ``row.order_no``). Validation happens before the first row.
    ``times_as_text``: times and dates come as JST text made by the database.
    """
    stmt = build_select(
        db,
        query,
        now=now,
        columns=columns,
        sort=sort,
        descending=descending,
        times_as_text=times_as_text,
    )
    return _stream(db, stmt, chunk_size)


def _stream(db: Database, stmt: Select, chunk_size: int) -> Iterator[Row]:
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(stmt)
        for part in result.partitions():
            yield from part


def order_ids_for(
    db: Database,
    query: OrderQuery,
    now: datetime,
    *,
    sort: str = "ordered_at",
    descending: bool = True,
) -> list[int]:
    """Ids of all matching orders, in sort order (for batch selection)."""
    stmt = build_select(db, query, now=now, columns=["id"], sort=sort, descending=descending)
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(stmt)]


def frame_for_orders(db: Database, order_nos: list[int], now: datetime) -> pd.DataFrame:
    """The search grid's rows (all of :data:`COLUMNS`) for exactly these orders, in the
    search's default order (the batch page's preselection)."""
    wanted = sorted({int(n) for n in order_nos})[:1000]
    utc = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    stmt = build_select(db, OrderQuery(), now=utc).where(OT.c.order_no.in_(wanted))
    with db.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return to_frame(rows, COLUMNS)


def get_order(db: Database, order_no: int) -> Order:
    """The order with its items (by position) and its Paidy payment, detached and loaded."""
    if not isinstance(order_no, int) or isinstance(order_no, bool):
        try:
            order_no = int(str(order_no).strip())
        except ValueError:
            raise OrderNotFound(order_no=str(order_no)) from None
    if not 1 <= order_no <= 2**31 - 1:  # no such order can exist; SQL would overflow
        raise OrderNotFound(order_no=str(order_no))
    with db.session() as session:
        order = session.scalars(
            select(Order)
            .where(Order.order_no == order_no)
            .options(selectinload(Order.items), selectinload(Order.payment))
        ).one_or_none()
    if order is None:
        raise OrderNotFound(order_no=str(order_no))
    return order
