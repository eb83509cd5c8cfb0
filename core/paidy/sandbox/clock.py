"""The sandbox clock: real UTC time, shifted by a settable offset, or frozen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache


def real_now() -> datetime:
    """The machine's current UTC time."""
    return datetime.now(UTC)


@lru_cache(maxsize=4096)
def iso(moment: datetime) -> str:
    """Paidy's timestamp format: UTC, milliseconds, `Z` (2018-02-05T12:58:10.381Z)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; a naive one is taken as UTC. Raises ValueError."""
    if not isinstance(text, str):
        raise ValueError(f"not a timestamp: {text!r}")
    return _parse(text)


@lru_cache(maxsize=4096)
def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class SandboxClock:
    """Sandbox time = real time + offset, or a frozen instant. Thread-safe."""

    def __init__(self, source: Callable[[], datetime] = real_now) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            return self._now()

    def _now(self) -> datetime:
        return self._frozen_at or self._source() + self._offset

    def _offset_now(self) -> timedelta:
        return self._offset if self._frozen_at is None else self._frozen_at - self._source()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def set(self, moment: datetime) -> None:
        """Jump to `moment`; time keeps flowing from there unless frozen."""
        with self._lock:
            self._offset = moment - self._source()
            if self._frozen_at is not None:
                self._frozen_at = moment

    def advance(self, seconds: float) -> None:
        with self._lock:
            step = timedelta(seconds=seconds)
            self._offset += step
            if self._frozen_at is not None:
                self._frozen_at += step

    def freeze(self, frozen: bool) -> None:
        """Stop time at the current sandbox instant, or let it flow again from there."""
        with self._lock:
            current = self._now()
            self._frozen_at = current if frozen else None
            self._offset = current - self._source()

    def reset(self) -> None:
        """Back to real time, not frozen."""
        with self._lock:
            self._offset = timedelta(0)
            self._frozen_at = None

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "now": iso(self._now()),
                "frozen": self._frozen_at is not None,
                "offset_seconds": round(self._offset_now().total_seconds(), 3),
            }
