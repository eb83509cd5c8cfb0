"""The service context every operation takes: database, Paidy client, clock, concurrency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.paidy.client import PaidyClient
from core.storage.db import Database
from core.timeutil import utcnow


@dataclass
class Ops:
    db: Database
    client: PaidyClient
    clock: Callable[[], datetime] = utcnow
    concurrency: int = 4
    #: Paidy calls in flight across every process sharing a PostgreSQL database (None: the
    #: same as ``concurrency``); ignored on SQLite (see core.operations.slots)
    cluster_cap: int | None = None
    #: a stored snapshot older than this is re-read from Paidy before an action is guarded
    fresh_for: timedelta = field(default=timedelta(minutes=5))
    #: an in-flight marker older than this belongs to a crashed process and may be taken over
    lock_ttl: timedelta = field(default=timedelta(minutes=3))

    def __post_init__(self) -> None:
        if not self.client.limited:
            from core.operations.slots import slots_for

            self.client.use_slots(slots_for(self.db, self.concurrency, self.cluster_cap))

    @property
    def workers(self) -> int:
        """Worker threads for batches: more than the Paidy slots, so database work between
        calls never leaves a slot idle (calls stay bounded by ``concurrency``)."""
        return self.concurrency * 2

    def now(self) -> datetime:
        return self.clock()
