"""Soft-deleted orders (削除), as SQL: the one place that says what "not deleted" means.

A deleted order has ``orders.deleted_at`` set. It stays in the database (the audit log keeps
pointing at it, an admin can restore it) but every listing leaves it out: search (count and
page), CSV export, dashboard metrics, the batch page and sync.

Deleted orders are few, and ``ix_orders_deleted_at`` (migration 0005) is a partial index
that holds only them: so questions are asked from the deleted side ("which of these are
deleted?") rather than by checking every live row (a ``deleted_at IS NULL`` filter makes a
1,000,000-row ``count(*)`` on SQLite scan the table: ~10 ms becomes ~115 ms).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, or_, select

from core.storage.models import Order

OT = Order.__table__


def live_order() -> ColumnElement[bool]:
    """The order row is not deleted (for queries that already read ``orders`` rows)."""
    return OT.c.deleted_at.is_(None)


def deleted_order() -> ColumnElement[bool]:
    """The order row is deleted (served by the partial index)."""
    return OT.c.deleted_at.is_not(None)


def deleted_ids() -> Select:
    """``SELECT id FROM orders WHERE deleted_at IS NOT NULL`` (the partial index)."""
    return select(OT.c.id).where(deleted_order())


def not_deleted_order_id(column: ColumnElement) -> ColumnElement[bool]:
    """``column`` (an ``orders.id`` reference that may be NULL, e.g. a payment without an
    order) does not point at a deleted order."""
    return or_(column.is_(None), column.not_in(deleted_ids()))
