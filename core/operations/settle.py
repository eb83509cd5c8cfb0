"""状態確認 (refresh): read a payment, store it, settle unsettled writes, find late landings.

- :func:`refresh_payment` reads Paidy's record (noting when the read *began*) and hands it
  to :func:`store_read`.
- :func:`store_read` stores a read in one transaction: unless an action holds the payment, a
  fresher record was stored meanwhile, or the read is older than what we already confirmed
  (it lacks a capture/refund we have seen: Paidy's lists only grow). Then every unsettled
  entry of the payment is judged (:mod:`core.operations.verdict`) and every tagged write in
  the record is matched with its audit entry: one we had concluded "not done" is corrected
  as a late landing and flagged for a person, never silently rewritten.
- :func:`settle_due` is the workers' timer: it re-reads payments whose unsettled writes
  have passed their deadline, so an operator gets a definite answer without asking.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update

from core.auth.current import authorize
from core.domain import cancellation
from core.domain.states import Action, PaymentState
from core.domain.statuses import AuditOutcome
from core.messages import label_ref
from core.operations import audit, finish_hooks, flags
from core.operations.context import Ops
from core.operations.results import (
    ActionResult,
    Outcome,
    from_paidy_error,
    from_refusal,
    result_for,
    with_,
)
from core.operations.snapshots import (
    apply_payment,
    is_stale,
    load_locked,
    payment_facts,
)
from core.operations.verdict import Pending, Verdict, judge
from core.paidy.client import PaidyResult
from core.paidy.errors import PaidyError
from core.paidy.models import Capture, Payment, Refund
from core.roles import SYSTEM, Actor, Permission, PermissionDenied
from core.storage.models import AuditLog, InflightAction, Order, PaidyPayment
from core.timeutil import as_utc


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
        actor = authorize(ops.db, actor, Permission.ACT)  # role and active flag as of now
    except PermissionDenied as exc:
        return log(from_refusal(Action.REFRESH, exc, order_no, payment_id))
    version = None
    with ops.db.session() as s:  # one query: the payment, its version and its order's number
        q = select(Order.order_no, PaidyPayment.payment_id, PaidyPayment.version)
        if payment_id is None:
            q = q.outerjoin(PaidyPayment, PaidyPayment.order_id == Order.id).where(
                Order.order_no == order_no
            )
        else:
            q = (
                select(Order.order_no, PaidyPayment.payment_id, PaidyPayment.version)
                .select_from(PaidyPayment)
                .outerjoin(Order, Order.id == PaidyPayment.order_id)
                .where(PaidyPayment.payment_id == payment_id)
            )
        found = s.execute(q).first()
    if payment_id is None:
        if found is None or found.payment_id is None:
            missing = "no_order" if found is None else "no_payment"
            return log(
                result_for(
                    Action.REFRESH, Outcome.SKIPPED, missing, order_no, None, order_no=order_no
                )
            )
        payment_id, version = found.payment_id, found.version
    elif found is not None:
        order_no, version = order_no or found.order_no, found.version
    for attempt in range(2):  # a second try when someone stored fresher data meanwhile
        if attempt or version is None:
            version = _version(ops, payment_id)
        began = ops.now()
        try:
            res = ops.client.get_payment(payment_id)
        except PaidyError as exc:
            return log(from_paidy_error(Action.REFRESH, exc, order_no, payment_id))
        stored = store_read(
            ops, actor, payment_id, res, began, version=version, order_no=order_no, job_id=job_id
        )
        if stored is not None:
            return stored
    return log(result_for(Action.REFRESH, Outcome.SKIPPED, "in_progress", order_no, payment_id))


def _version(ops: Ops, payment_id: str) -> int | None:
    with ops.db.session() as s:
        return s.scalar(select(PaidyPayment.version).where(PaidyPayment.payment_id == payment_id))


def store_read(
    ops: Ops,
    actor: Actor,
    payment_id: str,
    res: PaidyResult,
    began: datetime,
    *,
    version: int | None = None,
    order_no: int | None = None,
    job_id: int | None = None,
) -> ActionResult | None:
    """Store one read of Paidy's record that began at ``began`` (our clock), in one
    transaction, and settle from it. None: someone stored a newer record since ``version``
    was read (read again)."""
    now = ops.now()
    with ops.db.session(immediate=True) as s:
        row = load_locked(s, payment_id)
        marker = s.get(InflightAction, payment_id)
        if marker is not None and as_utc(marker.started_at) > now - ops.lock_ttl:
            busy = result_for(Action.REFRESH, Outcome.SKIPPED, "in_progress", order_no, payment_id)
            return with_(busy, audit_id=audit.add_attempt(s, actor.name, busy, now, job_id=job_id))
        if version is not None and row.version != version:
            return None
        if is_stale(row, res.payment):
            stale = result_for(Action.REFRESH, Outcome.SKIPPED, "stale_read", order_no, payment_id)
            stale = with_(stale, request_id=res.request_id)
            return with_(
                stale, audit_id=audit.add_attempt(s, actor.name, stale, now, job_id=job_id)
            )
        if marker is not None:  # a dead process's marker: its call can no longer be in flight
            s.delete(marker)
        before = payment_facts(row).state(now)
        apply_payment(row, res.payment, now)
        after = payment_facts(row).state(now)
        late = find_late_landings(s, res.payment, now)
        settled = settle_entries(s, ops, res.payment, began, now)
        result = _refresh_result(before, after, order_no, payment_id)
        result = with_(
            result,
            request_id=res.request_id,
            state_after=after,
            details={
                "before": before.value,
                "after": after.value,
                "settled": settled,
                "late": late,
            },
        )
        if settled or late or before != after:
            row.last_result, row.last_result_at = result.message_ja, now
            row.last_result_msg = result.stored_msg()
        result = with_(
            result, audit_id=audit.add_attempt(s, actor.name, result, now, job_id=job_id)
        )
        finish_hooks.run(s, result)  # e.g. the batch item's row, in this transaction
        return result


def pending_of(ops: Ops, entry: AuditLog) -> Pending:
    """An unsettled entry as the verdict sees it. A lost answer's deadline was stored with
    it; a crash's (``intent``) is counted from the intent: the write went out within the
    client's slot bound, and may land up to the settle delay after that."""
    recorded = as_utc(entry.created_at)
    deadline = as_utc(entry.settle_after) or recorded + ops.send_bound + ops.settle_window
    return Pending(
        Action(entry.action),
        entry.intent_tag,
        recorded,
        deadline,
        (entry.detail or {}).get("new_amount"),
    )


