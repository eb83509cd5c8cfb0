"""The service context every operation takes: database, Paidy client, clock, concurrency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.operations.locks import DEFAULT_LOCK_TTL
from core.paidy.port import PaidyPort
from core.storage.db import Database
from core.timeutil import utcnow


def default_settle_delay(timeout_s: float) -> timedelta:
    """PAIDY_SETTLE_DELAY_S's default: the request timeout + 30 s."""
    return timedelta(seconds=timeout_s + 30)


@dataclass
class Ops:
    db: Database
    client: PaidyPort  # PaidyClient; an in-memory fake in the service tests
    clock: Callable[[], datetime] = utcnow
    concurrency: int = 4
    #: Paidy calls in flight across every process sharing a PostgreSQL database (None: the
    #: same as ``concurrency``); ignored on SQLite (see core.operations.slots)
    cluster_cap: int | None = None
    #: a stored snapshot older than this is re-read from Paidy before an action is guarded
    fresh_for: timedelta = field(default=timedelta(minutes=5))
    #: an in-flight marker older than this belongs to a crashed process and may be taken over
    lock_ttl: timedelta = field(default=DEFAULT_LOCK_TTL)
    #: how long after a lost answer a request may still reach Paidy: before that, a read that
    #: shows no trace of the write proves nothing (None: the request timeout + 30 s)
    settle_delay: timedelta | None = None
    #: an unsettled write's payment is re-read at least this often before its deadline, so
    #: one that landed late is found by its tag without waiting for the deadline
    recheck_unknown: timedelta = field(default=timedelta(seconds=10))

    def __post_init__(self) -> None:
        if not self.client.limited:
            from core.operations.slots import slots_for

            wait = self.client.timeout[1]
            self.client.use_slots(slots_for(self.db, self.concurrency, self.cluster_cap, wait))
        if self.settle_delay is None:
            self.settle_delay = default_settle_delay(self.client.timeout[1])

    @property
    def settle_window(self) -> timedelta:
        """``settle_delay`` as set, or its default (what ``__post_init__`` fills in)."""
        if self.settle_delay is not None:
            return self.settle_delay
        return default_settle_delay(self.client.timeout[1])

    @property
    def stale_intent_age(self) -> timedelta:
        """An ``intent`` older than this is a crash, not an action in flight."""
        from core.operations.locks import stale_intent_age

        return stale_intent_age(self.lock_ttl)

    @property
    def send_bound(self) -> timedelta:
        """The longest a write can wait for a slot before it is sent (the client's bound)."""
        return timedelta(seconds=self.client.timeout[1])

    @property
    def workers(self) -> int:
        """Worker threads for batches: more than the Paidy slots, so database work between
        calls never leaves a slot idle (calls stay bounded by ``concurrency``)."""
        return self.concurrency * 2

    def now(self) -> datetime:
        return self.clock()
