"""The per-payment lock: a unique in-flight marker row that holds across processes.

Inserting ``inflight_actions(payment_id)`` succeeds for exactly one caller on SQLite and
PostgreSQL alike (primary key); everyone else learns "already in progress". A marker older
than ``ttl`` was left by a crashed process: it is taken over with a conditional delete so
that two rescuers cannot both win. The crashed call's audit entry stays ``intent`` and blocks
money actions until a refresh settles it from Paidy's record (see ``settle``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from core.storage.db import Database
from core.storage.models import InflightAction
from core.timeutil import as_utc

#: the marker's TTL when none is configured (``Ops.lock_ttl``'s default)
DEFAULT_LOCK_TTL = timedelta(minutes=3)


def lock_ttl_for(timeout_s: float) -> timedelta:
    """An in-flight marker outlives any request it guards: a call can still be in flight at
    Paidy for up to the request timeout after its process died."""
    return max(DEFAULT_LOCK_TTL, timedelta(seconds=2 * timeout_s + 30))


def stale_intent_age(lock_ttl: timedelta = DEFAULT_LOCK_TTL) -> timedelta:
    """An ``intent`` audit entry older than this is a crash, not an action in flight.

    While its action runs, the payment's marker is held; a marker older than ``lock_ttl``
    belongs to a dead process and may be taken over, so an intent past the same age has no
    live action behind it any more (the dashboard counts it as unsettled)."""
    return lock_ttl


def try_acquire(
    db: Database, payment_id: str, action: str, actor: str, now: datetime, ttl: timedelta
) -> bool:
    """Take the payment's marker in one transaction: free -> insert; stale -> replace;
    live -> refuse. Two racers on PostgreSQL meet the primary key: one wins."""
    try:
        with db.session(immediate=True) as s:
            started = s.scalar(
                select(InflightAction.started_at).where(InflightAction.payment_id == payment_id)
            )
            if started is not None:
                if as_utc(started) > now - ttl:
                    return False
                s.execute(
                    delete(InflightAction).where(
                        InflightAction.payment_id == payment_id,
                        InflightAction.started_at == started,
                    )
                )
            s.add(InflightAction(payment_id=payment_id, action=action, actor=actor, started_at=now))
            s.flush()
        return True
    except IntegrityError:
        return False


def take_in(s, payment_id: str, action: str, actor: str, now: datetime, ttl: timedelta) -> bool:
    """``try_acquire`` inside the caller's transaction, in one statement: insert the marker,
    or replace one older than ``ttl`` (a dead process's); False while a live one exists.
    (INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING, on SQLite and PostgreSQL.)"""
    insert = postgresql.insert if s.bind.dialect.name == "postgresql" else sqlite.insert
    values = {"payment_id": payment_id, "action": action, "actor": actor, "started_at": now}
    new = insert(InflightAction).values(**values)
    stmt = new.on_conflict_do_update(
        index_elements=[InflightAction.payment_id],
        set_={k: new.excluded[k] for k in ("action", "actor", "started_at")},
        where=InflightAction.started_at <= now - ttl,
    ).returning(InflightAction.payment_id)
    return s.execute(stmt).first() is not None


def release(db: Database, payment_id: str) -> None:
    with db.session() as s:
        release_in(s, payment_id)


def release_in(s, payment_id: str) -> None:
    """Release inside the caller's transaction (it commits with the action's outcome)."""
    s.execute(delete(InflightAction).where(InflightAction.payment_id == payment_id))
