"""The payment actions every screen and the CLI go through.

One path for all of them (``run_action``): permission -> load -> guard on a fresh snapshot
(nothing is sent when a rule refuses) -> per-payment lock -> in one row-locked transaction:
version check + nothing unsettled + audit intent (with the capture's/refund's intent tag) ->
one Paidy call (the tag in its ``metadata``) -> outcome + snapshot -> unlock.
A lost answer is never resent: it is judged by the tag (``core.operations.verdict``); until a
read that began after the settle deadline shows no tag it stays *unknown* and blocks money.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy import update as sa_update

from core.auth.current import authorize
from core.domain import cancellation, errors
from core.domain.capture import capture_mismatch
from core.domain.money import refundable, validate_refund, validate_update
from core.domain.states import Action, check_action
from core.operations import audit, finish_hooks, flags, locks
from core.operations.context import Ops
from core.operations.results import (
    ActionResult,
    Outcome,
    from_paidy_error,
    from_refusal,
    result_for,
    succeeded,
    with_,
    with_note,
)
from core.operations.settle import refresh_payment
from core.operations.snapshots import (
    OrderFacts,
    PaymentFacts,
    apply_payment,
    is_stale,
    load_facts,
    load_locked,
    payment_facts,
)
from core.operations.verdict import Pending, Verdict, judge, tagged_entries
from core.paidy.client import PaidyResult
from core.paidy.errors import PaidyAPIError, PaidyError, PaidyUnknownOutcome
from core.paidy.models import INTENT_KEY, Payment
from core.paidy.port import PaidyPort
from core.roles import Actor, Permission, PermissionDenied
from core.storage.models import Order
from core.timeutil import fmt_jst_seconds, iso_z


@dataclass(frozen=True)
class Plan:
    """What one guarded action will send, and what it needs to settle a lost answer."""

    amount: int | None
    send: Callable[[PaidyPort], PaidyResult]
    detail: dict = field(default_factory=dict)
    verdict: Callable[[Payment], ActionResult | None] | None = None
    tag: str | None = None  # capture/refund: sent in metadata, stored with the intent
    new_amount: int | None = None  # update: the amount it sets
    #: the order's 対応状況 before the action, for the cancel rule applied in ``_finish``
    order_status: str | None = None


def new_tag() -> str:
    """A fresh intent tag: unique across processes, machines and databases."""
    return f"oi_{uuid.uuid4().hex}"


def tagged(metadata: dict | None, tag: str) -> dict:
    """The caller's metadata with our intent tag added (theirs is kept)."""
    return {**(metadata or {}), INTENT_KEY: tag}


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
    metadata: dict | None = None,
) -> ActionResult:
    def plan(order: OrderFacts, pay: PaymentFacts, now: datetime) -> Plan:
        check_action(pay.snapshot(), Action.CAPTURE, now)
        cancellation.check_order(Action.CAPTURE, order.status, order.order_no)
        mismatch = capture_mismatch(order.total, pay.amount, confirmed=confirm_mismatch)
        if mismatch is not None:
            raise mismatch
        tag = new_tag()
        meta = tagged(metadata, tag)
        return Plan(pay.amount, lambda c: c.capture(pay.payment_id, metadata=meta), tag=tag)

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
        # Close cannot carry a tag (its body is empty); see core.operations.verdict for why
        # judging it by state is safe.
        return Plan(None, lambda c: c.close(pay.payment_id), order_status=order.status)

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
    metadata: dict | None = None,
) -> ActionResult:
    """``amount=None`` refunds everything that is left (全額)."""
    from core.domain.money import parse_yen

    def plan(order: OrderFacts, pay: PaymentFacts, now: datetime) -> Plan:
        check_action(pay.snapshot(), Action.REFUND, now)
        value = refundable(pay.captured, pay.refunded) if amount is None else parse_yen(amount)
        validate_refund(value, pay.captured, pay.refunded)
        detail = {"amount": value, "refunded_before": pay.refunded}
        text = (reason or "").strip()[:200] or None
        tag = new_tag()
        meta = tagged(metadata, tag)

        def send(c):
            return c.refund(pay.payment_id, pay.capture_id, value, text, metadata=meta)

        return Plan(value, send, detail, tag=tag)

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

        # Update cannot carry a tag of ours (metadata is the payment's own, replaced whole);
        # it is idempotent: sending the same order twice sets the same values.
        detail = {"new_amount": new_amount, "amount_before": pay.amount}
        return Plan(new_amount, send, detail, verdict, new_amount=new_amount)

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
        actor = authorize(ops.db, actor, Permission.ACT)  # role and active flag as of now
    except PermissionDenied as exc:
        return _log_refusal(ops, actor, action, order_no, None, exc, job_id)
    held = False  # the payment's in-flight marker (core.operations.locks)
    payment_id: str | None = None
    try:
        # One transaction: guard on our record (a refusal sends nothing), take the marker,
        # write the intent. A snapshot too old to act on is read from Paidy first.
        started = _start(ops, actor, action, order_no, planner, expected_version, job_id, now)
        if isinstance(started, _FreshFirst):
            payment_id = started.payment_id
            if not locks.try_acquire(
                ops.db, payment_id, action.value, actor.name, now, ops.lock_ttl
            ):
                return _busy(ops, actor, action, order_no, payment_id, job_id, started.order_id)
            held = True
            try:  # under the marker: no stale write can race it
                _store(ops, payment_id, ops.client.get_payment(payment_id).payment)
            except PaidyError as exc:
                failed = from_paidy_error(action, exc, order_no, payment_id)
                return _log(ops, actor, failed, job_id, started.order_id)
            started = _start(
                ops, actor, action, order_no, planner, expected_version, job_id, now, held=True
            )
        if isinstance(started, ActionResult):
            return started
        order, pay, plan, audit_id = started
        payment_id, held = pay.payment_id, True
        result, payment = _call(ops, action, order, pay, plan, recorded_at=now)
        result = _finish(ops, pay.payment_id, audit_id, result, payment, plan)
        held = False  # released in _finish's transaction
        return result
    finally:
        if held and payment_id is not None:
            locks.release(ops.db, payment_id)


