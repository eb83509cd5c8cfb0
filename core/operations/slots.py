"""Paidy call slots: how many requests to Paidy may be in flight at once.

The Paidy client holds one slot for the duration of each HTTP call (``with slots:`` around
the request; ``PaidyClient.use_slots``). Two kinds:

- :class:`LocalSlots`: a semaphore, ``PAIDY_CONCURRENCY`` calls from this process. The only
  kind on SQLite (one machine).
- :class:`ClusterSlots` (PostgreSQL): every app server and ``python -m core worker`` sharing
  the database shares ``PAIDY_CLUSTER_CONCURRENCY`` slots. A slot is a session advisory lock
  ``(SLOT_SPACE, k)`` for k in 0..cap-1, held on a connection kept for this purpose for the
  length of one call: PostgreSQL counts for us, and a process that dies (or loses its
  connection) frees its slots at once, with no lease to expire. Each process also keeps its
  own ``PAIDY_CONCURRENCY`` bound (a semaphore in front), so one process never takes every
  slot, and it needs at most that many connections.

Taking a cluster slot: one statement tries every key (``pg_try_advisory_lock``, in a random
rotation so processes do not all contend for slot 0). When all are taken, the caller queues
for the waiters' lock ``(SLOT_SPACE, QUEUE_KEY)`` (``pg_advisory_lock``: PostgreSQL grants
it first come, first served). Only its holder, the head of the queue, waits for a slot: it
``LISTEN``s on ``paidy_slots``, tries every key, and sleeps until a holder's release
(``pg_advisory_unlock_all()`` with ``pg_notify('paidy_slots')`` in the same statement) wakes
it, so a freed slot is taken again within a round trip and no other waiter polls. A slot
freed by a dying process sends no notification: the head also tries again every
``FALLBACK_S``. Once it has a slot it leaves the queue and the next waiter is head.
When the database cannot be reached, no slot is taken and nothing is sent:
:class:`SlotUnavailable` (a :class:`~core.paidy.errors.PaidyUnavailable`) says so.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from typing import Protocol

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from core.paidy.errors import PaidyUnavailable
from core.storage.db import Database, ping_when_idle

SLOT_SPACE = 0x50594453  # first key of pg_advisory_lock(int, int): "PYDS" (Paidy slots)
QUEUE_KEY = -1  # (SLOT_SPACE, QUEUE_KEY): the waiters' queue; slots are 0..cap-1
CHANNEL = "paidy_slots"
FALLBACK_S = 0.1  # the head re-tries at least this often (a dead holder notifies nobody)

_TRY_ANY = (
    "SELECT k FROM unnest(CAST(%(keys)s AS integer[])) AS t(k) "
    "WHERE pg_try_advisory_lock(%(space)s, k) LIMIT 1"
)  # pipelined: the filter runs row by row and LIMIT stops at the first lock taken
_QUEUE = f"SELECT pg_advisory_lock({SLOT_SPACE}, {QUEUE_KEY})"
_LISTEN = f"LISTEN {CHANNEL}"
_LEAVE_QUEUE = f"UNLISTEN {CHANNEL}; SELECT pg_advisory_unlock({SLOT_SPACE}, {QUEUE_KEY})"
# Everything this connection holds (it is used for slots only, so nothing else is lost),
# and wake the head of the queue.
_RELEASE = f"SELECT pg_advisory_unlock_all(), pg_notify('{CHANNEL}', '')"


class Slots(Protocol):
    """What the Paidy client needs: ``with slots:`` holds one slot for one call."""

    capacity: int

    def __enter__(self) -> None: ...

    def __exit__(self, *exc: object) -> None: ...


class SlotUnavailable(PaidyUnavailable):
    """No slot could be taken (the database is unreachable): the request was not sent."""

    def __init__(self) -> None:
        super().__init__("slots")

    def message(self, lang: str = "ja") -> str:
        if lang == "ja":
            return (
                "Paidyへの送信枠をデータベースで確保できなかったため、送信していません。"
                "データベースの状態を確認し、しばらくしてから再度お試しください。"
            )
        return (
            "Nothing was sent: a Paidy call slot could not be taken from the database. "
            "Check the database and try again shortly."
        )


def _no_slot() -> PaidyUnavailable:
    """No slot within the wait bound: nothing was sent (a definite failure, not a lost
    answer). The bound keeps a write's send time within the request timeout of its intent,
    which the settle deadline of a crashed write relies on (core.operations.settle)."""
    return PaidyUnavailable("no_slot")


class LocalSlots:
    """At most ``capacity`` calls at once from this process; a caller waits at most
    ``wait_s`` for one (None: as long as it takes)."""

    def __init__(self, capacity: int, wait_s: float | None = None) -> None:
        self.capacity = max(1, int(capacity))
        self.wait_s = wait_s
        self._sem = threading.BoundedSemaphore(self.capacity)

    def __enter__(self) -> None:
        if not self._sem.acquire(timeout=self.wait_s):
            raise _no_slot()

    def __exit__(self, *exc: object) -> None:
        self._sem.release()

    def __repr__(self) -> str:
        return f"LocalSlots({self.capacity})"


class ClusterSlots:
    """At most ``cap`` calls at once across every process using this PostgreSQL database,
    and at most ``local`` from this one."""

    def __init__(self, url: str, cap: int, local: int, wait_s: float | None = None) -> None:
        self.cap = max(1, int(cap))
        self.local = max(1, int(local))
        self.capacity = min(self.cap, self.local)  # what this process can have in flight
        self.wait_s = wait_s  # the longest a caller waits for a slot (None: no bound)
        self._sem = threading.BoundedSemaphore(self.local)
        self._held = threading.local()
        self._engine = _slot_engine(url, self.local)

    def __enter__(self) -> None:
        deadline = None if self.wait_s is None else time.monotonic() + self.wait_s
        if not self._sem.acquire(timeout=self.wait_s):
            raise _no_slot()
        try:
            self._held.slot = self._take(deadline)  # the connection holding this thread's slot
        except BaseException:
            self._sem.release()
            raise

    def __exit__(self, *exc: object) -> None:
        conn = self._held.__dict__.pop("slot")
        try:
            with conn.cursor() as cur:
                cur.execute(_RELEASE)
        except Exception:
            conn.invalidate()  # closing the connection frees the lock on the server
        finally:
            conn.close()
            self._sem.release()

    def _take(self, deadline: float | None = None):
        """A pooled DBAPI connection (psycopg, autocommit) holding one slot's lock: plain
        cursors, two statements per call, nothing else between us and the server."""
        import psycopg

        for tries_left in range(self.local, -1, -1):  # dropped connections are replaced
            try:
                conn = self._engine.raw_connection()
            except (DBAPIError, psycopg.Error):
                raise SlotUnavailable() from None
            try:
                self._lock_one(conn, deadline)
                return conn
            except psycopg.OperationalError:  # the server dropped it: once more, anew
                conn.invalidate()  # (closing it frees whatever it may have been granted)
                conn.close()
                if not tries_left:
                    raise SlotUnavailable() from None
            except BaseException:
                conn.invalidate()  # a lock may have been granted as we were interrupted
                conn.close()
                raise
        raise AssertionError("unreachable")

    def _lock_one(self, conn, deadline: float | None = None) -> int:
        start = random.randrange(self.cap)
        keys = [(start + i) % self.cap for i in range(self.cap)]
        with conn.cursor() as cur:
            key = self._try_any(cur, keys)
            if key is not None:
                return key
            cur.execute(_QUEUE)  # wait our turn; then we are the only one waiting for a slot
            try:
                cur.execute(_LISTEN)  # before trying: a release after the try still wakes us
                while (key := self._try_any(cur, keys)) is None:
                    wait = FALLBACK_S
                    if deadline is not None:
                        wait = min(wait, deadline - time.monotonic())
                        if wait <= 0:
                            raise _no_slot()
                    for _ in conn.dbapi_connection.notifies(timeout=wait, stop_after=1):
                        pass
                return key
            finally:
                cur.execute(_LEAVE_QUEUE)

    @staticmethod
    def _try_any(cur, keys: list[int]) -> int | None:
        cur.execute(_TRY_ANY, {"space": SLOT_SPACE, "keys": keys})
        row = cur.fetchone()
        return None if row is None else row[0]

    def in_use(self) -> int:
        """Slots held right now across the cluster (from pg_locks; for tests and the bench).
        Uses one of this object's pooled connections: not from a thread holding the last."""
        with self._engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = CAST(:space AS oid) AND objsubid = 2 "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"space": SLOT_SPACE},
            ).scalar_one()

    def close(self) -> None:
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"ClusterSlots(cap={self.cap}, local={self.local})"


