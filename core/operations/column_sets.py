"""Saved CSV column sets (CSV出力項目設定) as service functions: anyone who may export saves
their own sets; replacing or deleting someone else's set is an admin's. Every change is an
audit entry. The storage itself lives in ``core/export.py``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core import export
from core.auth.current import authorize
from core.operations import audit
from core.roles import Actor, Permission
from core.storage.db import Database
from core.timeutil import utcnow

ACTIONS = ("column_set_save", "column_set_delete")


def save(
    db: Database,
    actor: Actor,
    name: str,
    columns: Sequence[str],
    *,
    now: datetime | None = None,
) -> export.ColumnSet:
    now = now or utcnow()
    fresh = authorize(db, actor, Permission.EXPORT, attempt="column_set_save", now=now)
    existing = export.get_column_set(db, name or "")
    if existing is not None and existing.created_by != fresh.name:
        authorize(db, fresh, Permission.ADMIN, attempt="column_set_save", now=now)
    saved = export.save_column_set(db, name, columns, created_by=fresh.name)
    audit.record_event(
        db,
        actor.name,
        "column_set_save",
        f"CSV出力項目設定「{saved.name}」を{'更新' if existing else '保存'}({len(saved.columns)}項目)",
        now,
        detail={"name": saved.name, "columns": list(saved.columns), "replaced": bool(existing)},
    )
    return saved


def delete(db: Database, actor: Actor, name: str, *, now: datetime | None = None) -> bool:
    """Delete by name; False when there was none."""
    now = now or utcnow()
    fresh = authorize(db, actor, Permission.EXPORT, attempt="column_set_delete", now=now)
    existing = export.get_column_set(db, name or "")
    if existing is None:
        return False
    if existing.created_by != fresh.name:
        authorize(db, fresh, Permission.ADMIN, attempt="column_set_delete", now=now)
    deleted = export.delete_column_set(db, existing.name)
    if deleted:
        audit.record_event(
            db,
            actor.name,
            "column_set_delete",
            f"CSV出力項目設定「{existing.name}」を削除",
            now,
            detail={"name": existing.name, "created_by": existing.created_by},
        )
    return deleted