@dataclass(frozen=True)
class _FreshFirst:
    """_start's answer when the stored snapshot is too old to act on: read Paidy first."""

    payment_id: str
    order_id: int


def _busy(ops, actor, action, order_no, payment_id, job_id, order_id) -> ActionResult:
    busy = result_for(action, Outcome.SKIPPED, "in_progress", order_no, payment_id)
    return _log(ops, actor, busy, job_id, order_id)


def _finish(
    ops: Ops,
    payment_id: str,
    audit_id: int,
    result: ActionResult,
    payment: Payment | None,
    plan: Plan,
) -> ActionResult:
    """One transaction after the call: Paidy's record and Paidy処理結果 (one UPDATE), the
    order's 対応状況 when the cancel rule says so, the audit outcome (written from what the
    intent held, without reading it back), the marker's release, and whatever rides along
    (a batch item's row: finish_hooks). Fewer statements: SQLite serialises them and each
    is a round trip on PostgreSQL."""
    now = ops.now()
    with ops.db.session(immediate=True) as s:
        row = load_locked(s, payment_id)
        fresh = payment if payment is not None and not is_stale(row, payment) else None
        if fresh is not None:
            result = with_(result, state_after=fresh.snapshot().state(now))
        result = _apply_cancel_rule(s, row.order_id, result, plan.order_status, now)
        if fresh is not None:
            apply_payment(row, fresh, now)
        row.last_result, row.last_result_at = result.message_ja, now
        row.last_result_msg = result.stored_msg()
        audit.complete(s, audit_id, result, now, plan.detail)
        locks.release_in(s, payment_id)
        result = with_(result, audit_id=audit_id)
        finish_hooks.run(s, result)
    return result


