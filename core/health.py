"""``GET /healthz``: can this server work? Database reachable, batch workers alive, mode.

The answer is for load balancers and monitoring, so it holds no secret and nothing that
locates one: no database URL, no key (not even masked), no webhook token, no user names.
Only booleans, counts, the mode and timings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select, text

from core.domain.statuses import ItemStatus
from core.settings import Settings
from core.storage.models import BatchItem


@dataclass(frozen=True)
class Health:
    mode: str
    webhooks: bool
    database: bool
    database_ms: float | None = None
    workers_alive: int = 0
    workers_expected: int = 0
    queued_items: int | None = None

    @property
    def ok(self) -> bool:
        return self.database and 0 < self.workers_alive == self.workers_expected

    def as_json(self) -> dict:
        return {
            "status": "ok" if self.ok else "error",
            "database": {"reachable": self.database, "ms": self.database_ms},
            "workers": {"alive": self.workers_alive, "expected": self.workers_expected},
            "queue": {"pending": self.queued_items},
            "mode": self.mode,
            "webhooks": self.webhooks,
        }


def check(runtime, settings: Settings) -> Health:
    """The health of a built runtime (``core.runtime.Runtime``)."""
    reachable, ms, queued = _database(runtime.db)
    pool = runtime.workers
    return Health(
        mode=settings.mode.value,
        webhooks=settings.webhook_secret() is not None,
        database=reachable,
        database_ms=ms,
        workers_alive=pool.alive() if pool is not None else 0,
        workers_expected=runtime.ops.workers if pool is not None else 0,
        queued_items=queued,
    )


def unavailable(settings: Settings) -> Health:
    """The runtime could not be built (the database cannot be opened or migrated)."""
    return Health(settings.mode.value, settings.webhook_secret() is not None, database=False)


def _database(db) -> tuple[bool, float | None, int | None]:
    started = time.perf_counter()
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            queued = conn.execute(
                select(func.count())
                .select_from(BatchItem)
                .where(BatchItem.status == ItemStatus.PENDING)
            ).scalar_one()
    except Exception:  # unreachable: say so, never why (the reason may hold the URL)
        return False, None, None
    return True, round((time.perf_counter() - started) * 1000, 2), int(queued)
