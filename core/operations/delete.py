"""削除 (soft delete) and restore of orders, for the screens and ``python -m core delete``.

Deleting sets ``orders.deleted_at`` / ``deleted_by``: the order leaves every list (see
``core/storage/deleted.py``) but is kept, stays in the audit log and can be restored by an
admin. The rule of when it is allowed lives in ``core.domain.deletion``; here it is applied
to our snapshot inside one transaction that holds the order's and the payment's row locks
(PostgreSQL) or SQLite's write lock, so it cannot interleave with a money action's critical
section. Nothing is sent to Paidy: every deletable state is final there.

Deleting needs operator or admin (``EDIT_ORDERS``), restoring admin. Every attempt, allowed
or refused, is written to the audit log in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import exists, func, select

from core.domain.deletion import AlreadyDeleted, NotDeleted, delete_refusal
from core.domain.errors import OrderNotFound, RuleViolation
from core.domain.statuses import AuditOutcome, Outcome
from core.messages import error_part, part, render
from core.operations import audit
from core.operations.context import Ops
from core.operations.snapshots import payment_facts
from core.roles import Actor, Permission, PermissionDenied, require
from core.storage.models import AuditLog, InflightAction, Order, PaidyPayment
from core.timeutil import as_utc, fmt_jst

DELETE, RESTORE = "delete", "restore"


@dataclass(frozen=True)
class OrderChange:
    """The result of deleting or restoring one order."""

    action: str  # "delete" | "restore"
    order_no: int
    outcome: Outcome  # ok | skipped (refused, or already so) | failed (no such order)
    code: str
    message_ja: str
    message_en: str
    msg: tuple = ()  # the message as keys with parameters (core.messages)

    @property
    def done(self) -> bool:
        """Deleted (restored) now, or already was: what the caller asked for holds."""
        return self.outcome is Outcome.OK or self.code in (AlreadyDeleted.code, NotDeleted.code)

    def message(self, lang: str = "ja") -> str:
        return self.message_ja if lang == "ja" else self.message_en

    def cli_line(self) -> str:
        """``61 delete ok`` / ``62 delete skipped: delete_open: ...`` (one line per order)."""
        head = f"{self.order_no} {self.action} {self.outcome}"
        return head if self.outcome is Outcome.OK else f"{head}: {self.code}: {self.message_en}"


def delete_orders(ops: Ops, actor: Actor, order_nos: list[int]) -> list[OrderChange]:
    """Delete each order the rule allows; one result per order, in the given order."""
    _require(ops, actor, Permission.EDIT_ORDERS, DELETE, order_nos)
    return [_change(ops, actor, DELETE, no) for no in dict.fromkeys(order_nos)]


def restore_orders(ops: Ops, actor: Actor, order_nos: list[int]) -> list[OrderChange]:
    """Bring deleted orders back into the lists (admin)."""
    _require(ops, actor, Permission.ADMIN, RESTORE, order_nos)
    return [_change(ops, actor, RESTORE, no) for no in dict.fromkeys(order_nos)]


def _require(ops: Ops, actor: Actor, permission: Permission, action: str, nos: list[int]) -> None:
    try:
        require(actor, permission)
    except PermissionDenied as exc:
        now = ops.now()
        with ops.db.session() as s:
            for no in list(dict.fromkeys(nos))[:1000]:
                audit.add_event(
                    s,
                    actor.name,
                    action,
                    None,
                    now,
                    msg=[error_part(exc)],
                    order_no=no,
                    outcome=AuditOutcome.SKIPPED,
                    detail={"code": exc.code},
                )
        raise


def _change(ops: Ops, actor: Actor, action: str, order_no: int) -> OrderChange:
    now = ops.now()
    with ops.db.session(immediate=True) as s:
        order = s.scalar(select(Order).where(Order.order_no == order_no).with_for_update())
        if order is None:
            exc = OrderNotFound(order_no=str(order_no))
            result = _result(action, order_no, Outcome.FAILED, exc)
            _audit(s, actor, action, order_no, None, None, result, now)
            return result
        pay = s.scalar(
            select(PaidyPayment).where(PaidyPayment.order_id == order.id).with_for_update()
        )
        refusal = (
            _delete_refusal(s, ops, order, pay, now)
            if action == DELETE
            else _restore_refusal(order)
        )
        if refusal is not None:
            result = _result(action, order_no, Outcome.SKIPPED, refusal)
        else:
            before = (order.deleted_by, order.deleted_at)
            if action == DELETE:
                order.deleted_at, order.deleted_by = now, actor.name
            else:
                order.deleted_at, order.deleted_by = None, None
            result = _ok(action, order_no, before)
        _audit(s, actor, action, order_no, order.id, pay.payment_id if pay else None, result, now)
        return result


def _delete_refusal(s, ops: Ops, order: Order, pay: PaidyPayment | None, now: datetime):
    if order.deleted_at is not None:
        return AlreadyDeleted(order_no=str(order.order_no))
    if pay is None:
        return delete_refusal(order.order_no, None)
    facts = payment_facts(pay)
    return delete_refusal(
        order.order_no,
        facts.state(now),
        status=facts.status,
        billed=facts.captured - facts.refunded,
        busy=_busy(s, ops, pay.payment_id, now),
    )


def _restore_refusal(order: Order):
    return NotDeleted(order_no=str(order.order_no)) if order.deleted_at is None else None


def _busy(s, ops: Ops, payment_id: str, now: datetime) -> bool:
    """An action on the payment is in flight (a live marker) or its outcome is unsettled."""
    live_marker = exists().where(
        InflightAction.payment_id == payment_id, InflightAction.started_at > now - ops.lock_ttl
    )
    unsettled = exists().where(
        AuditLog.payment_id == payment_id, AuditLog.outcome.in_(audit.UNSETTLED)
    )
    return bool(s.scalar(select(live_marker | unsettled)))


def _result(action: str, order_no: int, outcome: Outcome, exc: RuleViolation) -> OrderChange:
    return OrderChange(
        action,
        order_no,
        outcome,
        exc.code,
        exc.message("ja"),
        exc.message("en"),
        (error_part(exc),),
    )


def _ok(action: str, order_no: int, before: tuple) -> OrderChange:
    parts = [part("deleted" if action == DELETE else "restored", no=str(order_no))]
    if action == RESTORE:
        by, at = before
        parts.append(part("restored_from", by=by or "-", at=fmt_jst(as_utc(at))))
    return OrderChange(
        action, order_no, Outcome.OK, "ok", render(parts, "ja"), render(parts, "en"), tuple(parts)
    )


def _audit(s, actor, action, order_no, order_id, payment_id, result: OrderChange, now) -> None:
    audit.add_event(
        s,
        actor.name,
        action,
        result.message_ja,
        now,
        msg=list(result.msg) or None,
        order_id=order_id,
        order_no=order_no,
        payment_id=payment_id,
        outcome=result.outcome,
        detail={"code": result.code, "message_en": result.message_en},
    )


# ---------------------------------------------------------------------------- the restore view
DELETED_COLUMNS = ("order_no", "customer_name", "total", "paidy_payment_id", "deleted_at",
                   "deleted_by")  # fmt: skip


def deleted_orders(ops: Ops, actor: Actor, limit: int = 500) -> pd.DataFrame:
    """Deleted orders, most recently deleted first (the admin's restore view)."""
    require(actor, Permission.ADMIN)
    q = (
        select(
            Order.order_no,
            Order.customer_name,
            Order.total,
            PaidyPayment.payment_id,
            Order.deleted_at,
            Order.deleted_by,
        )
        .outerjoin(PaidyPayment, PaidyPayment.order_id == Order.id)
        .where(Order.deleted_at.is_not(None))
        .order_by(Order.deleted_at.desc(), Order.order_no.desc())
        .limit(limit)
    )
    with ops.db.session() as s:
        rows = s.execute(q).all()
    frame = pd.DataFrame(rows, columns=list(DELETED_COLUMNS))
    frame["deleted_at"] = pd.to_datetime(frame["deleted_at"], utc=True)
    return frame.astype({"order_no": "Int64", "total": "Int64"})


def deleted_count(ops: Ops) -> int:
    with ops.db.session() as s:
        return int(s.scalar(select(func.count()).where(Order.deleted_at.is_not(None))) or 0)
