"""The one SELECT of a search: chosen columns, joins, conditions and sort order, unpaged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from core.search.columns import (
    DATE_COLUMNS,
    PAYMENT_COLUMNS,
    TIME_COLUMNS,
    check_columns,
    check_sort,
    column_for,
    jst_text,
)
from core.search.conditions import all_conditions
from core.search.predicates import OT, PT
from core.search.query import OrderQuery
from core.storage.db import Database


def build_select(
    db: Database,
    query: OrderQuery,
    *,
    now: datetime,
    columns: Sequence[str] | None = None,
    sort: str = "ordered_at",
    descending: bool = True,
    within_first: int | None = None,
    times_as_text: bool = False,
) -> Select:
    """The SELECT for ``query`` (chosen columns, sorted, unpaged). Raises InvalidQuery.

    ``within_first=N`` looks only at the first N orders of the sort order (walking its
    index) instead of letting the filters drive: see :func:`_page_ids`.
    ``times_as_text`` returns time and date columns as JST text (:func:`jst_text`).
    """
    require_aware(now)
    chosen = check_columns(columns)
    sort_col = check_sort(sort)

    def col(k: str) -> ColumnElement[Any]:
        c = column_for(k, now)
        if times_as_text and (k in TIME_COLUMNS or k in DATE_COLUMNS):
            c = jst_text(db, k, c)
        return c.label(k)

    stmt = select(*[col(k) for k in chosen])
    if sort == "expires_at":
        first = (sort_col.desc() if descending else sort_col.asc()).nulls_last()
    else:
        first = sort_col.desc() if descending else sort_col.asc()
    tiebreak = OT.c.order_no.desc() if descending else OT.c.order_no.asc()
    order = (first, tiebreak) if sort != "order_no" else (first,)
    prefix = id_range = None
    if within_first is not None:  # the first N of the sort order; text lookups within their ids
        prefix = select(OT.c.id).order_by(*order).limit(within_first).cte("prefix")
        id_range = (
            select(func.min(prefix.c.id)).scalar_subquery(),
            select(func.max(prefix.c.id)).scalar_subquery(),
        )
    conditions = all_conditions(db, query, now, fts_drives=prefix is None, id_range=id_range)
    stmt = stmt.select_from(from_clause(query, chosen, sort)).where(*conditions)
    if prefix is not None:
        stmt = stmt.where(OT.c.id.in_(select(prefix.c.id)))
    return stmt.order_by(*order)


def from_clause(query: OrderQuery, columns: Sequence[str], sort: str) -> Any:
    if query.needs_payment():
        return OT.join(PT, PT.c.order_id == OT.c.id)
    if sort == "expires_at" or PAYMENT_COLUMNS.intersection(columns):
        return OT.outerjoin(PT, PT.c.order_id == OT.c.id)
    return OT


def require_aware(now: datetime) -> None:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise TypeError("now must be a timezone-aware datetime")
