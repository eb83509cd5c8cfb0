"""Batch actions (Paidy決済状況管理): preview, a job stored in the database, workers.

A job is a ``batch_jobs`` row plus one ``batch_items`` row per order. Workers claim pending
items one at a time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; a guarded UPDATE on SQLite),
run each through the same service layer as a single action, and write a definite result on
the item. Progress is read from the database, so a reload or a closed tab loses nothing;
items left ``running`` by a crashed worker are settled (refresh) and resumed, never resent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.attributes import set_committed_value

from core.auth.current import authorize
from core.domain import cancellation, errors
from core.domain.money import refundable
from core.domain.states import Action, refusal
from core.logsetup import log_exception
from core.messages import shown
from core.operations import finish_hooks, payments
from core.operations.context import Ops
from core.operations.results import ActionResult, Outcome, render, result_for, with_
from core.operations.snapshots import payment_facts
from core.roles import Actor, Permission
from core.storage.models import AuditLog, BatchItem, BatchJob, Order, PaidyPayment
from core.timeutil import as_utc

log = logging.getLogger(__name__)
#: called with each item and its result as soon as it is known (before it is stored)
Report = Callable[[BatchItem, ActionResult], None]


class BatchAction(StrEnum):
    """The guide's pull-down: 状態確認(ステータス) / クローズ / 売上確定 / 払い戻し(全額)."""

    REFRESH = "refresh"
    CLOSE = "close"
    CAPTURE = "capture"
    REFUND_FULL = "refund"


BATCH_LABELS = {
    BatchAction.REFRESH: ("状態確認(ステータス)", "Refresh status"),
    BatchAction.CLOSE: ("クローズ(キャンセル)", "Close (cancel)"),
    BatchAction.CAPTURE: ("売上確定(キャプチャー)", "Capture"),
    BatchAction.REFUND_FULL: ("払い戻し(リファンド・全額)", "Refund (full)"),
}

#: A skip that means "already in the asked state": counted as done, not as a failure.
ALREADY_DONE = {
    Action.CAPTURE: {"already_captured"},
    Action.CLOSE: {"already_closed"},
    Action.REFUND: {"nothing_to_refund"},
    Action.UPDATE: {"no_change"},
    Action.REFRESH: set(),
}


def is_done(result: ActionResult) -> bool:
    return result.outcome is Outcome.OK or result.code in ALREADY_DONE[result.action]


# --- preview ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PreviewRow:
    order_no: int
    payment_id: str | None
    customer_name: str
    state: str
    amount: int | None
    will_run: bool
    reason_ja: str
    reason_en: str
    #: what else the action does, said before it runs (e.g. the cancel rule's 対応状況 change)
    note_ja: str = ""
    note_en: str = ""
    #: our payment row's version at preview time: the job runs only if it is unchanged
    version: int | None = None
    cancels_order: bool = False


def preview(
    ops: Ops, actor: Actor, action: BatchAction | str, order_nos: list[int]
) -> list[PreviewRow]:
    """Which rows will run and which are skipped and why, from our snapshots (sends nothing)."""
    authorize(ops.db, actor, Permission.ACT)
    action = BatchAction(action)
    now = ops.now()
    rows: list[PreviewRow] = []
    with ops.db.session() as s:
        found = {
            o.order_no: (o, p)
            for o, p in s.execute(
                select(Order, PaidyPayment)
                .outerjoin(PaidyPayment, PaidyPayment.order_id == Order.id)
                .where(Order.order_no.in_(list(order_nos)))
            )
        }
        blocked = set(
            s.scalars(
                select(AuditLog.payment_id).where(
                    AuditLog.outcome.in_(("intent", "unknown")),
                    AuditLog.payment_id.in_(
                        [p.payment_id for _, p in found.values() if p is not None]
                    ),
                )
            )
        )
        for no in order_nos:
            order, pay = found.get(no, (None, None))
            rows.append(_preview_row(action, no, order, pay, blocked, now))
    return rows


def _preview_row(action, no, order, pay, blocked, now) -> PreviewRow:
    if order is None or pay is None:
        code = "no_order" if order is None else "no_payment"
        return PreviewRow(
            no,
            None,
            order.customer_name if order else "",
            "",
            None,
            False,
            render(code, "ja", order_no=no),
            render(code, "en", order_no=no),
        )
    facts = payment_facts(pay)
    state = facts.state(now)
    name = order.customer_name or ""
    if pay.payment_id in blocked:
        return PreviewRow(
            no,
            pay.payment_id,
            name,
            state.value,
            None,
            False,
            render("unsettled", "ja"),
            render("unsettled", "en"),
        )
    exc = refusal(state, Action(action.value), facts.status)
    amount = {
        BatchAction.CAPTURE: facts.amount,
        BatchAction.CLOSE: facts.amount,  # the authorization released
        BatchAction.REFUND_FULL: refundable(facts.captured, facts.refunded),
    }.get(action)
    if exc is None:
        exc = cancellation.order_refusal(Action(action.value), order.status, no)
    if exc is None and action is BatchAction.CAPTURE and int(order.total) != facts.amount:
        exc = errors.TotalMismatch(order_total=int(order.total), paidy_amount=facts.amount)
    if exc is not None:
        return PreviewRow(
            no,
            pay.payment_id,
            name,
            state.value,
            amount,
            False,
            exc.message("ja"),
            exc.message("en"),
        )
    cancels = cancellation.cancels_order(Action(action.value), order.status)
    return PreviewRow(
        no,
        pay.payment_id,
        name,
        state.value,
        amount,
        True,
        "",
        "",
        "対応状況を「キャンセル」に変更します" if cancels else "",
        "Order status will be set to Cancelled" if cancels else "",
        facts.version,
        cancels,
    )


