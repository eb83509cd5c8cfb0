"""What happened to a payment before its last write (stale reads), and writes that reach
"Paidy" after the client gave up (late writes)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .api import payment_api
from .replies import Reply, Request, guarded

if TYPE_CHECKING:
    from .state import Sandbox


class History:
    """Each payment as it was before its last write (what a stale_read answers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._before: dict[str, dict] = {}

    def remember(self, payment: dict) -> None:
        with self._lock:
            self._before[payment["id"]] = payment

    def before(self, payment_id: str) -> dict | None:
        with self._lock:
            return self._before.get(payment_id)

    def clear(self) -> None:
        with self._lock:
            self._before.clear()


class LateWrites:
    """Writes whose request "reached Paidy" after the client gave up (apply_late): applied
    on a timer, or all at once by POST /_sandbox/late (deterministic tests)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[threading.Timer, Request]] = {}
        self._n = 0

    def schedule(self, request: Request, after_s: float) -> None:
        with self._lock:
            self._n += 1
            key = self._n
            timer = threading.Timer(after_s, self._apply, args=(key,))
            timer.daemon = True
            self._pending[key] = (timer, request)
        timer.start()

    def _apply(self, key: int) -> Reply | None:
        with self._lock:
            entry = self._pending.pop(key, None)
        if entry is None or self._sandbox.stopping.is_set():
            return None
        reply = guarded(self._sandbox, lambda: payment_api(self._sandbox, entry[1]))
        if reply.status == 200:
            self._sandbox.stats.applied("late_applied")
        return reply

    def flush(self) -> list[int]:
        """Apply every pending late write now; their HTTP statuses."""
        with self._lock:
            keys = sorted(self._pending)
            for key in keys:
                self._pending[key][0].cancel()
        return [r.status for k in keys if (r := self._apply(k)) is not None]

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def cancel_all(self) -> None:
        with self._lock:
            for timer, _ in self._pending.values():
                timer.cancel()
            self._pending.clear()
