"""sync: 状態確認 for many payments at once, as one batch job (same path as the screen)."""

from __future__ import annotations

from sqlalchemy import select

from core.domain.statuses import UNSETTLED
from core.operations.batch import BatchAction, create_job, run_job
from core.operations.context import Ops
from core.roles import Actor
from core.storage.deleted import live_order
from core.storage.models import AuditLog, Order, PaidyPayment


def sync_order_nos(ops: Ops, open_only: bool = False) -> list[int]:
    """All orders with a payment, or only those still authorized (plus any unsettled);
    deleted orders are left out."""
    with ops.db.session() as s:
        q = (
            select(Order.order_no)
            .join(PaidyPayment, PaidyPayment.order_id == Order.id)
            .where(live_order())
        )
        if open_only:
            unsettled = select(AuditLog.payment_id).where(AuditLog.outcome.in_(UNSETTLED))
            q = q.where(
                (PaidyPayment.status == "authorized") | PaidyPayment.payment_id.in_(unsettled)
            )
        return list(s.scalars(q.order_by(Order.order_no)))


def sync(ops: Ops, actor: Actor, open_only: bool = False, run: bool = True) -> int | None:
    """Create (and by default run) a refresh job; returns its id, or None with nothing to do."""
    return sync_job(ops, actor, open_only, run)[0]


def sync_job(ops: Ops, actor: Actor, open_only: bool = False, run: bool = True):
    """(job id, its orders, the JobRun or None); (None, [], None) with nothing to do."""
    order_nos = sync_order_nos(ops, open_only)
    if not order_nos:
        return None, [], None
    job_id = create_job(ops, actor, BatchAction.REFRESH, order_nos)
    return job_id, order_nos, run_job(ops, job_id) if run else None
