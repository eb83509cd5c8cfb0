"""The dashboard's charts: amounts per derived Paidy state, captures per JST day."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import func, select

from core.domain.states import PaymentState
from core.domain.statuses import AuditOutcome
from core.search import state_column
from core.storage.db import Database
from core.storage.deleted import not_deleted_order_id
from core.timeutil import jst_day_start_utc, jst_today
from core.views.tables import AT, PT, jst_date, utc, utc_literal


def amounts_by_state(db: Database, now: datetime) -> pd.DataFrame:
    """Per derived state: how many payments, Paidy amount and billed amount (yen)."""
    inner = (
        select(
            state_column(utc(now)).label("state"),
            PT.c.amount.label("amount"),
            (PT.c.captured_amount - PT.c.refunded_amount).label("billed"),
        )
        .where(not_deleted_order_id(PT.c.order_id))
        .subquery()
    )
    q = select(
        inner.c.state,
        func.count(),
        func.coalesce(func.sum(inner.c.amount), 0),
        func.coalesce(func.sum(inner.c.billed), 0),
    ).group_by(inner.c.state)
    with db.engine.connect() as conn:
        rows = conn.execute(q).all()
    order = {s.value: i for i, s in enumerate(PaymentState)}
    rows = sorted(rows, key=lambda r: order.get(r[0] or "unknown", 99))
    return pd.DataFrame(
        [(r[0] or "unknown", int(r[1]), int(r[2]), int(r[3])) for r in rows],
        columns=["state", "count", "amount", "billed"],
    )


def captures_per_day(db: Database, now: datetime, days: int = 30) -> pd.DataFrame:
    """Successful captures by this system per JST day (yen and count), the last ``days``."""
    today = jst_today(now)
    start = today - timedelta(days=days - 1)
    inner = (
        select(
            jst_date(db, AT.c.created_at).label("day"),
            func.coalesce(AT.c.amount, 0).label("amount"),
        )
        .where(
            AT.c.action == "capture",
            AT.c.outcome == AuditOutcome.OK,
            AT.c.created_at >= utc_literal(jst_day_start_utc(start)),
            not_deleted_order_id(AT.c.order_id),
        )
        .subquery()
    )
    q = select(inner.c.day, func.count(), func.sum(inner.c.amount)).group_by(inner.c.day)
    with db.engine.connect() as conn:
        found = {str(r[0]): (int(r[1]), int(r[2] or 0)) for r in conn.execute(q)}
    rows = []
    for i in range(days):
        d = start + timedelta(days=i)
        count, amount = found.get(d.isoformat(), (0, 0))
        rows.append((d, count, amount))
    return pd.DataFrame(rows, columns=["day", "count", "amount"])
