"""An order's timeline: Paidy's record of it (authorization, captures, refunds) and its
audit entries, newest first. Entries of a deleted order stay (core/storage/deleted.py)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import or_, select

from core.storage.db import Database
from core.timeutil import as_utc
from core.views.audit import entry_message
from core.views.tables import AT, OT, PT

TIMELINE_COLUMNS = ("at", "kind", "amount", "detail", "actor", "outcome", "request_id")


def order_timeline(db: Database, order_no: int, limit: int = 200, lang: str = "ja") -> pd.DataFrame:
    """Authorization, captures and refunds from Paidy's record (raw_json) plus this order's
    audit entries, newest first. ``kind`` is a stable key (authorized / capture / refund /
    an audit action)."""
    with db.engine.connect() as conn:
        pay = conn.execute(
            select(PT.c.payment_id, PT.c.raw_json, PT.c.paidy_created_at, PT.c.amount)
            .select_from(OT.join(PT, PT.c.order_id == OT.c.id))
            .where(OT.c.order_no == order_no)
        ).first()
        cond = AT.c.order_no == order_no
        if pay is not None:
            cond = or_(cond, AT.c.payment_id == pay.payment_id)
        audit_rows = conn.execute(
            select(
                AT.c.created_at,
                AT.c.action,
                AT.c.amount,
                AT.c.message,
                AT.c.actor,
                AT.c.outcome,
                AT.c.request_id,
                AT.c.detail,
            )
            .where(cond)
            .order_by(AT.c.id.desc())
            .limit(limit)
        ).all()
    rows: list[tuple] = []
    if pay is not None:
        raw = pay.raw_json or {}
        created = _parse(raw.get("created_at")) or as_utc(pay.paidy_created_at)
        if created:
            rows.append(
                (
                    created,
                    "authorized",
                    int(raw.get("amount") or pay.amount or 0),
                    pay.payment_id,
                    "Paidy",
                    "",
                    "",
                )
            )
        for c in raw.get("captures") or []:
            if isinstance(c, dict):
                rows.append(
                    (
                        _parse(c.get("created_at")),
                        "capture",
                        int(c.get("amount") or 0),
                        str(c.get("id") or ""),
                        "Paidy",
                        "",
                        "",
                    )
                )
        for r in raw.get("refunds") or []:
            if isinstance(r, dict):
                detail = str(r.get("id") or "")
                if r.get("reason"):
                    detail += f" ({r.get('reason')})"
                rows.append(
                    (
                        _parse(r.get("created_at")),
                        "refund",
                        int(r.get("amount") or 0),
                        detail,
                        "Paidy",
                        "",
                        "",
                    )
                )
    for a in audit_rows:
        rows.append(
            (
                as_utc(a.created_at),
                f"audit:{a.action}",
                a.amount,
                entry_message(a.message, a.detail, lang),
                a.actor,
                a.outcome,
                a.request_id or "",
            )
        )
    frame = pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame["amount"] = frame["amount"].astype("Int64")
    return frame.sort_values("at", ascending=False, na_position="last").reset_index(drop=True)


def _parse(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None
