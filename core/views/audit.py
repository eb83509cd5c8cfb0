"""The audit log (操作履歴): filters, a page of entries, the count, the actors.

An entry's message is shown in the reader's language (:func:`entry_message`). Deleted
orders' entries stay listed (core/storage/deleted.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import func, select

from core.messages import shown
from core.storage.db import Database
from core.timeutil import jst_day_range_utc
from core.views.tables import AT, utc_literal


def entry_message(message: str | None, detail: dict | None, lang: str) -> str:
    """An audit entry's message in the reader's language: its stored keys rendered
    (``detail["msg"]``), else the English text beside it, else the Japanese text."""
    detail = detail if isinstance(detail, dict) else {}
    return shown(detail.get("msg"), lang, ja=message or "", en=detail.get("message_en"))


AUDIT_COLUMNS = (
    "id",
    "created_at",
    "actor",
    "action",
    "order_no",
    "payment_id",
    "amount",
    "outcome",
    "message",
    "paidy_code",
    "paidy_reference",
    "request_id",
    "job_id",
    "finished_at",
)


@dataclass(frozen=True)
class AuditFilter:
    """操作履歴 filters; dates are inclusive JST days, text is matched partially."""

    date_from: date | None = None
    date_to: date | None = None
    actor: str | None = None
    actions: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    order_no: int | None = None
    payment_id: str | None = None
    job_id: int | None = None


def audit_where(f: AuditFilter) -> list:
    c = []
    lo, hi = jst_day_range_utc(f.date_from, f.date_to)
    if lo is not None:
        c.append(AT.c.created_at >= utc_literal(lo))
    if hi is not None:
        c.append(AT.c.created_at < utc_literal(hi))
    if f.actor and f.actor.strip():
        c.append(func.lower(AT.c.actor).contains(f.actor.strip().lower(), autoescape=True))
    if f.actions:
        c.append(AT.c.action.in_(list(f.actions)))
    if f.outcomes:
        c.append(AT.c.outcome.in_(list(f.outcomes)))
    if f.order_no is not None:
        c.append(AT.c.order_no == f.order_no)
    if f.payment_id and f.payment_id.strip():
        c.append(AT.c.payment_id.contains(f.payment_id.strip(), autoescape=True))
    if f.job_id is not None:
        c.append(AT.c.job_id == f.job_id)
    return c


def audit_count(db: Database, f: AuditFilter) -> int:
    q = select(func.count()).select_from(AT).where(*audit_where(f))
    with db.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def audit_log(
    db: Database,
    f: AuditFilter | None = None,
    *,
    limit: int = 500,
    offset: int = 0,
    lang: str = "ja",
) -> pd.DataFrame:
    """Newest first; at most ``limit`` rows (the screen pages, the CSV streams); messages in
    ``lang``."""
    f = f or AuditFilter()
    q = (
        select(*[AT.c[k] for k in AUDIT_COLUMNS], AT.c.detail)
        .where(*audit_where(f))
        .order_by(AT.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with db.engine.connect() as conn:
        rows = conn.execute(q).all()
    return _audit_frame(rows, lang)


_MESSAGE_AT = AUDIT_COLUMNS.index("message")


def audit_row(row, lang: str) -> list:
    """A selected audit row (AUDIT_COLUMNS + detail) with its message in ``lang``."""
    cells = list(row[: len(AUDIT_COLUMNS)])
    cells[_MESSAGE_AT] = entry_message(cells[_MESSAGE_AT], row[len(AUDIT_COLUMNS)], lang)
    return cells


def _audit_frame(rows, lang: str = "ja") -> pd.DataFrame:
    frame = pd.DataFrame([audit_row(r, lang) for r in rows], columns=list(AUDIT_COLUMNS))
    for col in ("created_at", "finished_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    for col in ("id", "order_no", "amount", "job_id"):
        frame[col] = frame[col].astype("Int64")
    return frame


def recent_actions(db: Database, limit: int = 10, lang: str = "ja") -> pd.DataFrame:
    return audit_log(db, AuditFilter(), limit=limit, lang=lang)


def distinct_actors(db: Database, limit: int = 200) -> list[str]:
    q = select(AT.c.actor).group_by(AT.c.actor).order_by(AT.c.actor).limit(limit)
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(q)]
