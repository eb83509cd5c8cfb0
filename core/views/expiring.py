"""Open authorizations, soonest expiry first: the ones to capture next."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select

from core.domain.states import PaymentState
from core.search import state_condition
from core.storage.db import Database
from core.storage.deleted import live_order
from core.timeutil import JST
from core.views.tables import OT, PT, utc


def expiring_soon(db: Database, now: datetime, limit: int = 20) -> pd.DataFrame:
    """Open authorizations, soonest expiry first: the ones to capture next."""
    now = utc(now)
    q = (
        select(
            OT.c.order_no,
            OT.c.customer_name,
            OT.c.total,
            PT.c.payment_id,
            PT.c.amount,
            PT.c.expires_at,
            PT.c.test,
        )
        .select_from(OT.join(PT, PT.c.order_id == OT.c.id))
        .where(state_condition(PaymentState.OPEN, now), live_order())
        .order_by(PT.c.expires_at.asc(), OT.c.order_no.asc())
        .limit(limit)
    )
    with db.engine.connect() as conn:
        rows = conn.execute(q).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "order_no",
            "customer_name",
            "total",
            "payment_id",
            "amount",
            "expires_at",
            "test",
        ],
    )
    frame["expires_at"] = pd.to_datetime(frame["expires_at"], utc=True)
    today = now.astimezone(JST).date()
    frame["days_left"] = [
        (utc(e).astimezone(JST).date() - today).days if pd.notna(e) else None
        for e in frame["expires_at"]
    ]
    return frame
