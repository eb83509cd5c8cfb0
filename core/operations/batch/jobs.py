"""Jobs and their items as rows: create a job, claim an item (one statement), mark jobs
done, take back a dead worker's items."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm.attributes import set_committed_value

from core.auth.current import authorize
from core.domain import errors
from core.domain.statuses import OPEN_ITEMS, ItemStatus, JobStatus
from core.operations.batch.actions import BatchAction
from core.operations.batch.preview import PreviewRow
from core.operations.context import Ops
from core.roles import Actor, Permission
from core.storage.models import BatchItem, BatchJob, Order, PaidyPayment


def create_job(
    ops: Ops,
    actor: Actor,
    action: BatchAction | str,
    order_nos: list[int],
    *,
    confirmed: list[PreviewRow] | None = None,
) -> int:
    """Store a job with one pending item per order (in the given order); workers run it.

    ``confirmed``: the preview rows the operator confirmed (the screen). The job then holds
    exactly those orders, each item keeps the amount and payment version that were shown
    (an item whose payment changed since is skipped as "changed", not run), and the job
    keeps the confirmed total in yen. Each item re-checks the creator's role and active flag
    when it runs (run_action)."""
    actor = authorize(ops.db, actor, Permission.ACT)
    action = BatchAction(action)
    shown = {r.order_no: r for r in confirmed or []}
    if confirmed is not None:
        order_nos = [r.order_no for r in confirmed if r.will_run]
    if not order_nos:
        raise errors.RuleViolation()
    now = ops.now()
    with ops.db.session() as s:
        job = BatchJob(
            action=action.value,
            created_by=actor.name,
            created_at=now,
            status=JobStatus.QUEUED,
            total=len(order_nos),
            options={"actor_role": actor.role.value, "actor_account": actor.account},
            confirmed_amount=(
                sum(r.amount or 0 for r in shown.values() if r.will_run)
                if confirmed is not None
                else None
            ),
        )
        s.add(job)
        s.flush()
        pay_ids = dict(
            s.execute(
                select(Order.order_no, PaidyPayment.payment_id)
                .join(PaidyPayment, PaidyPayment.order_id == Order.id)
                .where(Order.order_no.in_(list(order_nos)))
            ).all()
        )
        s.add_all(
            BatchItem(
                job_id=job.id,
                position=i,
                order_no=no,
                payment_id=pay_ids.get(no),
                status=ItemStatus.PENDING,
                confirmed_amount=shown[no].amount if no in shown else None,
                confirmed_version=shown[no].version if no in shown else None,
            )
            for i, no in enumerate(dict.fromkeys(order_nos))
        )
        job.total = len(dict.fromkeys(order_nos))
        return job.id


def claim_next(ops: Ops, worker: str, job_id: int | None = None) -> BatchItem | None:
    """Take one pending item for this worker, in one statement (``UPDATE ... WHERE id =
    (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``) plus its job's row; never the same item
    twice."""
    now = ops.now()
    pick = select(BatchItem.id).where(BatchItem.status == ItemStatus.PENDING)
    if job_id is not None:
        pick = pick.where(BatchItem.job_id == job_id)
    pick = pick.order_by(BatchItem.id).limit(1)
    if ops.db.dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    claim = (
        update(BatchItem)
        .where(BatchItem.id == pick.scalar_subquery(), BatchItem.status == ItemStatus.PENDING)
        .values(status=ItemStatus.RUNNING, worker=worker, claimed_at=now)
        .returning(BatchItem)
        .execution_options(synchronize_session=False)
    )
    with ops.db.session(immediate=True) as s:
        item = s.scalars(claim).first()
        if item is None:
            return None
        job = cast(BatchJob, s.get(BatchJob, item.job_id))
        if job.status == JobStatus.QUEUED:
            s.execute(
                update(BatchJob)
                .where(BatchJob.id == item.job_id, BatchJob.status == JobStatus.QUEUED)
                .values(status=JobStatus.RUNNING)
            )
        s.expunge(item)  # the item and its job travel to the worker thread
        s.expunge(job)
    set_committed_value(item, "job", job)
    return item


def maybe_finish(s, job_id: int, now: datetime) -> None:
    """Mark the job done once no item is pending or running (one statement)."""
    open_items = select(BatchItem.id).where(
        BatchItem.job_id == job_id, BatchItem.status.in_(OPEN_ITEMS)
    )
    s.execute(
        update(BatchJob)
        .where(BatchJob.id == job_id, BatchJob.status != JobStatus.DONE, ~open_items.exists())
        .values(status=JobStatus.DONE, finished_at=now)
    )


def finish_done_jobs(ops: Ops, job_id: int | None = None) -> int:
    """Mark done every job (or ``job_id``) with nothing pending or running left. Each item's
    finish transaction does this for its job, but two items finishing at the same moment
    on PostgreSQL each still see the other running; a worker that finds nothing to claim
    settles it here, once both have committed."""
    open_items = select(BatchItem.id).where(
        BatchItem.job_id == BatchJob.id, BatchItem.status.in_(OPEN_ITEMS)
    )
    q = update(BatchJob).where(BatchJob.status != JobStatus.DONE, ~open_items.exists())
    if job_id is not None:
        q = q.where(BatchJob.id == job_id)
    with ops.db.session() as s:
        done = s.execute(q.values(status=JobStatus.DONE, finished_at=ops.now()))
        return cast(CursorResult, done).rowcount


def recover_stale(ops: Ops) -> int:
    """Items left ``running`` by a dead worker go back to pending, marked resumed."""
    cutoff = ops.now() - ops.lock_ttl
    with ops.db.session() as s:
        taken = s.execute(
            update(BatchItem)
            .where(BatchItem.status == ItemStatus.RUNNING, BatchItem.claimed_at < cutoff)
            .values(status=ItemStatus.PENDING, resumed=True, worker=None)
        )
        return cast(CursorResult, taken).rowcount
