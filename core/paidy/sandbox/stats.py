"""What the sandbox counts: requests per route, writes applied, faults injected, and the
payment API requests in flight."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

APPLIED_COUNTERS = ("captures_applied", "refunds_applied", "closes_applied", "updates_applied")


class Stats:
    """Request and outcome counters, so tests can prove how often money moved, and a gauge
    of payment API requests in flight (``max_in_flight``: the most at once since the last
    reset), so tests can prove a concurrency cap held across processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._routes: Counter[str] = Counter()
            self._applied: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._in_flight = 0
            self._max_in_flight = 0

    def reset_gauge(self) -> None:
        """Start the high-water mark again from the requests in flight now."""
        with self._lock:
            self._max_in_flight = self._in_flight

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count one payment API request from its arrival until its reply is ready (not
        written: see ``Handler.serve``), so a count above a cap is a real overlap."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def request(self, route: str) -> None:
        with self._lock:
            self._routes[route] += 1

    def applied(self, counter: str) -> None:
        with self._lock:
            self._applied[counter] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests": sum(self._routes.values()),
                "by_route": dict(self._routes),
                **{name: self._applied[name] for name in APPLIED_COUNTERS},
                "late_applied": self._applied["late_applied"],
                "screen_actions": self._applied["screen_actions"],
                "faults_injected": dict(self._faults),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
            }
