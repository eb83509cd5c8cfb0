"""One page of results: the count, then the page's ids on a narrow query, then its rows.

SQLite first tries the first few thousand orders of the sort order (:func:`_page_ids`), so a
page of a common surname or of all open payments does not sort every match. PostgreSQL
sorts a small set of payment-driven matches in full instead of walking the sort index (the
planner cannot know that "expiring within 7 days" are the orders of four weeks ago and would
walk past every newer order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.engine import Row

from core.search import by_payment
from core.search.columns import check_sort
from core.search.conditions import all_conditions
from core.search.counting import count_select, interactive
from core.search.frames import to_frame
from core.search.invalid import InvalidQuery
from core.search.predicates import OT
from core.search.query import OrderQuery
from core.search.statement import build_select, from_clause
from core.storage.db import Database

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class SearchPage:
    """One page of results: ``frame`` holds exactly the rows of ``page``."""

    total: int
    page: int
    page_size: int
    pages: int
    frame: pd.DataFrame


def search_orders(
    db: Database,
    query: OrderQuery,
    *,
    now: datetime,
    sort: str = "ordered_at",
    descending: bool = True,
    page: int = 1,
    page_size: int = 50,
) -> SearchPage:
    """Count all matches and fetch one page (pages past the end show the last page).

    The page is found on a narrow query (ids and sort keys only), then its rows are read
    by id: sorting thousands of matches never carries all 25 columns.
    """
    check_sort(sort)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise InvalidQuery(
            "page", "ページは1以上で指定してください。", "The page must be 1 or more."
        )
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidQuery(
            "page_size",
            f"表示件数は1〜{MAX_PAGE_SIZE}で指定してください。",
            f"The page size must be between 1 and {MAX_PAGE_SIZE}.",
        )
    with db.engine.connect() as conn:
        interactive(conn, db)
        total = int(conn.execute(count_select(db, query, now=now)).scalar_one())
        pages = max(1, math.ceil(total / page_size))
        page = min(page, pages)
        interactive(conn, db, serial=True)
        ids = _page_ids(conn, db, query, now, sort, descending, page, page_size, total)
        rows: Sequence[Row[Any]] = []
        if ids:
            stmt = build_select(db, OrderQuery(), now=now, sort=sort, descending=descending)
            rows = conn.execute(stmt.where(OT.c.id.in_(ids))).all()
    return SearchPage(
        total=total, page=page, page_size=page_size, pages=pages, frame=to_frame(rows)
    )


WALK_FROM = 2000  # matches above which sorting them all costs more than a short walk
WALK_ROWS_PER_RESULT = 100  # prefix length tried per wanted row (offset + page size)
WALK_SORTS = frozenset({"ordered_at", "updated_at", "total", "customer_kana", "order_no"})
SORT_ALL_MAX = 30_000  # PostgreSQL: payment-driven matches up to this many are sorted in full


def _page_ids(
    conn: Any,
    db: Database,
    query: OrderQuery,
    now: datetime,
    sort: str,
    descending: bool,
    page: int,
    size: int,
    total: int,
) -> list[int]:
    """The ids of one page, in order.

    With many matches (a common surname, every open payment) SQLite would fetch and sort
    them all. First look only at the first ``budget`` orders of the sort order: if that
    prefix already holds the whole page, it is the page (the prefix is the top of the
    order, so nothing outside it can come first). Otherwise run the plain query.
    PostgreSQL's planner makes this choice by itself, with one blind spot: conditions on
    the payment (expiring within N days, a Paidy state, discrepancies) pick orders by their
    age, which the planner cannot see from the statistics, so it may walk the sort index
    past hundreds of thousands of newer orders to find the first "expiring soon" one. Up to
    SORT_ALL_MAX such matches are taken first and sorted in full (:func:`_sorted_in_full`):
    bounded by their number, wherever they are in the order. (SQLite's plan for them is
    already that one; it skips the walk that would find nothing.) Sorted by order date
    with conditions on the payment alone (expiring within N days), neither is needed: the
    payments know their order's date and only the page is joined (core/search/by_payment.py).
    """
    offset = (page - 1) * size
    few_by_payment = query.needs_payment() and total <= SORT_ALL_MAX
    if few_by_payment and by_payment.applies(db, query, sort):
        return by_payment.page_ids(conn, db, query, now, descending, offset, size)
    if db.dialect == "postgresql" and few_by_payment:
        stmt = _sorted_in_full(db, query, now, sort, descending)
        return list(conn.execute(stmt.limit(size).offset(offset)).scalars().all())
    walk = sort in WALK_SORTS and total >= WALK_FROM and not few_by_payment
    if db.dialect == "sqlite" and walk:
        budget = min(50_000, WALK_ROWS_PER_RESULT * (offset + size))
        prefix = build_select(
            db,
            query,
            now=now,
            columns=["id"],
            sort=sort,
            descending=descending,
            within_first=budget,
        )
        ids = conn.execute(prefix.limit(size).offset(offset)).scalars().all()
        if len(ids) == min(size, total - offset):
            return list(ids)
    stmt = build_select(db, query, now=now, columns=["id"], sort=sort, descending=descending)
    return list(conn.execute(stmt.limit(size).offset(offset)).scalars().all())


def _sorted_in_full(
    db: Database, query: OrderQuery, now: datetime, sort: str, descending: bool
) -> Select:
    """The ids of every match with their sort keys, materialised (PostgreSQL keeps a
    ``MATERIALIZED`` CTE as its own plan: the one for all rows, no ORDER BY/LIMIT to walk an
    index for), then sorted: SELECT id ... ORDER BY key, order_no (unpaged)."""
    key = check_sort(sort)
    matches = (
        select(OT.c.id.label("id"), key.label("sort_key"), OT.c.order_no.label("order_no"))
        .select_from(from_clause(query, ["id"], sort))
        .where(*all_conditions(db, query, now))
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    first = matches.c.sort_key.desc() if descending else matches.c.sort_key.asc()
    if sort == "expires_at":
        first = first.nulls_last()
    tiebreak = matches.c.order_no.desc() if descending else matches.c.order_no.asc()
    return select(matches.c.id).order_by(first, tiebreak)
