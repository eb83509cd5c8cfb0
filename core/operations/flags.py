"""System facts that outlive processes (``app_flags``).

``tags_unreliable``: a successful answer to one of our tagged captures or refunds came back
without our tag. From then on a lost answer is never concluded "not done" automatically
(see :mod:`core.operations.verdict`): it waits for a person, with Paidy's record shown.
An admin clears the flag once Paidy echoes metadata again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from core.storage.db import Database
from core.storage.models import AppFlag

log = logging.getLogger(__name__)
TAGS_UNRELIABLE = "tags_unreliable"


def get_flag(db: Database, key: str) -> dict | None:
    with db.session() as s:
        return s.scalar(select(AppFlag.value).where(AppFlag.key == key))


def tags_reliable(db: Database) -> bool:
    return get_flag(db, TAGS_UNRELIABLE) is None


def mark_tags_unreliable(db: Database, now: datetime, **facts: object) -> None:
    """Record (once) that Paidy answered a tagged write without echoing the tag."""
    log.warning("Paidy did not echo our intent tag: %s", facts)
    try:
        with db.session(immediate=True) as s:  # reads, then writes
            if s.get(AppFlag, TAGS_UNRELIABLE) is None:
                s.add(AppFlag(key=TAGS_UNRELIABLE, value={**facts}, updated_at=now))
    except IntegrityError:  # another process recorded it first
        pass


def clear_flag(db: Database, key: str) -> None:
    with db.session() as s:
        s.execute(delete(AppFlag).where(AppFlag.key == key))
