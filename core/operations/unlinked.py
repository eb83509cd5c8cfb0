"""Unlinked authorizations: payments a webhook named that have no order here.

Paidy has no list endpoint, so a payment made outside our records (a checkout whose order
never reached the shop system) shows up only through a webhook. Each such id is kept in
``unlinked_payments`` (first and last seen, how many hints, what the last hint said: all
unverified) and listed on the dashboard until someone links it: ``link`` reads the payment
from Paidy and creates its order (``core.operations.link``).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite

from core.domain.statuses import AuditOutcome
from core.messages import part
from core.operations import audit
from core.operations.context import Ops
from core.operations.link import LinkResult, link_payment
from core.paidy.models import WebhookEvent
from core.roles import Actor
from core.storage.models import PaidyPayment, UnlinkedPayment

UT = UnlinkedPayment.__table__
COLUMNS = ("payment_id", "first_seen_at", "last_seen_at", "hints", "last_status", "order_ref")


def record_hint(ops: Ops, event: WebhookEvent, now: datetime) -> bool:
    """Remember a hint about an unknown payment; True when it is the first one (audited)."""
    values = {
        "payment_id": event.payment_id,
        "first_seen_at": now,
        "last_seen_at": now,
        "hints": 1,
        "last_status": _clip(event.status, 64),
        "order_ref": _clip(event.order_ref, 200),
    }
    dialect = postgresql if ops.db.dialect == "postgresql" else sqlite
    stmt = dialect.insert(UT).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[UT.c.payment_id],
        set_={
            "last_seen_at": stmt.excluded.last_seen_at,
            "hints": UT.c.hints + 1,
            "last_status": stmt.excluded.last_status,
            "order_ref": stmt.excluded.order_ref,
        },
    ).returning(UT.c.hints)
    with ops.db.session() as s:
        first = s.execute(stmt).scalar_one() == 1
        if first:
            audit.add_event(
                s,
                "webhook",
                "webhook",
                None,
                now,
                msg=[
                    part(
                        "webhook_unlinked",
                        payment_id=event.payment_id,
                        status=_clip(event.status, 64) or "-",
                    )
                ],
                payment_id=event.payment_id,
                outcome=AuditOutcome.SKIPPED,
                detail={"code": "unlinked_payment", "order_ref": values["order_ref"]},
            )
    return first


def _not_linked():
    return ~exists().where(
        PaidyPayment.payment_id == UnlinkedPayment.payment_id,
        PaidyPayment.order_id.is_not(None),
    )


def unlinked_count(ops: Ops) -> int:
    with ops.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(UT).where(_not_linked())) or 0)


def unlinked_payments(ops: Ops, limit: int = 50) -> pd.DataFrame:
    """Hinted payments still without an order here, most recently hinted first."""
    q = (
        select(*[UT.c[c] for c in COLUMNS])
        .where(_not_linked())
        .order_by(UT.c.last_seen_at.desc(), UT.c.payment_id)
        .limit(limit)
    )
    with ops.db.session() as s:
        rows = s.execute(q).all()
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in ("first_seen_at", "last_seen_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame.astype({"hints": "Int64"})


def link(ops: Ops, actor: Actor, payment_id: str) -> LinkResult:
    """One click: read the payment from Paidy, create its order, take it off the list."""
    result = link_payment(ops, actor, payment_id)
    with ops.db.session() as s:
        s.execute(delete(UnlinkedPayment).where(UnlinkedPayment.payment_id == payment_id))
    return result


def _clip(value: object, n: int) -> str | None:
    if value is None:
        return None
    text = "".join(ch for ch in str(value) if ch.isprintable())
    return text[:n] or None
