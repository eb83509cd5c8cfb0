"""An :class:`OrderQuery` as WHERE conditions: on the orders table, on the Paidy snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_

from core.search.predicates import OT, PT, discrepancy_condition, sql_time, state_condition
from core.search.query import OrderQuery
from core.search.text_match import email_terms, name_condition, text_match
from core.storage.db import Database
from core.storage.deleted import live_order
from core.timeutil import jst_day_range_utc


def order_conditions(
    db: Database,
    q: OrderQuery,
    *,
    fts_drives: bool = True,
    id_range: tuple[Any, Any] | None = None,
) -> list[ColumnElement[bool]]:
    """Conditions on the orders table (``id_range``: see :func:`text_match`)."""
    c: list[ColumnElement[bool]] = []
    if q.order_no is not None:
        c.append(OT.c.order_no == q.order_no)
    if q.order_from is not None:
        c.append(OT.c.order_no >= q.order_from)
    if q.order_to is not None:
        c.append(OT.c.order_no <= q.order_to)
    if q.name:
        c.append(name_condition(db, q.name, fts_drives, id_range))
    if q.email:
        terms = email_terms(q.email)
        c.append(
            text_match(
                db, [OT.c.email], terms, "email_fts", fts_drives, names=False, id_range=id_range
            )
        )
    if q.birth_from is not None:
        c.append(OT.c.birth_date >= q.birth_from)
    if q.birth_to is not None:
        c.append(OT.c.birth_date <= q.birth_to)
    if q.gender:
        c.append(OT.c.gender.in_([g.value for g in q.gender]))
    if q.payment_method:
        c.append(OT.c.payment_method.in_([m.value for m in q.payment_method]))
    for col, lo_day, hi_day in (
        (OT.c.ordered_at, q.ordered_from, q.ordered_to),
        (OT.c.updated_at, q.updated_from, q.updated_to),
    ):
        lo, hi = jst_day_range_utc(lo_day, hi_day)
        if lo is not None:
            c.append(col >= sql_time(lo))
        if hi is not None:
            c.append(col < sql_time(hi))
    if q.amount_min is not None:
        c.append(OT.c.total >= q.amount_min)
    if q.amount_max is not None:
        c.append(OT.c.total <= q.amount_max)
    if q.status:
        c.append(OT.c.status.in_([s.value for s in q.status]))
    return c


def payment_conditions(q: OrderQuery, now: datetime) -> list[ColumnElement[bool]]:
    """Conditions on the Paidy snapshot (they need an inner join)."""
    c: list[ColumnElement[bool]] = []
    if q.paidy_state:
        c.append(or_(*[state_condition(st, now) for st in q.paidy_state]))
    if q.expires_within_days is not None:  # open payments (see state_condition) expiring soon
        c.append(PT.c.status == "authorized")
        c.append(PT.c.captured_amount <= 0)
        c.append(PT.c.expires_at > sql_time(now))  # still open: derive_state says expired at now
        c.append(PT.c.expires_at < sql_time(now + timedelta(days=q.expires_within_days)))
    if q.discrepancy_only:
        c.append(discrepancy_condition())
    if q.test is not None:
        c.append(PT.c.test == q.test)
    if q.paidy_only:
        c.append(PT.c.id.is_not(None))
    return c


def all_conditions(
    db: Database,
    q: OrderQuery,
    now: datetime,
    *,
    fts_drives: bool = True,
    id_range: tuple[Any, Any] | None = None,
) -> list[ColumnElement[bool]]:
    on_orders = order_conditions(db, q, fts_drives=fts_drives, id_range=id_range)
    return [*on_orders, *payment_conditions(q, now), live_order()]