def settle_entries(
    s, ops: Ops, payment: Payment, began: datetime, now: datetime
) -> list[tuple[str, str]]:
    """Judge every unsettled entry of the payment from this read; [(action, verdict)]."""
    out = []
    entries = audit.unsettled_entries(s, payment.id)
    reliable = flags.tags_reliable(ops.db) if entries else True
    for entry in entries:
        finding = judge(pending_of(ops, entry), payment, began, tags_reliable=reliable)
        if finding.definite:
            if finding.verdict is Verdict.DONE and entry.action == Action.CLOSE.value:
                _cancel_order(s, entry.order_id, now)
            audit.mark_settled(
                s,
                entry,
                finding.verdict is Verdict.DONE,
                now,
                reason=finding.reason,
                paidy_ids=list(finding.entries),
                amount=finding.amount,
            )
        elif finding.verdict is Verdict.PERSON:
            audit.mark_needs_person(s, entry, finding.reason, now)
        out.append((entry.action, finding.verdict.value))
    return out


def _cancel_order(s, order_id: int | None, now: datetime) -> None:
    """A close found done later follows the same cancel rule as one answered at once."""
    status = cancellation.status_after(Action.CLOSE, None, PaymentState.CLOSED)
    if order_id is not None and status is not None:
        s.execute(
            update(Order)
            .where(Order.id == order_id, Order.status != status)
            .values(status=status, updated_at=now, version=Order.version + 1)
        )


def find_late_landings(s, payment: Payment, now: datetime) -> list[int]:
    """Match every tagged capture/refund in Paidy's record with the audit entry that sent
    it. An entry that said "not done" (or failed) is corrected as a late landing; a tag
    found on more than one entry is a duplicate. Both are flagged for a person. Returns the
    ids of the corrected entries."""
    by_tag: dict[str, list[str]] = {}
    written: list[Capture | Refund] = [*payment.captures, *payment.refunds]
    for e in written:
        if e.intent:
            by_tag.setdefault(e.intent, []).append(e.id)
    if not by_tag:
        return []
    entries = s.scalars(
        select(AuditLog).where(
            AuditLog.intent_tag.in_(list(by_tag)), AuditLog.payment_id == payment.id
        )
    )
    corrected = []
    for entry in entries:
        ids = by_tag[entry.intent_tag]
        if entry.outcome in audit.UNSETTLED:
            continue  # judged by settle_entries
        if not audit.was_applied(entry):
            audit.correct_late(s, entry, ids, now)
            corrected.append(entry.id)
        elif len(ids) > 1 and not (entry.detail or {}).get("duplicate"):
            audit.flag_duplicate(s, entry, ids, now)
            corrected.append(entry.id)
    return corrected


def due_payments(ops: Ops, limit: int = 200) -> list[str]:
    """Payments with an unsettled write that no person is deciding, and either past its
    deadline (a read now is definite) or, for a lost answer (``unknown``), not read for
    ``ops.recheck_unknown`` (a write that landed late is found by its tag before the
    deadline). Never a payment whose in-flight marker is live: its call may still be under
    way (an ``intent`` is one until then), and a read would only cost a Paidy call under the
    cap and a ``refresh`` row in the audit log while settling nothing (store_read refuses)."""
    now = ops.now()
    crash_cutoff = now - ops.send_bound - ops.settle_window
    stale_read = now - ops.recheck_unknown
    in_flight = select(InflightAction.payment_id).where(
        InflightAction.payment_id == AuditLog.payment_id,
        InflightAction.started_at > now - ops.lock_ttl,
    )
    with ops.db.session() as s:
        return list(
            s.scalars(
                select(AuditLog.payment_id)
                .join(PaidyPayment, PaidyPayment.payment_id == AuditLog.payment_id)
                .where(
                    AuditLog.outcome.in_(audit.UNSETTLED),
                    AuditLog.needs_review.is_(False),
                    ~in_flight.exists(),
                    or_(
                        AuditLog.settle_after <= now,
                        (AuditLog.settle_after.is_(None)) & (AuditLog.created_at <= crash_cutoff),
                        (AuditLog.outcome == AuditOutcome.UNKNOWN)
                        & (PaidyPayment.last_synced_at < stale_read),
                    ),
                )
                .distinct()
                .limit(limit)
            )
        )


def settle_due(ops: Ops) -> list[ActionResult]:
    """The workers' timer: re-read the payments of unsettled writes (see due_payments)."""
    return [refresh_payment(ops, SYSTEM, payment_id=pid) for pid in due_payments(ops)]


def _refresh_result(before, after, order_no, payment_id) -> ActionResult:
    if before == after:
        return result_for(Action.REFRESH, Outcome.OK, "unchanged", order_no, payment_id)
    return result_for(
        Action.REFRESH,
        Outcome.OK,
        "state_changed",
        order_no,
        payment_id,
        before=label_ref("state", before),
        after=label_ref("state", after),
    )
