"""状態確認 (refresh): re-read a payment, store it, settle earlier unknown outcomes.

Settling decides from Paidy's record alone whether a crashed or unanswered action was
applied (``payments.applied``); an ``intent`` entry whose action still holds the lock is
left alone (it is in flight, not lost).
"""

from __future__ import annotations

from sqlalchemy import select

from core.domain.states import Action
from core.operations import audit, finish_hooks
from core.operations.context import Ops
from core.operations.results import (
    ActionResult,
    Outcome,
    from_paidy_error,
    from_refusal,
    render,
    result_for,
    with_,
)
from core.operations.snapshots import (
    apply_payment,
    load_by_order_no,
    load_by_payment_id,
    payment_facts,
)
from core.paidy.errors import PaidyError
from core.paidy.models import Payment
from core.roles import Actor, Permission, PermissionDenied, require
from core.storage.models import InflightAction, Order, PaidyPayment
from core.timeutil import as_utc

STATE_WORDS = {
    "open": ("オープン", "open"),
    "expired": ("期限切れ", "expired"),
    "captured": ("売上確定", "captured"),
    "partially_refunded": ("一部払い戻し", "partially refunded"),
    "refunded": ("全額払い戻し", "refunded"),
    "closed": ("キャンセル", "closed"),
    "rejected": ("与信NG", "rejected"),
    "unknown": ("不明", "unknown"),
}


def applied(action: Action | str, detail: dict, payment: Payment) -> bool:
    """Did Paidy record this action? Decided from Paidy's record alone (the one place)."""
    action = Action(action)
    if action is Action.CAPTURE:
        return payment.captured_amount > 0
    if action is Action.CLOSE:
        return payment.status == "closed" and payment.captured_amount == 0
    if action is Action.REFUND:
        known = set(detail.get("known_refund_ids") or [])
        if known or detail.get("refunded_before", 0) == 0:
            return any(r.id not in known for r in payment.refunds)
        return payment.refunded_amount >= detail.get("refunded_before", 0) + detail.get("amount", 0)
    if action is Action.UPDATE:
        return payment.amount == detail.get("new_amount")
    return True


def refresh_payment(
    ops: Ops,
    actor: Actor,
    *,
    order_no: int | None = None,
    payment_id: str | None = None,
    job_id: int | None = None,
) -> ActionResult:
    def log(result: ActionResult) -> ActionResult:
        return audit.log_result(ops.db, actor.name, result, ops.now(), job_id=job_id)

    try:
        require(actor, Permission.ACT)
    except PermissionDenied as exc:
        return log(from_refusal(Action.REFRESH, exc, order_no, payment_id))
    missing = None
    with ops.db.session() as s:
        if payment_id is None:
            order, row = load_by_order_no(s, order_no)
            if order is None or row is None:
                missing = "no_order" if order is None else "no_payment"
            else:
                payment_id = row.payment_id
        elif order_no is None:
            row = load_by_payment_id(s, payment_id)
            if row is not None and row.order_id:
                order_no = s.scalar(select(Order.order_no).where(Order.id == row.order_id))
    if missing:
        return log(
            result_for(Action.REFRESH, Outcome.SKIPPED, missing, order_no, None, order_no=order_no)
        )
    for _ in range(2):  # a second try when someone stored fresher data meanwhile
        version = _version(ops, payment_id)
        try:
            res = ops.client.get_payment(payment_id)
        except PaidyError as exc:
            return log(from_paidy_error(Action.REFRESH, exc, order_no, payment_id))
        stored = _store_if_current(ops, actor, payment_id, version, res, order_no, job_id)
        if stored is not None:
            return stored
    return log(result_for(Action.REFRESH, Outcome.SKIPPED, "in_progress", order_no, payment_id))


def _version(ops: Ops, payment_id: str) -> int:
    with ops.db.session() as s:
        return s.scalar(select(PaidyPayment.version).where(PaidyPayment.payment_id == payment_id))


def _store_if_current(ops: Ops, actor: Actor, payment_id: str, version: int, res, order_no, job_id):
    """One transaction: unless an action holds the payment or someone stored a newer record
    since ``version`` was read (then None: read again), store Paidy's record, settle every
    unsettled entry from it, and write the audit row and Paidy処理結果."""
    now = ops.now()
    with ops.db.session(immediate=True) as s:
        row = load_by_payment_id(s, payment_id, for_update=True)
        marker = s.get(InflightAction, payment_id)
        if marker is not None and as_utc(marker.started_at) > now - ops.lock_ttl:
            busy = result_for(Action.REFRESH, Outcome.SKIPPED, "in_progress", order_no, payment_id)
            return with_(busy, audit_id=audit.add_attempt(s, actor.name, busy, now, job_id=job_id))
        if row.version != version:
            return None
        if marker is not None:  # a dead process's marker: its call can no longer be in flight
            s.delete(marker)
        before = payment_facts(row).state(now)
        apply_payment(row, res.payment, now)
        after = payment_facts(row).state(now)
        settled = []
        for entry in audit.unsettled_entries(s, payment_id):
            done = applied(entry.action, entry.detail or {}, res.payment)
            message = render("settled_done" if done else "settled_not_done", "ja")
            audit.mark_settled(s, entry, done, message, now)
            settled.append((entry.action, done))
        result = _refresh_result(before, after, order_no, payment_id)
        result = with_(
            result,
            request_id=res.request_id,
            state_after=after,
            details={"before": before.value, "after": after.value, "settled": settled},
        )
        if settled or before != after:
            row.last_result, row.last_result_at = result.message_ja, now
        result = with_(
            result, audit_id=audit.add_attempt(s, actor.name, result, now, job_id=job_id)
        )
        finish_hooks.run(s, result)  # e.g. the batch item's row, in this transaction
        return result


def _refresh_result(before, after, order_no, payment_id) -> ActionResult:
    if before == after:
        return result_for(Action.REFRESH, Outcome.OK, "unchanged", order_no, payment_id)
    b, a = STATE_WORDS[before.value], STATE_WORDS[after.value]
    return ActionResult(
        Action.REFRESH,
        Outcome.OK,
        "state_changed",
        render("state_changed", "ja", before=b[0], after=a[0]),
        render("state_changed", "en", before=b[1], after=a[1]),
        order_no,
        payment_id,
    )
