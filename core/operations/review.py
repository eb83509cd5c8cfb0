"""What a person decides: late landings, duplicates and writes the rules could not decide.

The dashboard lists every audit entry with ``needs_review``. A person either marks a
settled entry *reviewed* (a late landing or a duplicate they have handled, e.g. by asking
the customer or refunding the difference by hand), or *resolves* a write that is still
unsettled (Paidy did not echo our tags) as done or not done after comparing it with Paidy's
record. Both are audited; nothing is rewritten silently.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select, update

from core.bilingual import BilingualError
from core.messages import label_ref, part
from core.operations import audit
from core.operations.context import Ops
from core.operations.verdict import Verdict
from core.paidy.models import intent_of
from core.roles import Actor, Permission, require
from core.storage.db import Database
from core.storage.models import AuditLog, PaidyPayment


class ReviewError(BilingualError):
    """The entry cannot be reviewed or resolved (not flagged, already decided)."""


def _flagged(s, audit_id: int) -> AuditLog:
    entry = s.get(AuditLog, audit_id, with_for_update=True)
    if entry is None or not entry.needs_review:
        raise ReviewError(
            "この項目は確認待ちではありません(既に確認済みか、存在しません)。",
            "This entry is not waiting for review (already handled, or it does not exist).",
        )
    return entry


def mark_reviewed(ops: Ops, actor: Actor, audit_id: int, note: str = "") -> int:
    """A person has handled a late landing or a duplicate; returns the review event's id."""
    require(actor, Permission.ACT)
    note = (note or "").strip()[:500]
    now = ops.now()
    with ops.db.session(immediate=True) as s:
        entry = _flagged(s, audit_id)
        if entry.outcome in audit.UNSETTLED:
            raise ReviewError(
                "結果が未確定の処理です。「処理済み」「未処理」のどちらかを判断してください。",
                "This write is still unsettled: decide whether it was done or not.",
            )
        detail = {**(entry.detail or {}), "reviewed_by": actor.name, "review_note": note}
        s.execute(
            update(AuditLog)
            .where(AuditLog.id == audit_id)
            .values(needs_review=False, detail=detail)
        )
        order_no, payment_id, action = entry.order_no, entry.payment_id, entry.action
    return audit.record_event(
        ops.db,
        actor.name,
        "review",
        None,
        now,
        msg=[part("reviewed", note=note or "-")],
        order_no=order_no,
        payment_id=payment_id,
        detail={"reviews": audit_id, "of": action, "note": note},
    )


def resolve(ops: Ops, actor: Actor, audit_id: int, applied: bool, note: str = "") -> int:
    """A person decides an unsettled write from Paidy's record: done or not done."""
    require(actor, Permission.ACT)
    note = (note or "").strip()[:500]
    if not note:
        raise ReviewError(
            "判断の根拠(Paidyの記録で確認した内容)を入力してください。",
            "Enter what you checked in Paidy's record.",
        )
    now = ops.now()
    with ops.db.session(immediate=True) as s:
        entry = _flagged(s, audit_id)
        if entry.outcome not in audit.UNSETTLED:
            raise ReviewError(
                "この処理の結果は既に確定しています。",
                "This write's outcome is already settled.",
            )
        audit.mark_settled(s, entry, applied, now, reason="person")
        detail = {
            **(entry.detail or {}),
            "settled_applied": applied,
            "resolved_by": actor.name,
            "review_note": note,
        }
        s.execute(
            update(AuditLog)
            .where(AuditLog.id == audit_id)
            .values(needs_review=False, detail=detail)
        )
        order_no, payment_id, action = entry.order_no, entry.payment_id, entry.action
    verdict = label_ref("verdict", Verdict.DONE if applied else Verdict.NOT_DONE)
    return audit.record_event(
        ops.db,
        actor.name,
        "review",
        None,
        now,
        msg=[part("resolved", verdict=verdict, note=note)],
        order_no=order_no,
        payment_id=payment_id,
        detail={"resolves": audit_id, "of": action, "applied": applied, "note": note},
    )


def paidy_entries(db: Database, payment_id: str) -> pd.DataFrame:
    """Paidy's captures and refunds of a payment as last read (kind, id, time, amount, our
    tag if any): what a person compares an entry with."""
    with db.session() as s:
        raw = s.scalar(select(PaidyPayment.raw_json).where(PaidyPayment.payment_id == payment_id))
    rows = [
        {
            "kind": kind,
            "id": e.get("id", ""),
            "created_at": e.get("created_at", ""),
            "amount": e.get("amount"),
            "tag": intent_of(e.get("metadata")) or "",
        }
        for kind in ("captures", "refunds")
        for e in (raw or {}).get(kind) or []
        if isinstance(e, dict)
    ]
    return pd.DataFrame(rows, columns=["kind", "id", "created_at", "amount", "tag"])
