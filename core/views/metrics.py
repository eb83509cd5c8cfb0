"""The dashboard's tiles: open and expiring authorizations, what this system captured and
refunded today and this month, discrepancies, unsettled writes and writes to review.

Captured/refunded "today" and "this month" count what this system did: the audit log's
successful capture/refund entries (Paidy has no list endpoint to ask for anything else).
Deleted orders (削除) leave every figure (core/storage/deleted.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from core.domain.states import PaymentState
from core.domain.statuses import AuditOutcome
from core.operations.locks import stale_intent_age
from core.search import discrepancy_condition, state_condition
from core.storage.db import Database
from core.storage.deleted import live_order, not_deleted_order_id
from core.timeutil import jst_day_start_utc, jst_today
from core.views.tables import AT, OT, PT, utc, utc_literal

#: an ``intent`` older than this is a crash, not an action in flight
INTENT_STALE = stale_intent_age()  # the default marker TTL's; the page passes ops'


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


def metrics(db: Database, now: datetime, intent_stale: timedelta = INTENT_STALE) -> Metrics:
    """The dashboard tiles, in three aggregate queries."""
    now = utc(now)
    is_open = state_condition(PaymentState.OPEN, now)
    in3 = and_(is_open, PT.c.expires_at < utc_literal(now + timedelta(days=3)))
    in7 = and_(is_open, PT.c.expires_at < utc_literal(now + timedelta(days=7)))
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
    ok = AT.c.outcome == AuditOutcome.OK
    cap = and_(ok, AT.c.action == "capture")
    ref = and_(ok, AT.c.action == "refund")
    is_today = AT.c.created_at >= utc_literal(day_start)
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
        _count_if(and_(AT.c.outcome == AuditOutcome.FAILED, is_today)),
    ).where(AT.c.created_at >= utc_literal(month_start), not_deleted_order_id(AT.c.order_id))
    unsettled_q = (
        select(func.count())
        .select_from(AT)
        .where(
            or_(
                AT.c.outcome == AuditOutcome.UNKNOWN,
                and_(
                    AT.c.outcome == AuditOutcome.INTENT,
                    AT.c.created_at < utc_literal(now - intent_stale),
                ),
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