# --- jobs ------------------------------------------------------------------------------------
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
            status="queued",
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
                status="pending",
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
    pick = select(BatchItem.id).where(BatchItem.status == "pending")
    if job_id is not None:
        pick = pick.where(BatchItem.job_id == job_id)
    pick = pick.order_by(BatchItem.id).limit(1)
    if ops.db.dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    claim = (
        update(BatchItem)
        .where(BatchItem.id == pick.scalar_subquery(), BatchItem.status == "pending")
        .values(status="running", worker=worker, claimed_at=now)
        .returning(BatchItem)
        .execution_options(synchronize_session=False)
    )
    with ops.db.session(immediate=True) as s:
        item = s.scalars(claim).first()
        if item is None:
            return None
        job = s.get(BatchJob, item.job_id)
        if job.status == "queued":
            s.execute(
                update(BatchJob)
                .where(BatchJob.id == item.job_id, BatchJob.status == "queued")
                .values(status="running")
            )
        s.expunge(item)  # the item and its job travel to the worker thread
        s.expunge(job)
    set_committed_value(item, "job", job)
    return item


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
    status = "ok" if is_done(result) and result.outcome is Outcome.OK else result.outcome.value
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
    _maybe_finish(s, item.job_id, ops.now())


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
    seen = {"job_id": item.job_id, "expected_version": item.confirmed_version}
    run = {
        BatchAction.CAPTURE: lambda: payments.capture(ops, actor, item.order_no, **seen),
        BatchAction.CLOSE: lambda: payments.close(ops, actor, item.order_no, **seen),
        BatchAction.REFUND_FULL: lambda: payments.refund(ops, actor, item.order_no, None, **seen),
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


def _maybe_finish(s, job_id: int, now: datetime) -> None:
    """Mark the job done once no item is pending or running (one statement)."""
    open_items = select(BatchItem.id).where(
        BatchItem.job_id == job_id, BatchItem.status.in_(("pending", "running"))
    )
    s.execute(
        update(BatchJob)
        .where(BatchJob.id == job_id, BatchJob.status != "done", ~open_items.exists())
        .values(status="done", finished_at=now)
    )


def finish_done_jobs(ops: Ops, job_id: int | None = None) -> int:
    """Mark done every job (or ``job_id``) with nothing pending or running left. Each item's
    finish transaction does this for its job, but two items finishing at the same moment
    on PostgreSQL each still see the other running; a worker that finds nothing to claim
    settles it here, once both have committed."""
    open_items = select(BatchItem.id).where(
        BatchItem.job_id == BatchJob.id, BatchItem.status.in_(("pending", "running"))
    )
    q = update(BatchJob).where(BatchJob.status != "done", ~open_items.exists())
    if job_id is not None:
        q = q.where(BatchJob.id == job_id)
    with ops.db.session() as s:
        return s.execute(q.values(status="done", finished_at=ops.now())).rowcount


def recover_stale(ops: Ops) -> int:
    """Items left ``running`` by a dead worker go back to pending, marked resumed."""
    cutoff = ops.now() - ops.lock_ttl
    with ops.db.session() as s:
        return s.execute(
            update(BatchItem)
            .where(BatchItem.status == "running", BatchItem.claimed_at < cutoff)
            .values(status="pending", resumed=True, worker=None)
        ).rowcount


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
            run.results[item.order_no] = result

    def worker(i: int) -> None:
        try:
            work(ops, f"local-{job_id}-{i}", job_id, report=report)
        except Exception:
            run.error_ref = log_exception(log, "job %s: worker %s stopped", job_id, i)

    with ThreadPoolExecutor(n, thread_name_prefix=f"job{job_id}") as pool:
        for f in [pool.submit(worker, i) for i in range(n)]:
            f.result()
    return run


# --- progress (read from the database) ------------------------------------------------------
@dataclass(frozen=True)
class JobProgress:
    job_id: int
    action: str
    status: str
    total: int
    counts: dict[str, int]
    created_by: str
    created_at: datetime | None
    confirmed_amount: int | None = None  # the yen total the operator confirmed (screen jobs)

    @property
    def finished(self) -> int:
        return sum(v for k, v in self.counts.items() if k not in ("pending", "running"))

    @property
    def done(self) -> bool:
        return self.status == "done" or self.finished >= self.total


def progress(ops: Ops, job_id: int) -> JobProgress:
    with ops.db.session() as s:
        job = s.get(BatchJob, job_id)
        counts = dict(
            s.execute(
                select(BatchItem.status, func.count())
                .where(BatchItem.job_id == job_id)
                .group_by(BatchItem.status)
            ).all()
        )
        return JobProgress(
            job.id,
            job.action,
            job.status,
            job.total,
            counts,
            job.created_by,
            as_utc(job.created_at),
            job.confirmed_amount,
        )


def items_frame(ops: Ops, job_id: int, lang: str = "ja") -> pd.DataFrame:
    with ops.db.session() as s:
        rows = s.execute(
            select(
                BatchItem.position,
                BatchItem.order_no,
                BatchItem.payment_id,
                BatchItem.status,
                BatchItem.result_code,
                BatchItem.message,
                BatchItem.message_en,
                BatchItem.finished_at,
                BatchItem.msg,
            )
            .where(BatchItem.job_id == job_id)
            .order_by(BatchItem.position)
        ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "position",
            "order_no",
            "payment_id",
            "status",
            "result_code",
            "message_ja",
            "message_en",
            "finished_at",
            "msg",
        ],
    )
    frame["message"] = [
        shown(m, lang, ja=ja, en=en)
        for m, ja, en in zip(frame["msg"], frame["message_ja"], frame["message_en"], strict=True)
    ]
    return frame.drop(columns=["message_ja", "message_en", "msg"])


