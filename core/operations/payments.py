"""The payment actions every screen and the CLI go through.

One path for all of them (``run_action``): permission -> load -> guard on a fresh snapshot
(nothing is sent when a rule refuses) -> per-payment lock -> in one row-locked transaction:
version check + audit intent -> one Paidy call -> outcome + snapshot -> unlock.
A lost answer is settled by re-reading the payment, never by sending again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from core.domain import errors
from core.domain.money import refundable, validate_refund, validate_update
from core.domain.states import Action, check_action
from core.operations import audit, finish_hooks, locks
from core.operations.context import Ops
from core.operations.results import (
    SUCCESS,
    ActionResult,
    Outcome,
    from_paidy_error,
    from_refusal,
    result_for,
    with_,
)
from core.operations.settle import applied, refresh_payment
from core.operations.snapshots import (
    OrderFacts,
    PaymentFacts,
    apply_payment,
    load_by_order_no,
    load_by_payment_id,
    order_facts,
    payment_facts,
)
from core.paidy.client import PaidyClient, PaidyResult
from core.paidy.errors import PaidyAPIError, PaidyError, PaidyUnknownOutcome
from core.paidy.models import Payment
from core.roles import Actor, Permission, PermissionDenied, require


@dataclass(frozen=True)
class Plan:
    """What one guarded action will send, and what it needs to settle a lost answer."""

    amount: int | None
    send: Callable[[PaidyClient], PaidyResult]
    detail: dict = field(default_factory=dict)
    verdict: Callable[[Payment], ActionResult | None] | None = None


Planner = Callable[[OrderFacts, PaymentFacts, datetime], Plan]


# --- the public actions ---------------------------------------------------------------------
def capture(
    ops: Ops,
    actor: Actor,
    order_no: int,
    *,
    confirm_mismatch: bool = False,
    expected_version: int | None = None,
    job_id: int | None = None,
) -> ActionResult:
    def plan(order: OrderFacts, pay: PaymentFacts, now: datetime) -> Plan:
        check_action(pay.snapshot(), Action.CAPTURE, now)
        if order.total != pay.amount and not confirm_mismatch:
            raise errors.TotalMismatch(order_total=order.total, paidy_amount=pay.amount)
        return Plan(pay.amount, lambda c: c.capture(pay.payment_id))

    return run_action(ops, actor, Action.CAPTURE, order_no, plan, expected_version, job_id)


def close(
    ops: Ops,
    actor: Actor,
    order_no: int,
    *,
    expected_version: int | None = None,
    job_id: int | None = None,
) -> ActionResult:
    def plan(order: OrderFacts, pay: PaymentFacts, now: datetime) -> Plan:
        check_action(pay.snapshot(), Action.CLOSE, now)
        return Plan(None, lambda c: c.close(pay.payment_id))

    return run_action(ops, actor, Action.CLOSE, order_no, plan, expected_version, job_id)


def refund(
    ops: Ops,
    actor: Actor,
    order_no: int,
    amount: int | str | None = None,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
    job_id: int | None = None,
) -> ActionResult:
    """``amount=None`` refunds everything that is left (全額)."""
    from core.domain.money import parse_yen

    def plan(order: OrderFacts, pay: PaymentFacts, now: datetime) -> Plan:
        check_action(pay.snapshot(), Action.REFUND, now)
        value = refundable(pay.captured, pay.refunded) if amount is None else parse_yen(amount)
        validate_refund(value, pay.captured, pay.refunded)
        detail = {
            "amount": value,
            "refunded_before": pay.refunded,
            "known_refund_ids": list(pay.refund_ids),
        }
        text = (reason or "").strip()[:200] or None
        return Plan(value, lambda c: c.refund(pay.payment_id, pay.capture_id, value, text), detail)

    return run_action(ops, actor, Action.REFUND, order_no, plan, expected_version, job_id)


def update(
    ops: Ops,
    actor: Actor,
    order_no: int,
    *,
    expected_version: int | None = None,
    job_id: int | None = None,
) -> ActionResult:
    """Send the order's current items, tax, shipping and order_ref (the guide's アップデート)."""

    def plan(order: OrderFacts, pay: PaymentFacts, now: datetime) -> Plan:
        check_action(pay.snapshot(), Action.UPDATE, now)
        new_amount = validate_update(order.items_amount, pay.authorized_amount, pay.amount)

        def verdict(p: Payment) -> ActionResult | None:
            if p.amount == new_amount:
                return None
            return result_for(
                Action.UPDATE,
                Outcome.FAILED,
                "amount_not_applied",
                order.order_no,
                pay.payment_id,
                paidy_amount=p.amount,
                order_total=new_amount,
            )

        def send(c):
            return c.update(
                pay.payment_id, order=order.paidy_order(), order_ref=str(order.order_no)
            )

        return Plan(
            new_amount, send, {"new_amount": new_amount, "amount_before": pay.amount}, verdict
        )

    return run_action(ops, actor, Action.UPDATE, order_no, plan, expected_version, job_id)


# --- the one path -----------------------------------------------------------------------------
def run_action(
    ops: Ops,
    actor: Actor,
    action: Action,
    order_no: int,
    planner: Planner,
    expected_version: int | None = None,
    job_id: int | None = None,
) -> ActionResult:
    now = ops.now()
    try:
        require(actor, Permission.ACT)
    except PermissionDenied as exc:
        return _log_refusal(ops, actor, action, order_no, None, exc, job_id)
    with ops.db.session() as s:
        order_row, pay_row = load_by_order_no(s, order_no)
        order = order_facts(order_row) if order_row else None
        pay = payment_facts(pay_row) if pay_row else None
    if order is None or pay is None:
        code = "no_order" if order is None else "no_payment"
        r = result_for(action, Outcome.SKIPPED, code, order_no, None, order_no=order_no)
        return _log(ops, actor, r, job_id, order.id if order else None)
    try:
        planner(order, pay, now)  # early refusal on our record: nothing is sent, nothing locked
    except errors.RuleViolation as exc:
        return _log_refusal(ops, actor, action, order_no, pay.payment_id, exc, job_id, order.id)

    if not locks.try_acquire(ops.db, pay.payment_id, action.value, actor.name, now, ops.lock_ttl):
        return _log(
            ops,
            actor,
            result_for(action, Outcome.SKIPPED, "in_progress", order_no, pay.payment_id),
            job_id,
            order.id,
        )
    unlocked = False
    try:
        if _needs_fresh(ops, pay, action, now):  # under the lock: no stale write can race it
            try:
                _store(ops, pay.payment_id, ops.client.get_payment(pay.payment_id).payment)
            except PaidyError as exc:
                failed = from_paidy_error(action, exc, order_no, pay.payment_id)
                return _log(ops, actor, failed, job_id, order.id)
        started = _start(ops, actor, action, order_no, planner, expected_version, job_id, now)
        if isinstance(started, ActionResult):
            return started
        order, pay, plan, audit_id = started
        result, payment = _call(ops, action, order, pay, plan)
        result = _finish(ops, pay.payment_id, audit_id, result, payment)
        unlocked = True
        return result
    finally:
        if not unlocked:
            locks.release(ops.db, pay.payment_id)


def _finish(
    ops: Ops, payment_id: str, audit_id: int, result: ActionResult, payment: Payment | None
) -> ActionResult:
    """One transaction after the call: Paidy's record, the audit outcome, Paidy処理結果, and
    the lock's release (fewer writes: SQLite serialises them)."""
    now = ops.now()
    with ops.db.session(immediate=True) as s:
        row = load_by_payment_id(s, payment_id, for_update=True)
        if payment is not None:
            apply_payment(row, payment, now)
            result = with_(result, state_after=payment_facts(row).state(now))
        audit.fill_outcome(s, audit_id, result, now)
        row.last_result, row.last_result_at = result.message_ja, now
        locks.release_in(s, payment_id)
        finish_hooks.run(s, with_(result, audit_id=audit_id))  # e.g. the batch item's row
    return with_(result, audit_id=audit_id)


