"""The double-send guard: a ``mail_sends`` row per click.

- The click's ``token`` is unique: the same click twice (double click, a rerun of the
  same request) finds its row and sends nothing.
- ``inflight_key`` (``"<order_no>:<template>"``) is unique while set: a second send of the
  same mail for the same order while one is in flight (another click, another tab, a CLI
  rerun) is refused. It is cleared when the send ends. A key older than ``ttl`` was left by
  a crashed process: it is taken over with a conditional update (one rescuer wins) and
  that send is marked ``unknown``.
Both are plain unique constraints, so SQLite and PostgreSQL behave alike across processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.storage.db import Database
from core.storage.models import MailSend
from core.timeutil import as_utc

DUPLICATE = {"sending": "in_progress", "sent": "already_sent", "unknown": "previous_unknown"}


@dataclass(frozen=True)
class Claim:
    """The send is ours: the row to finish."""

    send_id: int


@dataclass(frozen=True)
class Duplicate:
    """Nothing is sent: ``reason`` is a DUPLICATE value."""

    reason: str


def claim(
    db: Database,
    *,
    token: str,
    order_id: int | None,
    order_no: int,
    template: str,
    to_addr: str,
    subject: str,
    actor: str,
    now: datetime,
    ttl: timedelta,
) -> Claim | Duplicate:
    key = f"{order_no}:{template}"
    for _ in range(3):
        try:
            with db.session(immediate=True) as s:
                row = MailSend(
                    token=token,
                    inflight_key=key,
                    order_id=order_id,
                    order_no=order_no,
                    template=template,
                    to_addr=to_addr,
                    subject=subject,
                    status="sending",
                    actor=actor,
                    created_at=now,
                )
                s.add(row)
                s.flush()
                return Claim(send_id=row.id)
        except IntegrityError:
            pass
        with db.session(immediate=True) as s:
            same = s.scalar(select(MailSend).where(MailSend.token == token))
            if same is not None:
                if same.status != "failed":
                    return Duplicate(DUPLICATE[same.status])
                # the same click again after a failure (nothing was sent): send again
                s.delete(same)
                continue
            holder = s.scalar(select(MailSend).where(MailSend.inflight_key == key))
            if holder is None:
                continue  # finished meanwhile: try again
            if as_utc(holder.created_at) > now - ttl:
                return Duplicate("in_progress")
            s.execute(
                update(MailSend)
                .where(MailSend.id == holder.id, MailSend.inflight_key == key)
                .values(inflight_key=None, status="unknown", finished_at=now,
                        error="taken over: the sending process did not finish")
            )  # fmt: skip
    return Duplicate("in_progress")


def finish(
    db: Database,
    send_id: int,
    status: str,
    now: datetime,
    *,
    message_id: str | None = None,
    error: str = "",
) -> None:
    with db.session() as s:
        s.execute(
            update(MailSend)
            .where(MailSend.id == send_id)
            .values(status=status, inflight_key=None, finished_at=now,
                    message_id=message_id, error=error[:2000])
        )  # fmt: skip