def recent_jobs(ops: Ops, limit: int = 20) -> list[JobProgress]:
    with ops.db.session() as s:
        ids = list(s.scalars(select(BatchJob.id).order_by(BatchJob.id.desc()).limit(limit)))
    return [progress(ops, i) for i in ids]


# --- the in-process worker pool (app server) -------------------------------------------------
HOUSEKEEPING = "-housekeeping"


class WorkerPool:
    """Worker threads that poll for pending items (``ops.workers`` of them), plus one
    housekeeping thread that, every ``maintenance_s``, takes back a dead worker's items
    (``recover_stale``) and settles lost answers that are past their deadline
    (``settle_due``). One pool per app server or ``python -m core worker`` process; any live
    pool rescues the items of a dead one. ``stop`` lets each thread finish its item.

    A failure of a thread's round is logged with a reference and the thread carries on;
    ``on_error(thread, ref)`` tells whoever watches (the worker command prints one line)."""

    def __init__(
        self,
        ops: Ops,
        name: str = "app",
        poll_s: float = 0.5,
        maintenance_s: float = 5.0,
        on_error: Callable[[str, str], object] | None = None,
    ) -> None:
        self.ops, self.name, self.poll_s, self.maintenance_s = ops, name, poll_s, maintenance_s
        self.on_error = on_error
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors = 0
        self.last_error_ref: str | None = None

    def start(self) -> WorkerPool:
        try:
            recover_stale(self.ops)
        except Exception:
            log_exception(log, "recovering stale items at the start of %s", self.name)
        for i in range(self.ops.workers):
            self._spawn(self._loop, f"{self.name}-{i}")
        self._spawn(self._maintain, f"{self.name}{HOUSEKEEPING}")
        return self

    def _spawn(self, target, name: str) -> None:
        t = threading.Thread(target=target, args=(name,), name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def wake(self) -> None:
        self._wake.set()

    def alive(self) -> int:
        """How many worker threads are running (GET /healthz); the housekeeping thread
        counts only while it is alive too (a dead one makes the pool unhealthy)."""
        workers = [t for t in self._threads if not t.name.endswith(HOUSEKEEPING)]
        keeper = [t for t in self._threads if t.name.endswith(HOUSEKEEPING)]
        if keeper and not all(t.is_alive() for t in keeper):
            return 0
        return sum(t.is_alive() for t in workers)

    def stop(self, timeout: float | None = None) -> bool:
        """Stop claiming; wait (up to ``timeout``, default the request timeout + 5 s) for the
        items in hand. True when every thread finished."""
        self._stop.set()
        self._wake.set()
        limit = self.ops.client.timeout[1] + 5 if timeout is None else timeout
        for t in self._threads:
            t.join(limit)
        return not any(t.is_alive() for t in self._threads)

    def _loop(self, worker: str) -> None:
        while not self._stop.is_set():
            try:
                work(self.ops, worker, stop=self._stop)
            except Exception:  # keep the worker alive; the item's own errors are recorded
                self._failed(worker, log_exception(log, "worker %s", worker))
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _maintain(self, name: str) -> None:
        while not self._stop.wait(self.maintenance_s):
            self._housekeeping()

    def _housekeeping(self) -> None:
        from core.operations.settle import settle_due

        try:
            if recover_stale(self.ops):
                self.wake()
            settle_due(self.ops)
        except Exception:
            name = f"{self.name}{HOUSEKEEPING}"
            self._failed(name, log_exception(log, "housekeeping of %s", self.name))

    def _failed(self, thread: str, ref: str) -> None:
        self.errors += 1
        self.last_error_ref = ref
        if self.on_error is not None:
            try:
                self.on_error(thread, ref)
            except Exception:  # a broken watcher must not stop the worker
                log_exception(log, "reporting %s of %s", ref, thread)
