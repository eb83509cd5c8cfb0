"""Running claimed items: each through the same service layer as a single action, its
definite result stored (in the action's finish transaction when it gets that far); a
worker loop, and a whole job run in this process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from core.domain.states import Action
from core.domain.statuses import ItemStatus
from core.logsetup import log_exception
from core.operations import finish_hooks, payments
from core.operations.batch.actions import ALREADY_DONE, BatchAction, is_done
from core.operations.batch.jobs import claim_next, finish_done_jobs, maybe_finish
from core.operations.context import Ops
from core.operations.results import ActionResult, Outcome, result_for, with_
from core.roles import Actor
from core.storage.models import BatchItem, BatchJob

log = logging.getLogger(__name__)
#: called with each item and its result as soon as it is known (before it is stored)
Report = Callable[[BatchItem, ActionResult], None]


def run_item(ops: Ops, item: BatchItem, report: Report | None = None) -> ActionResult:
    """Run one claimed item through the service layer and store its definite result: in
    the action's own finish transaction when it gets that far (finish_hooks), else here.
    ``report`` hears the result first, so a caller still knows it if the database is gone."""
    action, actor = BatchAction(item.job.action), _job_actor(item.job)
    written = [False]
    try:
        result = _dispatch(ops, actor, action, item, written, report)
    except DBAPIError:
        # The database went away mid-action: the call may have gone out. Unknown, never
        # "failed"; the intent (if written) blocks the payment until a refresh settles it.
        ref = log_exception(log, "batch item %s (order %s): database error", item.id, item.order_no)
        result = _internal(action, item, Outcome.UNKNOWN, "db_unavailable", ref)
        written[0] = False
    except Exception:  # one failing row never stops the others
        ref = log_exception(log, "batch item %s (order %s) failed", item.id, item.order_no)
        result = _internal(action, item, Outcome.FAILED, "internal_error", ref)
        written[0] = False
    if not written[0]:
        if report is not None:
            report(item, result)
        with ops.db.session(immediate=True) as s:
            _store_result(s, ops, item, result)
    return result


def _store_result(s, ops: Ops, item: BatchItem, result: ActionResult) -> None:
    status = (
        ItemStatus.OK if is_done(result) and result.outcome is Outcome.OK else result.outcome.value
    )
    s.execute(
        update(BatchItem)
        .where(BatchItem.id == item.id)
        .values(
            status=status,
            message=result.message_ja,
            audit_id=result.audit_id,
            finished_at=ops.now(),
            payment_id=result.payment_id or item.payment_id,
            result_code=result.code,
            message_en=result.message_en,
            msg=result.stored_msg(),
        )
    )
    maybe_finish(s, item.job_id, ops.now())


def _internal(action: BatchAction, item: BatchItem, outcome: Outcome, code: str, ref: str):
    return with_(
        result_for(Action(action.value), outcome, code, item.order_no, item.payment_id, ref=ref),
        details={"ref": ref},
    )


def _dispatch(
    ops: Ops,
    actor: Actor,
    action: BatchAction,
    item: BatchItem,
    written: list[bool],
    report: Report | None = None,
) -> ActionResult:
    """Run the item's action; its row is written in the action's finish transaction when it
    gets there (then ``written[0]`` is True), with what :func:`_final` makes of the result."""

    def store(s, result: ActionResult) -> None:
        final = _final(item, result)
        if report is not None:
            report(item, final)
        _store_result(s, ops, item, final)

    if action is BatchAction.REFRESH:
        with finish_hooks.attach(store) as ran:
            result = payments.refresh(ops, actor, item.order_no, job_id=item.job_id)
        written[0] = ran[0]
        return result
    if item.resumed and item.payment_id:  # crashed mid-call: settle from Paidy's record first
        payments.refresh(ops, actor, item.order_no, job_id=item.job_id)  # (no row written)
    no = cast(int, item.order_no)  # every item of a job has its order number (create_job)
    seen: dict[str, Any] = {"job_id": item.job_id, "expected_version": item.confirmed_version}
    run = {
        BatchAction.CAPTURE: lambda: payments.capture(ops, actor, no, **seen),
        BatchAction.CLOSE: lambda: payments.close(ops, actor, no, **seen),
        BatchAction.REFUND_FULL: lambda: payments.refund(ops, actor, no, None, **seen),
    }[action]
    with finish_hooks.attach(store) as ran:
        result = run()
    written[0] = ran[0]
    return _final(item, result)


def _final(item: BatchItem, result: ActionResult) -> ActionResult:
    if item.resumed and result.code in ALREADY_DONE[result.action]:
        # the crashed worker's call went through: this row is done, not skipped
        return result_for(result.action, Outcome.OK, "settled_done", item.order_no, item.payment_id)
    return result


def _job_actor(job: BatchJob) -> Actor:
    from core.roles import Role

    options = job.options or {}
    return Actor(
        job.created_by,
        Role(options.get("actor_role", "operator")),
        account=bool(options.get("actor_account", False)),
    )


def work(
    ops: Ops,
    worker: str,
    job_id: int | None = None,
    stop: threading.Event | None = None,
    report: Report | None = None,
) -> int:
    """Claim and run items until none are left (or ``stop``: the item in hand is finished
    first); returns how many ran."""
    ran = 0
    while not (stop and stop.is_set()):
        item = claim_next(ops, worker, job_id)
        if item is None:
            finish_done_jobs(ops, job_id)
            return ran
        run_item(ops, item, report)
        ran += 1
    return ran


@dataclass
class JobRun:
    """What a job run in this process came to, kept in memory: the per-order summary
    survives a database that goes away mid-batch."""

    results: dict[int, ActionResult]
    error_ref: str | None = None  # a worker thread stopped on an error (logged with this)


def run_job(ops: Ops, job_id: int, concurrency: int | None = None) -> JobRun:
    """Run a job to the end in this process (CLI, tests). Paidy calls stay bounded by the
    client's in-flight limit (``ops.concurrency``); ``concurrency`` sizes the worker threads
    (default ``ops.workers``)."""
    n = max(1, concurrency or ops.workers)
    run = JobRun({})
    lock = threading.Lock()

    def report(item: BatchItem, result: ActionResult) -> None:
        with lock:
            run.results[cast(int, item.order_no)] = result

    def worker(i: int) -> None:
        try:
            work(ops, f"local-{job_id}-{i}", job_id, report=report)
        except Exception:
            run.error_ref = log_exception(log, "job %s: worker %s stopped", job_id, i)

    with ThreadPoolExecutor(n, thread_name_prefix=f"job{job_id}") as pool:
        for f in [pool.submit(worker, i) for i in range(n)]:
            f.result()
    return run
