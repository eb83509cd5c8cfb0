"""Who may act, read at the moment of acting.

Every service function that changes something calls :func:`authorize` with the actor the
screen or the CLI holds: a user account's role and active flag are re-read from the
database, so a user disabled a second ago is refused (``UserDisabled``) and a demoted one
acts with the new role at once. Actors that are not user accounts (AUTH_MODE=none's open
actor, the system, OIDC identities mapped by e-mail lists) are taken as given.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from core.domain.statuses import AuditOutcome
from core.roles import Actor, Permission, PermissionDenied, Role, UserDisabled, require
from core.storage.db import Database
from core.storage.models import User
from core.timeutil import utcnow


def current_actor(db: Database, actor: Actor) -> Actor:
    """The actor as the database has it now; ``UserDisabled`` when it may no longer act."""
    if not actor.account:
        return actor
    with db.session() as s:
        row = s.execute(
            select(User.role, User.disabled).where(User.name == actor.name)
        ).one_or_none()
    if row is None or row.disabled:
        raise UserDisabled(name=actor.name)
    role = Role(row.role)
    return actor if role is actor.role else replace(actor, role=role)


def authorize(
    db: Database,
    actor: Actor,
    permission: Permission,
    *,
    attempt: str | None = None,
    now: datetime | None = None,
) -> Actor:
    """``current_actor`` + ``require``: the current actor, or ``PermissionDenied`` /
    ``UserDisabled``. With ``attempt`` (an audit action name) a refusal is also written to
    the audit log; callers that log their own refusals (payment actions) leave it out."""
    try:
        fresh = current_actor(db, actor)
        require(fresh, permission)
    except PermissionDenied as exc:
        if attempt:
            _log_refusal(db, actor, attempt, exc, now or utcnow())
        raise
    return fresh


def _log_refusal(db: Database, actor: Actor, action: str, exc: PermissionDenied, now) -> None:
    from core.operations import audit

    audit.record_event(
        db,
        actor.name,
        action,
        exc.message("ja"),
        now,
        outcome=AuditOutcome.SKIPPED,
        detail={"code": exc.code, "message_en": exc.message("en")},
    )