def _start(ops, actor, action, order_no, planner, expected_version, job_id, now):
    """The critical section, in one transaction under the row lock (PostgreSQL) or SQLite's
    write lock: re-read, compare versions, check nothing is unsettled, re-plan, write the
    intent. Returns (order, payment, plan, audit_id) or the result of a refusal."""
    refusal: ActionResult | None = None
    with ops.db.session(immediate=True) as s:
        order_row, pay_row = load_by_order_no(s, order_no, for_update=True)
        order, pay = order_facts(order_row), payment_facts(pay_row)
        if expected_version is not None and pay.version != expected_version:
            refusal = result_for(action, Outcome.SKIPPED, "changed", order_no, pay.payment_id)
        elif audit.unsettled_entries(s, pay.payment_id):
            refusal = result_for(action, Outcome.SKIPPED, "unsettled", order_no, pay.payment_id)
        else:
            try:
                plan = planner(order, pay, now)
            except errors.RuleViolation as exc:
                refusal = from_refusal(action, exc, order_no, pay.payment_id)
        if refusal is None:
            audit_id = audit.add_intent(
                s,
                actor=actor.name,
                action=action.value,
                now=now,
                order_id=order.id,
                order_no=order_no,
                payment_id=pay.payment_id,
                amount=plan.amount,
                job_id=job_id,
                detail=plan.detail,
            )
    if refusal is not None:
        return _log(ops, actor, refusal, job_id, order.id)
    return order, pay, plan, audit_id


