"""The payment state machine: derived dashboard state, allowed actions, and the guard.

The payment rule table (docs/architecture.md, "Payment rules") lives here as ``ALLOWED``; every refusal is a
named :class:`~core.domain.errors.RuleViolation`. How an order's 対応状況 キャンセル limits
these actions (the cancel rule) is :mod:`core.domain.cancellation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.domain import errors


class PaymentState(StrEnum):
    """The dashboard's state of a Paidy payment, derived from Paidy's snapshot and the clock."""

    OPEN = "open"  # オープン
    EXPIRED = "expired"  # 期限切れ
    CAPTURED = "captured"  # 売上確定
    PARTIALLY_REFUNDED = "partially_refunded"  # 一部払い戻し
    REFUNDED = "refunded"  # 全額払い戻し
    CLOSED = "closed"  # キャンセル (closed without capture)
    REJECTED = "rejected"  # 与信NG
    UNKNOWN = "unknown"


class Action(StrEnum):
    REFRESH = "refresh"  # 状態確認
    UPDATE = "update"  # 更新(アップデート)
    CAPTURE = "capture"  # 売上確定(キャプチャー)
    CLOSE = "close"  # クローズ
    REFUND = "refund"  # 払い戻し(リファンド)


#: Actions that change Paidy's record (everything but a refresh).
MUTATING_ACTIONS = frozenset({Action.UPDATE, Action.CAPTURE, Action.CLOSE, Action.REFUND})
#: Actions that move money.
MONEY_ACTIONS = frozenset({Action.CAPTURE, Action.REFUND})

S, A = PaymentState, Action
ALLOWED: dict[PaymentState, frozenset[Action]] = {
    S.OPEN: frozenset({A.UPDATE, A.CAPTURE, A.CLOSE, A.REFRESH}),
    S.EXPIRED: frozenset({A.CLOSE, A.REFRESH}),
    S.CAPTURED: frozenset({A.REFUND, A.REFRESH}),
    S.PARTIALLY_REFUNDED: frozenset({A.REFUND, A.REFRESH}),
    S.REFUNDED: frozenset({A.REFRESH}),
    S.CLOSED: frozenset({A.REFRESH}),
    S.REJECTED: frozenset({A.REFRESH}),
    S.UNKNOWN: frozenset({A.REFRESH}),
}

# Why an action is refused in a state: by state, with a few (action, state) overrides.
_REFUSAL_BY_STATE: dict[PaymentState, type[errors.RuleViolation]] = {
    S.EXPIRED: errors.PaymentExpired,
    S.CAPTURED: errors.AlreadyCaptured,
    S.PARTIALLY_REFUNDED: errors.AlreadyCaptured,
    S.REFUNDED: errors.AlreadyCaptured,
    S.CLOSED: errors.AlreadyClosed,
    S.REJECTED: errors.PaymentRejected,
    S.UNKNOWN: errors.UnknownPaymentState,
}
_REFUSAL_OVERRIDES: dict[tuple[Action, PaymentState], type[errors.RuleViolation]] = {
    (A.REFUND, S.OPEN): errors.NotCaptured,
    (A.REFUND, S.EXPIRED): errors.NotCaptured,
    (A.REFUND, S.CLOSED): errors.NotCaptured,
    (A.REFUND, S.REFUNDED): errors.NothingToRefund,
}
del S, A


@dataclass(frozen=True, slots=True)
class PaymentSnapshot:
    """What the rules need to know of a Paidy payment (amounts in yen, times tz-aware UTC)."""

    status: str
    amount: int
    captured: int = 0
    refunded: int = 0
    expires_at: datetime | None = None

    def state(self, now: datetime) -> PaymentState:
        return derive_state(self.status, self.captured, self.refunded, self.expires_at, now)


def derive_state(
    status: str | None,
    captured: int,
    refunded: int,
    expires_at: datetime | None,
    now: datetime,
) -> PaymentState:
    """Map Paidy's raw status (compared case-insensitively) plus amounts and clock to a state."""
    raw = (status or "").strip().lower()
    if raw == "authorized":
        if captured > 0:  # contradictory (Paidy closes on capture): trust nothing, refresh
            return PaymentState.UNKNOWN
        if expires_at is not None and now >= expires_at:
            return PaymentState.EXPIRED
        return PaymentState.OPEN
    if raw == "expired":  # shown by Paidy's own screens; tolerated if the API ever says it
        return PaymentState.EXPIRED
    if raw == "closed":
        if captured <= 0:
            return PaymentState.CLOSED
        if refunded <= 0:
            return PaymentState.CAPTURED
        if refunded < captured:
            return PaymentState.PARTIALLY_REFUNDED
        return PaymentState.REFUNDED
    if raw == "rejected":
        return PaymentState.REJECTED
    return PaymentState.UNKNOWN


def allowed_actions(state: PaymentState) -> frozenset[Action]:
    return ALLOWED[state]


def is_allowed(state: PaymentState, action: Action) -> bool:
    return action in ALLOWED[state]


def refusal(state: PaymentState, action: Action, status: str = "") -> errors.RuleViolation | None:
    """The named refusal for ``action`` in ``state``, or None when the table allows it."""
    if is_allowed(state, action):
        return None
    exc_type = _REFUSAL_OVERRIDES.get((action, state)) or _REFUSAL_BY_STATE.get(state)
    if exc_type is errors.UnknownPaymentState:
        return errors.UnknownPaymentState(status=status or "?")
    if exc_type is None:
        return errors.ActionNotAllowed(action=action.value, state=state.value)
    return exc_type()


def check_action(snapshot: PaymentSnapshot, action: Action, now: datetime) -> PaymentState:
    """Raise the named refusal if ``action`` is not allowed now; return the current state."""
    state = snapshot.state(now)
    exc = refusal(state, action, snapshot.status)
    if exc is not None:
        raise exc
    return state