def _slot_engine(url: str, local: int) -> Engine:
    """Connections used only to hold slots: autocommit (a session lock outlives nothing but
    its connection; a notification is sent as its statement ends)."""
    engine = create_engine(
        url, isolation_level="AUTOCOMMIT", pool_size=local, max_overflow=0, pool_timeout=60
    )
    ping_when_idle(engine)  # a connection the server dropped is replaced before use

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET application_name = 'paidy-ops slots'")

    return engine


_lock = threading.Lock()
_cluster: weakref.WeakKeyDictionary[Database, dict[tuple, ClusterSlots]] = (
    weakref.WeakKeyDictionary()
)


def slots_for(
    db: Database, local: int, cluster_cap: int | None = None, wait_s: float | None = None
) -> Slots:
    """The slots a process using ``db`` should hold Paidy calls with: cluster-wide on
    PostgreSQL (``cluster_cap`` slots, default ``local``), else this process's semaphore;
    a caller waits at most ``wait_s`` for one. One :class:`ClusterSlots` per database, cap,
    local bound and wait in a process."""
    if db.dialect != "postgresql":
        return LocalSlots(local, wait_s)
    cap = cluster_cap or local
    with _lock:
        mine = _cluster.setdefault(db, {})
        slots = mine.get((cap, local, wait_s))
        if slots is None:
            slots = mine[(cap, local, wait_s)] = ClusterSlots(db.url, cap, local, wait_s)
        return slots


def close_cluster_slots(db: Database) -> None:
    """Close the slot connections of ``db`` (tests, before dropping a database)."""
    with _lock:
        mine = _cluster.pop(db, {})
    for slots in mine.values():
        slots.close()
