"""The column registry: every column the search can return, its SQL, and the sort keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func

from core.search.invalid import InvalidQuery
from core.search.predicates import OT, PT, discrepancy_column, state_column
from core.storage.db import Database

_PLAIN_COLUMNS: dict[str, Any] = {
    "id": OT.c.id,
    "order_no": OT.c.order_no,
    "ordered_at": OT.c.ordered_at,
    "updated_at": OT.c.updated_at,
    "customer_name": OT.c.customer_name,
    "customer_kana": OT.c.customer_kana,
    "email": OT.c.email,
    "phone": OT.c.phone,
    "birth_date": OT.c.birth_date,
    "gender": OT.c.gender,
    "payment_method": OT.c.payment_method,
    "total": OT.c.total,
    "status": OT.c.status,
    "payment_status": OT.c.payment_status,
    "shipped_at": OT.c.shipped_at,
    "paidy_payment_id": PT.c.payment_id,
    "paidy_status": PT.c.status,
    "paidy_state": None,  # derived, see column_for()
    "paidy_amount": PT.c.amount,
    "captured_amount": PT.c.captured_amount,
    "refunded_amount": PT.c.refunded_amount,
    "billed_amount": PT.c.captured_amount - PT.c.refunded_amount,
    "expires_at": PT.c.expires_at,
    "test": PT.c.test,
    "discrepancy": None,  # derived
}


#: Columns that are times (shown in JST) or dates.
TIME_COLUMNS = frozenset({"ordered_at", "updated_at", "shipped_at", "expires_at"})
DATE_COLUMNS = frozenset({"birth_date"})


def jst_text(db: Database, key: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The column as the text operators read, made by the database (``2019/12/21 10:38`` in
    JST; dates ``1985/04/29``): streaming exports then never build Python datetimes."""
    if key in DATE_COLUMNS:
        if db.dialect == "sqlite":
            return func.strftime("%Y/%m/%d", column)
        return func.to_char(column, "YYYY/MM/DD")
    if db.dialect == "sqlite":  # stored as naive UTC text
        return func.strftime("%Y/%m/%d %H:%M", column, "+9 hours")
    return func.to_char(func.timezone("Asia/Tokyo", column), "YYYY/MM/DD HH24:MI")


def column_for(key: str, now: datetime) -> ColumnElement[Any]:
    if key == "paidy_state":
        return state_column(now)
    if key == "discrepancy":
        return discrepancy_column()
    return _PLAIN_COLUMNS[key]


#: Every column the search can return, in the grid's order.
COLUMNS: tuple[str, ...] = tuple(_PLAIN_COLUMNS)
PAYMENT_COLUMNS = frozenset(
    {
        "paidy_payment_id",
        "paidy_status",
        "paidy_state",
        "paidy_amount",
        "captured_amount",
        "refunded_amount",
        "billed_amount",
        "expires_at",
        "test",
        "discrepancy",
    }
)
SORTS: dict[str, Any] = {
    "order_no": OT.c.order_no,
    "ordered_at": OT.c.ordered_at,
    "updated_at": OT.c.updated_at,
    "total": OT.c.total,
    "customer_kana": OT.c.customer_kana,
    "expires_at": PT.c.expires_at,
}


def check_sort(sort: str) -> Any:
    if sort not in SORTS:
        raise InvalidQuery(
            "sort",
            f"並び順「{sort}」は使えません。次のいずれか: {', '.join(SORTS)}",
            f"Cannot sort by {sort!r}; use one of: {', '.join(SORTS)}",
        )
    return SORTS[sort]


def check_columns(columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(COLUMNS)
    chosen = list(columns)
    unknown = [c for c in chosen if c not in COLUMNS]
    if unknown or not chosen:
        raise InvalidQuery(
            "columns",
            f"出力項目が正しくありません: {', '.join(unknown) or '(なし)'}",
            f"Unknown or no columns: {', '.join(unknown) or '(none)'}",
        )
    return chosen
