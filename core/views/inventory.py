"""What the database holds, for the settings page: row counts and one known payment id."""

from __future__ import annotations

from sqlalchemy import func, select

from core.storage.db import Database
from core.views.tables import AT, OT, PT


def any_payment_id(db: Database) -> str | None:
    """A payment id we know (for the connection test), the most recently synced first."""
    q = (
        select(PT.c.payment_id)
        .order_by(PT.c.last_synced_at.desc().nulls_last(), PT.c.id.desc())
        .limit(1)
    )
    with db.engine.connect() as conn:
        return conn.execute(q).scalar()


def counts(db: Database) -> dict[str, int]:
    """Row counts shown on the settings page."""
    with db.engine.connect() as conn:
        return {
            "orders": int(conn.execute(select(func.count()).select_from(OT)).scalar_one()),
            "payments": int(conn.execute(select(func.count()).select_from(PT)).scalar_one()),
            "audit": int(conn.execute(select(func.count()).select_from(AT)).scalar_one()),
        }
