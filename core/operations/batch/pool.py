"""The in-process worker pool (app server, ``python -m core worker``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from core.logsetup import log_exception
from core.operations.batch.jobs import recover_stale
from core.operations.batch.run import work
from core.operations.context import Ops

log = logging.getLogger(__name__)
HOUSEKEEPING = "-housekeeping"


class WorkerPool:
    """Worker threads that poll for pending items (``ops.workers`` of them), plus one
    housekeeping thread that, every ``maintenance_s``, takes back a dead worker's items
    (``recover_stale``), settles lost answers that are past their deadline
    (``settle_due``) and folds the name gram counts (``fold_counts``). One pool
    per app server or ``python -m core worker`` process; any live pool rescues the items
    of a dead one. ``stop`` lets each thread finish its item.

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
        from core.search.gram_counts import fold_counts

        try:
            if recover_stale(self.ops):
                self.wake()
            settle_due(self.ops)
            fold_counts(self.ops.db)
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
