"""The login throttle: failures counted per user name and per client, in atomic statements.

Two counters answer every attempt, whether or not the name exists (so neither the answer
nor the wait tells a name apart):

- per **client** (IP address, or the browser session when no address is known): this is what
  stops guessing. From the 5th failure within an hour the client waits 1, 2, 4 ... seconds,
  up to 15 minutes.
- per **name**: stops guessing one user from many clients, but stays short so that a
  stranger cannot keep a real user out: from the 5th failure within 15 minutes the name
  waits 2, 4, 6 ... seconds, never more than 30.

An attempt is counted *before* its password is checked (``claim``): the count and the
lock check are one upsert per key (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, the
same on PostgreSQL and SQLite), so parallel attempts can neither lose an update nor all
slip past the lock; a success then clears the name and takes its one back from the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.storage.db import Database
from core.storage.models import LoginThrottle as T


@dataclass(frozen=True)
class Policy:
    free: int  # failures before any wait
    window: timedelta  # a failure older than this starts the count again
    cap: timedelta  # the longest wait

    def wait(self, failures: int, linear: bool) -> timedelta | None:
        over = failures - self.free
        if over <= 0:
            return None
        seconds = 2 * over if linear else 2 ** (over - 1)
        return min(timedelta(seconds=seconds), self.cap)


CLIENT = Policy(free=4, window=timedelta(hours=1), cap=timedelta(minutes=15))
NAME = Policy(free=4, window=timedelta(minutes=15), cap=timedelta(seconds=30))
KEEP = timedelta(days=1)  # rows idle this long are removed


def name_key(name: str) -> str:
    return "name:" + (name or "").strip()[:250]


def client_key(client: str) -> str:
    return "client:" + client.strip()[:250]


@dataclass(frozen=True)
class Claim:
    allowed: bool
    failures: dict[str, int]


def claim(db: Database, name: str, client: str | None, now: datetime) -> Claim:
    """Count one attempt for the client and the name. ``allowed`` is False while either is
    locked (then nothing is counted as a failure and no password may be checked)."""
    keys = ([(client_key(client), CLIENT, False)] if client else []) + [
        (name_key(name), NAME, True)
    ]
    failures: dict[str, int] = {}
    allowed = True
    with db.session(immediate=True) as s:  # keys in one order everywhere: no deadlock
        for key, policy, linear in keys:
            count, locked_until = s.execute(_count(db, key, policy, now, allowed)).one()
            failures[key] = count
            if locked_until is not None and locked_until > now:
                allowed = False
                continue
            if allowed and (wait := policy.wait(count, linear)) is not None:
                s.execute(
                    update(T)
                    .where(T.key == key, T.failures == count)
                    .values(locked_until=now + wait)
                )
    return Claim(allowed, failures)


def _count(db: Database, key: str, policy: Policy, now: datetime, as_failure: bool):
    """One upsert: +1 attempt, and +1 failure unless locked (or ``as_failure`` is False)."""
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    locked = (T.locked_until.is_not(None)) & (T.locked_until > now)
    keep = locked if as_failure else true()
    stmt = insert(T).values(
        key=key,
        attempts=1,
        failures=1 if as_failure else 0,
        last_failure_at=now if as_failure else None,
        locked_until=None,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[T.key],
        set_={
            "attempts": T.attempts + 1,
            "failures": case(
                (keep, T.failures),
                (
                    or_(T.last_failure_at.is_(None), T.last_failure_at < now - policy.window),
                    1,
                ),
                else_=T.failures + 1,
            ),
            "last_failure_at": case((keep, T.last_failure_at), else_=now),
        },
    )
    return stmt.returning(T.failures, T.locked_until)


def clear_name(s: Session, name: str) -> None:
    s.execute(
        update(T)
        .where(T.key == name_key(name))
        .values(failures=0, last_failure_at=None, locked_until=None)
    )


def succeeded(s: Session, name: str, client: str | None, now: datetime) -> None:
    """The password was right: the name starts afresh, the client gets its attempt back
    (inside the caller's write transaction)."""
    if client:
        s.execute(
            update(T)
            .where(T.key == client_key(client))
            .values(failures=case((T.failures > 0, T.failures - 1), else_=0))
        )
    clear_name(s, name)
    s.execute(
        delete(T).where(
            or_(T.last_failure_at.is_(None), T.last_failure_at < now - KEEP),
            or_(T.locked_until.is_(None), T.locked_until < now),
            T.key != name_key(name),
        )
    )


def counters(db: Database, key: str) -> tuple[int, int]:
    """(attempts, failures) of one key (tests, support)."""
    with db.session() as s:
        row = s.get(T, key)
        return (row.attempts, row.failures) if row else (0, 0)