def _call(
    ops: Ops, action: Action, order: OrderFacts, pay: PaymentFacts, plan: Plan
) -> tuple[ActionResult, Payment | None]:
    """Send the one request; returns the result and Paidy's record to store (if known)."""
    try:
        res = plan.send(ops.client)
    except PaidyAPIError as exc:
        return _after_refusal(ops, action, order, pay, plan, exc)
    except PaidyUnknownOutcome as exc:
        return _settle_lost_answer(ops, action, order.order_no, pay.payment_id, plan, exc)
    except PaidyError as exc:
        return from_paidy_error(action, exc, order.order_no, pay.payment_id, plan.amount), None
    verdict = plan.verdict(res.payment) if plan.verdict else None
    if verdict is not None:
        return with_(verdict, request_id=res.request_id, amount=plan.amount), res.payment
    ja, en = SUCCESS[action]
    if plan.amount is not None and action is Action.REFUND:
        ja, en = f"{ja} ({plan.amount:,}円)", f"{en} ({plan.amount:,} yen)"
    ok = ActionResult(
        action,
        Outcome.OK,
        "ok",
        ja,
        en,
        order.order_no,
        pay.payment_id,
        plan.amount,
        request_id=res.request_id,
    )
    return ok, res.payment


def _settle_lost_answer(ops, action, order_no, payment_id, plan, exc: PaidyUnknownOutcome):
    """The answer was lost: ask Paidy what happened (GET retries), decide, never resend."""
    base = dict(request_id=exc.request_id, amount=plan.amount)
    try:
        payment = ops.client.get_payment(payment_id).payment
    except PaidyError:
        return with_(
            result_for(action, Outcome.UNKNOWN, "unknown", order_no, payment_id), **base
        ), None
    if applied(action, plan.detail, payment):
        return with_(
            result_for(action, Outcome.OK, "settled_done", order_no, payment_id), **base
        ), payment
    return with_(
        result_for(action, Outcome.FAILED, "settled_not_done", order_no, payment_id), **base
    ), payment


# --- refresh (状態確認) and settling -------------------------------------------------------------
def refresh(
    ops: Ops,
    actor: Actor,
    order_no: int | None = None,
    *,
    payment_id: str | None = None,
    job_id: int | None = None,
) -> ActionResult:
    """Re-read one payment from Paidy, store it, settle unsettled entries, say what changed."""
    return refresh_payment(ops, actor, order_no=order_no, payment_id=payment_id, job_id=job_id)


# --- helpers ------------------------------------------------------------------------------------
def _needs_fresh(ops: Ops, pay: PaymentFacts, action: Action, now: datetime) -> bool:
    if action is Action.REFUND and not pay.capture_id:
        return True
    return pay.last_synced_at is None or now - pay.last_synced_at > ops.fresh_for


# A refused capture/close whose goal Paidy's record already shows (another tab, Paidy's own
# screens, a call still in flight when a process died) is "already done", not a failure.
_GOAL_REACHED = {Action.CAPTURE: errors.AlreadyCaptured, Action.CLOSE: errors.AlreadyClosed}


def _after_refusal(ops, action, order, pay, plan, exc: PaidyAPIError):
    """Paidy said no: read its current record so the screen shows the truth, and say why."""
    failed = from_paidy_error(action, exc, order.order_no, pay.payment_id, plan.amount)
    try:
        payment = ops.client.get_payment(pay.payment_id).payment
    except PaidyError:
        return failed, None
    if action in _GOAL_REACHED and applied(action, plan.detail, payment):
        done = from_refusal(action, _GOAL_REACHED[action](), order.order_no, pay.payment_id)
        refs = dict(request_id=exc.request_id, paidy_code=exc.code, paidy_reference=exc.reference)
        return with_(done, **refs), payment
    return failed, payment


def _store(ops: Ops, payment_id: str, payment: Payment):
    now = ops.now()
    with ops.db.session(immediate=True) as s:
        row = load_by_payment_id(s, payment_id, for_update=True)
        apply_payment(row, payment, now)
        return payment_facts(row).state(now)


def _log(ops: Ops, actor: Actor, result: ActionResult, job_id, order_id=None) -> ActionResult:
    return audit.log_result(ops.db, actor.name, result, ops.now(), job_id=job_id, order_id=order_id)


def _log_refusal(
    ops, actor, action, order_no, payment_id, exc: errors.RuleViolation, job_id, order_id=None
):
    return _log(ops, actor, from_refusal(action, exc, order_no, payment_id), job_id, order_id)
