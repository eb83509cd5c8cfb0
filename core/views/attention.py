"""Writes a person must look at: needs-review entries and writes still being checked."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import or_, select

from core.domain.statuses import UNSETTLED
from core.storage.db import Database
from core.timeutil import as_utc
from core.views.audit import entry_message
from core.views.tables import AT

ATTENTION_COLUMNS = [
    "id",
    "created_at",
    "actor",
    "action",
    "order_no",
    "payment_id",
    "amount",
    "outcome",
    "message",
    "code",
    "settle_after",
    "needs_review",
]


def attention(db: Database, limit: int = 100, lang: str = "ja") -> pd.DataFrame:
    """Writes a person must look at (``needs_review``: late landings, duplicates, writes the
    rules cannot decide) and writes still being checked (unsettled, with the moment their
    outcome becomes definite), newest first."""
    q = (
        select(
            AT.c.id,
            AT.c.created_at,
            AT.c.actor,
            AT.c.action,
            AT.c.order_no,
            AT.c.payment_id,
            AT.c.amount,
            AT.c.outcome,
            AT.c.message,
            AT.c.detail,
            AT.c.settle_after,
            AT.c.needs_review,
        )
        .where(or_(AT.c.needs_review.is_(True), AT.c.outcome.in_(UNSETTLED)))
        .order_by(AT.c.id.desc())
        .limit(limit)
    )
    with db.engine.connect() as conn:
        rows = conn.execute(q).all()
    data = [
        {
            **{k: getattr(r, k) for k in ATTENTION_COLUMNS if k not in ("code",)},
            "message": entry_message(r.message, r.detail, lang),
            "code": (r.detail or {}).get("code", ""),
            "created_at": as_utc(r.created_at),
            "settle_after": as_utc(r.settle_after),
        }
        for r in rows
    ]
    return pd.DataFrame(data, columns=ATTENTION_COLUMNS)
