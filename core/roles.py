"""Who may do what. Enforced in core (every service call names its actor), not by hiding
buttons: viewer (search, view, export), operator (+ payment actions, 対応状況),
admin (+ settings, users)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from core.domain.errors import RuleViolation


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class Permission(StrEnum):
    VIEW = "view"
    EXPORT = "export"
    ACT = "act"  # refresh, update, capture, close, refund, batches, link
    EDIT_ORDERS = "edit_orders"  # 対応状況, items
    ADMIN = "admin"  # settings, users, column sets of others


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW, Permission.EXPORT}),
    Role.OPERATOR: frozenset(
        {Permission.VIEW, Permission.EXPORT, Permission.ACT, Permission.EDIT_ORDERS}
    ),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The person (or process) acting; recorded in the audit log for every attempt.

    ``account=True``: a row of ``users`` (logged in with a password, a known OIDC user, a
    proven CLI operator). Its role and active flag are re-read from the database at the
    moment of acting (``core.auth.current``), so the role carried here is only what the
    screen last showed. ``account=False``: not a user (the open demo's actor with
    AUTH_MODE=none, the system, an OIDC identity mapped by AUTH_*_EMAILS): taken as given.
    """

    name: str
    role: Role = Role.VIEWER
    account: bool = False

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


SYSTEM = Actor("system", Role.ADMIN)


class PermissionDenied(RuleViolation):
    code = "permission_denied"
    ja = "この操作を行う権限がありません({role})。管理者にお問い合わせください。"
    en = "You are not allowed to do this ({role}). Ask an administrator."
    labelled: ClassVar[dict[str, str]] = {"role": "role"}


class UserDisabled(PermissionDenied):
    """The acting user was disabled (or removed) since logging in: nothing is done and the
    screen's session ends."""

    code = "user_disabled"
    ja = "ユーザー {name} は無効化されているため操作できません。管理者にお問い合わせください。"
    en = "User {name} is disabled and cannot act. Ask an administrator."


def require(actor: Actor, permission: Permission) -> None:
    """The pure check on a role. Service functions call ``core.auth.current.authorize``,
    which re-reads the actor's current role first and then calls this."""
    if not actor.can(permission):
        raise PermissionDenied(role=actor.role.value)
