"""The audit log (操作履歴): every attempted action, written before the call and completed
after it. An entry still ``intent`` (crash) or ``unknown`` (no answer) is *unsettled* and
blocks money actions on its payment until a refresh settles it.

Nothing is silently rewritten: when a settled entry is corrected (a late landing, a
duplicate) its earlier outcome goes to ``detail.history``, a separate ``late`` event row is
added, and ``needs_review`` puts it on the dashboard until a person marks it reviewed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.domain.statuses import UNSETTLED, AuditOutcome
from core.messages import part
from core.messages import render as render_msg
from core.operations.results import ActionResult, render, with_
from core.storage.db import Database
from core.storage.models import AuditLog


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
    intent_tag: str | None = None,
) -> int:
    """The intent row, inside the caller's transaction (before the Paidy call); its id."""
    entry = AuditLog(
        intent_tag=intent_tag,
        created_at=now,
        actor=actor,
        action=action,
        order_id=order_id,
        order_no=order_no,
        payment_id=payment_id,
        amount=amount,
        outcome=AuditOutcome.INTENT,
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


def complete(
    s: Session, audit_id: int, result: ActionResult, now: datetime, intent_detail: dict
) -> None:
    """Complete the intent row with the outcome in one UPDATE, from what the intent was
    written with (its ``detail``), without reading the row back (the money path's finish
    transaction)."""
    values = _outcome_values(result, now, intent_detail)
    if result.amount is None:
        values.pop("amount")
    s.execute(update(AuditLog).where(AuditLog.id == audit_id).values(**values))


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
    db: Database, actor: str, action: str, message: str | None, now: datetime, **fields
) -> int:
    """Non-payment events (対応状況 change, order save, link, login ...)."""
    with db.session() as s:
        return add_event(s, actor, action, message, now, **fields)


