"""Read-only queries of the screens: dashboard metrics, the audit log (操作履歴) and an order's
timeline. Every aggregate is computed by the database (no table is loaded whole); the SQL runs
on SQLite and PostgreSQL alike. Times are UTC in the database and JST on screen.

Captured/refunded "today" and "this month" count what this system did: the audit log's
successful capture/refund entries (Paidy has no list endpoint to ask for anything else).

Deleted orders (削除) leave every figure and list here, their audit entries included; the
audit log screen and an order's timeline keep them (core/storage/deleted.py).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Date, and_, case, cast, func, literal, or_, select

from core.domain.states import PaymentState
from core.messages import shown
from core.storage.db import Database
from core.storage.deleted import live_order, not_deleted_order_id
from core.storage.models import AuditLog, Order, PaidyPayment, UtcDateTime
from core.storage.search import discrepancy_condition, state_column, state_condition
from core.timeutil import JST, as_utc, jst_day_range_utc, jst_day_start_utc, jst_today

OT = Order.__table__
PT = PaidyPayment.__table__
AT = AuditLog.__table__

#: an ``intent`` older than this is a crash, not an action in flight
INTENT_STALE = timedelta(minutes=3)
#: audit outcomes that are not known yet (need a 状態確認)
UNSETTLED = ("intent", "unknown")


def _at(dt: datetime):
    return literal(as_utc(dt), UtcDateTime())


# ------------------------------------------------------------------------------ metrics
@dataclass(frozen=True)
class Metrics:
    open_count: int = 0
    open_amount: int = 0
    expiring_3_count: int = 0
    expiring_3_amount: int = 0
    expiring_7_count: int = 0
    expiring_7_amount: int = 0
    captured_today: int = 0
    captured_today_count: int = 0
    captured_month: int = 0
    captured_month_count: int = 0
    refunded_today: int = 0
    refunded_today_count: int = 0
    refunded_month: int = 0
    refunded_month_count: int = 0
    discrepancies: int = 0
    unsettled: int = 0
    needs_review: int = 0
    failed_today: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _sum_if(cond, value):
    return func.coalesce(func.sum(case((cond, value), else_=0)), 0)


def _count_if(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def metrics(db: Database, now: datetime) -> Metrics:
    """The dashboard tiles, in three aggregate queries."""
    now = as_utc(now)
    is_open = state_condition(PaymentState.OPEN, now)
    in3 = and_(is_open, PT.c.expires_at < _at(now + timedelta(days=3)))
    in7 = and_(is_open, PT.c.expires_at < _at(now + timedelta(days=7)))
    pay_q = (
        select(
            _count_if(is_open),
            _sum_if(is_open, PT.c.amount),
            _count_if(in3),
            _sum_if(in3, PT.c.amount),
            _count_if(in7),
            _sum_if(in7, PT.c.amount),
        )
        .select_from(PT)
        .where(not_deleted_order_id(PT.c.order_id))
    )
    disc_q = (
        select(func.count())
        .select_from(OT.join(PT, PT.c.order_id == OT.c.id))
        .where(discrepancy_condition(), live_order())
    )
    today = jst_today(now)
    day_start = jst_day_start_utc(today)
    month_start = jst_day_start_utc(today.replace(day=1))
    ok = AT.c.outcome == "ok"
    cap = and_(ok, AT.c.action == "capture")
    ref = and_(ok, AT.c.action == "refund")
    is_today = AT.c.created_at >= _at(day_start)
    amount = func.coalesce(AT.c.amount, 0)
    audit_q = select(
        _sum_if(and_(cap, is_today), amount),
        _count_if(and_(cap, is_today)),
        _sum_if(cap, amount),
        _count_if(cap),
        _sum_if(and_(ref, is_today), amount),
        _count_if(and_(ref, is_today)),
        _sum_if(ref, amount),
        _count_if(ref),
        _count_if(and_(AT.c.outcome == "failed", is_today)),
    ).where(AT.c.created_at >= _at(month_start), not_deleted_order_id(AT.c.order_id))
    unsettled_q = (
        select(func.count())
        .select_from(AT)
        .where(
            or_(
                AT.c.outcome == "unknown",
                and_(AT.c.outcome == "intent", AT.c.created_at < _at(now - INTENT_STALE)),
            )
        )
    )
    review_q = select(func.count()).select_from(AT).where(AT.c.needs_review.is_(True))
    with db.engine.connect() as conn:
        p = [int(v or 0) for v in conn.execute(pay_q).one()]
        disc = int(conn.execute(disc_q).scalar_one() or 0)
        a = [int(v or 0) for v in conn.execute(audit_q).one()]
        unsettled = int(conn.execute(unsettled_q).scalar_one() or 0)
        review = int(conn.execute(review_q).scalar_one() or 0)
    return Metrics(
        open_count=p[0],
        open_amount=p[1],
        expiring_3_count=p[2],
        expiring_3_amount=p[3],
        expiring_7_count=p[4],
        expiring_7_amount=p[5],
        captured_today=a[0],
        captured_today_count=a[1],
        captured_month=a[2],
        captured_month_count=a[3],
        refunded_today=a[4],
        refunded_today_count=a[5],
        refunded_month=a[6],
        refunded_month_count=a[7],
        failed_today=a[8],
        discrepancies=disc,
        unsettled=unsettled,
        needs_review=review,
    )


# ------------------------------------------------------------ writes that need attention
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


def entry_message(message: str | None, detail: dict | None, lang: str) -> str:
    """An audit entry's message in the reader's language: its stored keys rendered
    (``detail["msg"]``), else the English text beside it, else the Japanese text."""
    detail = detail if isinstance(detail, dict) else {}
    return shown(detail.get("msg"), lang, ja=message or "", en=detail.get("message_en"))


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


def expiring_soon(db: Database, now: datetime, limit: int = 20) -> pd.DataFrame:
    """Open authorizations, soonest expiry first: the ones to capture next."""
    now = as_utc(now)
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
    frame["days_left"] = [
        (as_utc(e).astimezone(JST).date() - as_utc(now).astimezone(JST).date()).days
        if pd.notna(e)
        else None
        for e in frame["expires_at"]
    ]
    return frame


def amounts_by_state(db: Database, now: datetime) -> pd.DataFrame:
    """Per derived state: how many payments, Paidy amount and billed amount (yen)."""
    inner = (
        select(
            state_column(as_utc(now)).label("state"),
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


def _jst_date(db: Database, col):
    if db.dialect == "sqlite":
        return func.date(col, "+9 hours")
    return cast(func.timezone("Asia/Tokyo", col), Date)


def captures_per_day(db: Database, now: datetime, days: int = 30) -> pd.DataFrame:
    """Successful captures by this system per JST day (yen and count), the last ``days``."""
    today = jst_today(now)
    start = today - timedelta(days=days - 1)
    inner = (
        select(
            _jst_date(db, AT.c.created_at).label("day"),
            func.coalesce(AT.c.amount, 0).label("amount"),
        )
        .where(
            AT.c.action == "capture",
            AT.c.outcome == "ok",
            AT.c.created_at >= _at(jst_day_start_utc(start)),
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


# ------------------------------------------------------------------------------ audit log
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


def _audit_where(f: AuditFilter) -> list:
    c = []
    lo, hi = jst_day_range_utc(f.date_from, f.date_to)
    if lo is not None:
        c.append(AT.c.created_at >= _at(lo))
    if hi is not None:
        c.append(AT.c.created_at < _at(hi))
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
    q = select(func.count()).select_from(AT).where(*_audit_where(f))
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
        .where(*_audit_where(f))
        .order_by(AT.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with db.engine.connect() as conn:
        rows = conn.execute(q).all()
    return _audit_frame(rows, lang)


_MESSAGE_AT = AUDIT_COLUMNS.index("message")


def _audit_row(row, lang: str) -> list:
    """A selected audit row (AUDIT_COLUMNS + detail) with its message in ``lang``."""
    cells = list(row[: len(AUDIT_COLUMNS)])
    cells[_MESSAGE_AT] = entry_message(cells[_MESSAGE_AT], row[len(AUDIT_COLUMNS)], lang)
    return cells


def _audit_frame(rows, lang: str = "ja") -> pd.DataFrame:
    frame = pd.DataFrame([_audit_row(r, lang) for r in rows], columns=list(AUDIT_COLUMNS))
    for col in ("created_at", "finished_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    for col in ("id", "order_no", "amount", "job_id"):
        frame[col] = frame[col].astype("Int64")
    return frame


def recent_actions(db: Database, limit: int = 10, lang: str = "ja") -> pd.DataFrame:
    return audit_log(db, AuditFilter(), limit=limit, lang=lang)


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text cells (DESIGN.md quality bar)."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def audit_csv(
    db: Database,
    f: AuditFilter | None,
    headers: dict[str, str],
    encoding: str = "utf-8-sig",
    chunk: int = 2000,
    lang: str = "ja",
) -> bytes:
    """Every matching entry as CSV (JST times), streamed from the database in chunks.
    ``headers`` maps column keys to the header labels of the UI language; messages are in
    ``lang``."""
    f = f or AuditFilter()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([headers.get(k, k) for k in AUDIT_COLUMNS])
    q = (
        select(*[AT.c[k] for k in AUDIT_COLUMNS], AT.c.detail)
        .where(*_audit_where(f))
        .order_by(AT.c.id.desc())
    )
    time_idx = {AUDIT_COLUMNS.index("created_at"), AUDIT_COLUMNS.index("finished_at")}
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk).execute(q)
        for part in result.partitions():
            for row in part:
                cells = []
                for i, v in enumerate(_audit_row(row, lang)):
                    if i in time_idx:
                        v = _fmt_time(v)
                    cells.append("" if v is None else _safe_cell(v))
                writer.writerow(cells)
    return buf.getvalue().encode(encoding, errors="replace")


def _fmt_time(v) -> str:
    v = as_utc(v)
    return v.astimezone(JST).strftime("%Y/%m/%d %H:%M:%S") if v else ""


def distinct_actors(db: Database, limit: int = 200) -> list[str]:
    q = select(AT.c.actor).group_by(AT.c.actor).order_by(AT.c.actor).limit(limit)
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(q)]


# --------------------------------------------------------------------------- the timeline
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


# ------------------------------------------------------------------------------ misc reads
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


def frame_for_orders(db: Database, order_nos: list[int], now: datetime) -> pd.DataFrame:
    """The search grid's rows (all columns of ``core.storage.search``) for exactly these
    orders, in the search's default order (the batch page's preselection)."""
    from core.storage.search import COLUMNS, OrderQuery, build_select, to_frame

    wanted = sorted({int(n) for n in order_nos})[:1000]
    stmt = build_select(db, OrderQuery(), now=as_utc(now)).where(OT.c.order_no.in_(wanted))
    with db.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return to_frame(rows, COLUMNS)
