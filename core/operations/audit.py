"""The audit log (操作履歴): every attempted action, written before the call and completed
after it. An entry still ``intent`` (crash) or ``unknown`` (no answer) is *unsettled* and
blocks money actions on its payment until a refresh settles it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.operations.results import ActionResult, with_
from core.storage.db import Database
from core.storage.models import AuditLog

UNSETTLED = ("intent", "unknown")


def add_intent(
    s: Session,
    *,
    actor: str,
    action: str,
    now: datetime,
    order_id: int | None,
    order_no: int | None,
    payment_id: str | None,
    amount: int | None,
    job_id: int | None = None,
    detail: dict | None = None,
) -> int:
    """The intent row, inside the caller's transaction (before the Paidy call); its id."""
    entry = AuditLog(
        created_at=now,
        actor=actor,
        action=action,
        order_id=order_id,
        order_no=order_no,
        payment_id=payment_id,
        amount=amount,
        outcome="intent",
        job_id=job_id,
        detail=detail or {},
        message="",
    )
    s.add(entry)
    s.flush()
    return entry.id


def record_intent(db: Database, **fields) -> int:
    """``add_intent`` in a transaction of its own."""
    with db.session() as s:
        return add_intent(s, **fields)


def fill_outcome(s: Session, audit_id: int, result: ActionResult, now: datetime) -> None:
    """Complete the intent row with the outcome, inside the caller's transaction."""
    _fill(s.get(AuditLog, audit_id), result, now)


def record_attempt(
    db: Database,
    actor: str,
    result: ActionResult,
    now: datetime,
    *,
    order_id: int | None = None,
    job_id: int | None = None,
) -> int:
    """One row for an attempt that never reached Paidy (refused, busy, no payment)."""
    with db.session() as s:
        return add_attempt(s, actor, result, now, order_id=order_id, job_id=job_id)


def add_attempt(
    s: Session,
    actor: str,
    result: ActionResult,
    now: datetime,
    *,
    order_id: int | None = None,
    job_id: int | None = None,
) -> int:
    """A finished attempt's row, inside the caller's transaction; returns its id."""
    entry = AuditLog(
        created_at=now,
        actor=actor,
        action=result.action.value,
        order_id=order_id,
        order_no=result.order_no,
        payment_id=result.payment_id,
        amount=result.amount,
        job_id=job_id,
        detail={},
    )
    _fill(entry, result, now)
    s.add(entry)
    s.flush()
    return entry.id


def log_result(
    db: Database,
    actor: str,
    result: ActionResult,
    now: datetime,
    *,
    job_id: int | None = None,
    order_id: int | None = None,
) -> ActionResult:
    """Record an attempt that ended without a call; the result comes back with its audit id."""
    return with_(
        result, audit_id=record_attempt(db, actor, result, now, order_id=order_id, job_id=job_id)
    )


def record_event(
    db: Database, actor: str, action: str, message: str, now: datetime, **fields
) -> int:
    """Non-payment events (対応状況 change, order save, link, login ...)."""
    with db.session() as s:
        return add_event(s, actor, action, message, now, **fields)


def add_event(s: Session, actor: str, action: str, message: str, now: datetime, **fields) -> int:
    """``record_event`` inside the caller's transaction (with the change it records)."""
    entry = AuditLog(
        created_at=now,
        actor=actor,
        action=action,
        outcome=fields.pop("outcome", "ok"),
        message=message,
        finished_at=now,
        detail=fields.pop("detail", {}),
        **fields,
    )
    s.add(entry)
    s.flush()
    return entry.id


def unsettled_entries(s: Session, payment_id: str) -> list[AuditLog]:
    return list(
        s.scalars(
            select(AuditLog)
            .where(AuditLog.payment_id == payment_id, AuditLog.outcome.in_(UNSETTLED))
            .order_by(AuditLog.id)
        )
    )


def mark_settled(s: Session, entry: AuditLog, applied: bool, message: str, now: datetime) -> None:
    detail = dict(entry.detail or {})
    detail.update(settled_applied=applied, was=entry.outcome)
    s.execute(
        update(AuditLog)
        .where(AuditLog.id == entry.id)
        .values(outcome="settled", message=message, finished_at=now, detail=detail)
    )


def _fill(entry: AuditLog, result: ActionResult, now: datetime) -> None:
    entry.outcome = result.outcome.value
    entry.message = result.message_ja
    entry.finished_at = now
    entry.request_id = result.request_id
    entry.paidy_code = result.paidy_code
    entry.paidy_reference = result.paidy_reference
    entry.paidy_title = result.details.get("paidy_title")
    entry.paidy_description = result.details.get("paidy_description")
    entry.amount = result.amount if result.amount is not None else entry.amount
    detail = dict(entry.detail or {})
    detail.update(code=result.code, message_en=result.message_en)
    entry.detail = detail