def _start(ops, actor, action, order_no, planner, expected_version, job_id, now, held=False):
    """The critical section, in one transaction under the row lock (PostgreSQL) or SQLite's
    write lock: read our record, guard (the rules, then the version the operator saw, the
    in-flight marker, nothing unsettled), take the marker (unless ``held``: the caller took
    it for a fresh read), write the intent. Returns (order, payment, plan, audit_id), the
    result of a refusal, or :class:`_FreshFirst`."""
    refusal: ActionResult | None = None
    with ops.db.session(immediate=True) as s:
        order, pay, order_id = load_facts(
            s, order_no, for_update=True, with_items=action is Action.UPDATE
        )
        taken = False
        if order is None or pay is None:
            order_id = order_id or s.scalar(select(Order.id).where(Order.order_no == order_no))
            code = "no_payment" if order_id else "no_order"
            refusal = result_for(action, Outcome.SKIPPED, code, order_no, None, order_no=order_no)
        else:
            try:
                plan = planner(order, pay, now)
            except errors.RuleViolation as exc:
                refusal = from_refusal(action, exc, order_no, pay.payment_id)
            if refusal is None and not held and _needs_fresh(ops, pay, action, now):
                return _FreshFirst(pay.payment_id, order.id)  # (nothing written)
            if refusal is not None:
                pass
            elif expected_version is not None and pay.version != expected_version:
                refusal = result_for(action, Outcome.SKIPPED, "changed", order_no, pay.payment_id)
            elif not held and not (
                taken := locks.take_in(
                    s, pay.payment_id, action.value, actor.name, now, ops.lock_ttl
                )
            ):
                refusal = result_for(
                    action, Outcome.SKIPPED, "in_progress", order_no, pay.payment_id
                )
            elif audit.unsettled_entries(s, pay.payment_id):
                refusal = result_for(action, Outcome.SKIPPED, "unsettled", order_no, pay.payment_id)
            if refusal is not None and taken:
                locks.release_in(s, pay.payment_id)  # refused after all: nobody holds it
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
                    intent_tag=plan.tag,
                )
    if refusal is not None:
        return _log(ops, actor, refusal, job_id, order_id)
    return order, pay, plan, audit_id


def _call(
    ops: Ops, action: Action, order: OrderFacts, pay: PaymentFacts, plan: Plan, recorded_at
) -> tuple[ActionResult, Payment | None]:
    """Send the one request; returns the result and Paidy's record to store (if known)."""
    try:
        res = plan.send(ops.client)
    except PaidyAPIError as exc:
        return _after_refusal(ops, action, order, pay, plan, exc)
    except PaidyUnknownOutcome as exc:
        return _settle_lost_answer(
            ops, action, order.order_no, pay.payment_id, plan, exc, recorded_at
        )
    except PaidyError as exc:
        return from_paidy_error(action, exc, order.order_no, pay.payment_id, plan.amount), None
    verdict = plan.verdict(res.payment) if plan.verdict else None
    if verdict is not None:
        return with_(verdict, request_id=res.request_id, amount=plan.amount), res.payment
    ok = succeeded(
        action,
        order.order_no,
        pay.payment_id,
        plan.amount,
        request_id=res.request_id,
        details={"paidy_ids": _check_echo(ops, action, plan, res)},
    )
    return ok, res.payment


def _check_echo(ops: Ops, action: Action, plan: Plan, res: PaidyResult) -> list[str]:
    """The ids of Paidy's entries carrying our tag in a successful answer; none means Paidy
    did not echo it: from then on lost answers wait for a person (core.operations.flags)."""
    if plan.tag is None:
        return []
    found = [e.id for e in tagged_entries(action, plan.tag, res.payment)]
    if not found:
        flags.mark_tags_unreliable(
            ops.db,
            ops.now(),
            action=action.value,
            payment_id=res.payment.id,
            request_id=res.request_id,
            at=iso_z(ops.now()),
        )
    return found


