"""What the read-side views share: the tables they read and how a time is bound."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, literal

from core.storage.db import Database
from core.storage.models import AuditLog, Order, PaidyPayment, UtcDateTime
from core.timeutil import as_utc

OT = Order.__table__
PT = PaidyPayment.__table__
AT = AuditLog.__table__


def utc(dt: datetime) -> datetime:
    """``dt`` in UTC; a naive datetime (as SQLite returns them) is UTC by the storage rule."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def utc_literal(dt: datetime) -> ColumnElement[datetime]:
    """``dt`` as a bound UTC time (naive datetimes are UTC by the storage rule)."""
    return literal(as_utc(dt), UtcDateTime())


def jst_date(db: Database, col: Any) -> ColumnElement[Any]:
    """The JST calendar day of a stored UTC time, computed by the database."""
    if db.dialect == "sqlite":
        return func.date(col, "+9 hours")
    return cast(func.timezone("Asia/Tokyo", col), Date)