def add_event(
    s: Session,
    actor: str,
    action: str,
    message: str | None,
    now: datetime,
    *,
    msg: list[dict] | None = None,
    **fields,
) -> int:
    """``record_event`` inside the caller's transaction (written with the change it records).
    ``msg``: the message as keys with parameters (core.messages): stored in ``detail`` and
    rendered when read; ``message`` (Japanese) and ``detail.message_en`` are then its text."""
    detail = dict(fields.pop("detail", None) or {})
    if msg:
        message = render_msg(msg, "ja")
        detail.update(msg=list(msg), message_en=render_msg(msg, "en"))
    entry = AuditLog(
        created_at=now,
        actor=actor,
        action=action,
        outcome=fields.pop("outcome", AuditOutcome.OK),
        message=message or "",
        finished_at=now,
        detail=detail,
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


def was_applied(entry: AuditLog) -> bool:
    """Does this entry say its write happened (done, or settled as done)?"""
    if entry.outcome == AuditOutcome.OK:
        return True
    return entry.outcome == AuditOutcome.SETTLED and bool(
        (entry.detail or {}).get("settled_applied")
    )


def mark_settled(
    s: Session,
    entry: AuditLog,
    applied: bool,
    now: datetime,
    *,
    reason: str = "",
    paidy_ids: list[str] | None = None,
    amount: int | None = None,
) -> None:
    """An unsettled entry becomes definite (a read of Paidy's record decided it)."""
    detail = dict(entry.detail or {})
    code = "settled_done" if applied else "settled_not_done"
    if reason == "captured_elsewhere":
        code = "captured_elsewhere"
    detail.update(
        settled_applied=applied,
        was=entry.outcome,
        reason=reason,
        code=code,
        message_en=render(code, "en"),
        msg=[part(code)],
    )
    if paidy_ids:
        detail["paidy_ids"] = list(paidy_ids)
    values = dict(
        outcome=AuditOutcome.SETTLED, message=render(code, "ja"), finished_at=now, detail=detail
    )
    if amount is not None:
        values["amount"] = amount
    s.execute(update(AuditLog).where(AuditLog.id == entry.id).values(**values))


def mark_needs_person(s: Session, entry: AuditLog, reason: str, now: datetime) -> None:
    """Past its deadline but undecidable automatically: stays unsettled, flagged for review."""
    if entry.needs_review:
        return
    detail = dict(entry.detail or {})
    detail.update(
        person_reason=reason,
        flagged_at=now.isoformat(),
        msg=[part("needs_person")],
        message_en=render("needs_person", "en"),
    )
    s.execute(
        update(AuditLog)
        .where(AuditLog.id == entry.id)
        .values(needs_review=True, message=render("needs_person", "ja"), detail=detail)
    )


def correct_late(s: Session, entry: AuditLog, paidy_ids: list[str], now: datetime) -> int:
    """A write we had concluded "not done" (or that failed) is in Paidy's record after all:
    correct the entry (keeping what it said in ``history``), flag it, and add a ``late``
    event row beside it. Returns the event row's id."""
    detail = dict(entry.detail or {})
    history = [
        *detail.get("history", []),
        {
            "outcome": entry.outcome,
            "message": entry.message,
            "code": detail.get("code"),
            "msg": detail.get("msg"),
        },
    ]
    detail.update(
        settled_applied=True,
        late=True,
        paidy_ids=list(paidy_ids),
        history=history,
        code="applied_late",
        message_en=render("applied_late", "en"),
        msg=[part("applied_late")],
    )
    s.execute(
        update(AuditLog)
        .where(AuditLog.id == entry.id)
        .values(
            outcome=AuditOutcome.SETTLED,
            needs_review=True,
            message=render("applied_late", "ja"),
            detail=detail,
        )
    )
    return _event_row(s, entry, AuditOutcome.LATE, [part("applied_late")], now, paidy_ids)


def flag_duplicate(s: Session, entry: AuditLog, paidy_ids: list[str], now: datetime) -> int:
    """One request of ours is in Paidy's record more than once: flag it for a person."""
    detail = dict(entry.detail or {})
    detail.update(duplicate=True, paidy_ids=list(paidy_ids))
    msg = [part("duplicate_landing", count=len(paidy_ids))]
    s.execute(
        update(AuditLog).where(AuditLog.id == entry.id).values(needs_review=True, detail=detail)
    )
    return _event_row(s, entry, AuditOutcome.LATE, msg, now, paidy_ids)


def _event_row(s, entry: AuditLog, outcome: AuditOutcome, msg: list[dict], now, paidy_ids) -> int:
    row = AuditLog(
        created_at=now,
        actor="system",
        action=entry.action,
        order_id=entry.order_id,
        order_no=entry.order_no,
        payment_id=entry.payment_id,
        amount=entry.amount,
        outcome=outcome,
        message=render_msg(msg, "ja"),
        finished_at=now,
        needs_review=False,
        detail={
            "corrects": entry.id,
            "paidy_ids": list(paidy_ids),
            "msg": msg,
            "message_en": render_msg(msg, "en"),
        },
    )
    s.add(row)
    s.flush()
    return row.id


def needs_review_count(s: Session) -> int:
    return int(s.scalar(select(func.count()).where(AuditLog.needs_review.is_(True))) or 0)


def _outcome_values(result: ActionResult, now: datetime, detail_before: dict | None) -> dict:
    """The columns an outcome sets on its audit row (the one place that says which)."""
    detail = dict(detail_before or {})
    detail.update(code=result.code, message_en=result.message_en, msg=result.stored_msg())
    for key in ("paidy_ids", "lost"):
        if result.details.get(key):
            detail[key] = result.details[key]
    return {
        "outcome": result.outcome.value,
        "message": result.message_ja,
        "finished_at": now,
        "request_id": result.request_id,
        "paidy_code": result.paidy_code,
        "paidy_reference": result.paidy_reference,
        "paidy_title": result.details.get("paidy_title"),
        "paidy_description": result.details.get("paidy_description"),
        "amount": result.amount,
        "settle_after": result.details.get("settle_after"),
        "detail": detail,
    }


def _fill(entry: AuditLog, result: ActionResult, now: datetime) -> None:
    values = _outcome_values(result, now, entry.detail)
    if result.amount is None:
        values.pop("amount")
    for key, value in values.items():
        setattr(entry, key, value)