def _settle_lost_answer(
    ops, action, order_no, payment_id, plan, exc: PaidyUnknownOutcome, recorded_at
):
    """The answer was lost: read Paidy's record once (GET retries) and judge by our tag.
    Found = done. Not found = *unknown* until a read that begins after the deadline (a
    request may still reach Paidy); never "run it again" before that, never resent."""
    deadline = ops.now() + ops.settle_window
    base = dict(request_id=exc.request_id, amount=plan.amount)
    checking = with_(
        result_for(
            action, Outcome.UNKNOWN, "unknown_checking", order_no, payment_id, at=_jst(deadline)
        ),
        details={"settle_after": deadline, "lost": exc.reason},
        **base,
    )
    began = ops.now()
    try:
        payment = ops.client.get_payment(payment_id).payment
    except PaidyError:
        return checking, None
    pending = Pending(action, plan.tag, recorded_at, deadline, plan.new_amount)
    finding = judge(pending, payment, began, tags_reliable=flags.tags_reliable(ops.db))
    if finding.verdict is Verdict.DONE:
        done = result_for(action, Outcome.OK, "settled_done", order_no, payment_id)
        details = {"paidy_ids": list(finding.entries), "lost": exc.reason}
        return with_(done, details=details, **base), payment
    if finding.verdict is Verdict.NOT_DONE:
        code = (
            "captured_elsewhere" if finding.reason == "captured_elsewhere" else "settled_not_done"
        )
        failed = result_for(action, Outcome.FAILED, code, order_no, payment_id)
        return with_(failed, details={"lost": exc.reason}, **base), payment
    return checking, payment


def _jst(moment: datetime) -> str:
    return fmt_jst_seconds(moment)


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


def _goal_reached(action: Action, payment: Payment) -> bool:
    if action is Action.CAPTURE:
        return payment.captured_amount > 0
    return payment.status == "closed" and payment.captured_amount == 0


def _after_refusal(ops, action, order, pay, plan, exc: PaidyAPIError):
    """Paidy said no: read its current record so the screen shows the truth, and say why."""
    failed = from_paidy_error(action, exc, order.order_no, pay.payment_id, plan.amount)
    try:
        payment = ops.client.get_payment(pay.payment_id).payment
    except PaidyError:
        return failed, None
    if action in _GOAL_REACHED and _goal_reached(action, payment):
        done = from_refusal(action, _GOAL_REACHED[action](), order.order_no, pay.payment_id)
        refs = dict(request_id=exc.request_id, paidy_code=exc.code, paidy_reference=exc.reference)
        return with_(done, **refs), payment
    return failed, payment


def _apply_cancel_rule(s, order_id, result: ActionResult, order_status, now) -> ActionResult:
    """A close that left the payment closed sets 対応状況 to キャンセル (core.domain.cancellation),
    in the caller's transaction; the result's message says so."""
    new = cancellation.status_after(result.action, order_status, result.state_after)
    if new is None:
        return result
    changed = s.execute(
        sa_update(Order)
        .where(Order.id == order_id, Order.status != new)
        .values(status=new, updated_at=now, version=Order.version + 1)
    ).rowcount
    if not changed:
        return result
    details = {**result.details, "order_status_before": order_status, "order_status_after": new}
    return with_(with_note(result, "order_cancelled_too"), details=details)


def _store(ops: Ops, payment_id: str, payment: Payment):
    now = ops.now()
    with ops.db.session(immediate=True) as s:
        row = load_locked(s, payment_id)
        if not is_stale(row, payment):
            apply_payment(row, payment, now)
        return payment_facts(row).state(now)


def _log(ops: Ops, actor: Actor, result: ActionResult, job_id, order_id=None) -> ActionResult:
    return audit.log_result(ops.db, actor.name, result, ops.now(), job_id=job_id, order_id=order_id)


def _log_refusal(
    ops, actor, action, order_no, payment_id, exc: errors.RuleViolation, job_id, order_id=None
):
    return _log(ops, actor, from_refusal(action, exc, order_no, payment_id), job_id, order_id)
