"""The one cancel rule: how an order's 対応状況 キャンセル and its Paidy payment go together.

Every surface (the order page, the batch page's preview and run, the CLI) goes through the
service layer, which asks this module; the pages ask it too, only to decide what to offer
and what to say before anything runs.

| action | 対応状況 = キャンセル | any other 対応状況 |
| --- | --- | --- |
| 売上確定 (capture) | **refused**: :class:`~core.domain.errors.OrderCancelled`, naming the cancellation; nothing is sent. To capture, change 対応状況 back first (a logged order edit). | the payment rules decide |
| クローズ (close) | the payment rules decide; 対応状況 stays キャンセル | the payment rules decide; a close that leaves the payment closed (uncaptured) also sets 対応状況 to キャンセル, in the same transaction that stores Paidy's answer; the preview and the confirmation say so |
| update, refund, 状態確認 | unaffected | unaffected |

So a closed authorization always ends with a キャンセル order, whichever screen closed it.
The order page keeps the guide's procedure (①対応状況を[キャンセル]に変更 → ②[クローズ] is shown):
:func:`panel_actions` offers クローズ only for a キャンセル order and never offers 売上確定
for one; the batch page and the CLI may close any open or expired authorization and cancel
its order as part of the action.

Decision: capture of a キャンセル order is refused, not "confirmed anyway". A cancelled order
that must be charged after all is a business decision made once on the order (change its
対応状況, which the audit log records), not a checkbox ticked in a hurry in a batch.
"""

from __future__ import annotations

from core.domain import errors
from core.domain.orders import OrderStatus
from core.domain.states import ALLOWED, Action, PaymentState

CANCELLED = OrderStatus.CANCELLED.value


def is_cancelled(order_status: str | None) -> bool:
    return (order_status or "") == CANCELLED


def order_refusal(
    action: Action, order_status: str | None, order_no: int | str = "?"
) -> errors.RuleViolation | None:
    """The refusal the cancel rule gives ``action`` on an order in ``order_status``."""
    if Action(action) is Action.CAPTURE and is_cancelled(order_status):
        return errors.OrderCancelled(order_no=str(order_no))
    return None


def check_order(action: Action, order_status: str | None, order_no: int | str = "?") -> None:
    """Raise the cancel rule's refusal, if any."""
    exc = order_refusal(action, order_status, order_no)
    if exc is not None:
        raise exc


def cancels_order(action: Action, order_status: str | None) -> bool:
    """Whether a successful ``action`` also sets the order's 対応状況 to キャンセル (what the
    preview and the confirmation announce)."""
    return Action(action) is Action.CLOSE and not is_cancelled(order_status)


def status_after(
    action: Action, order_status: str | None, state_after: PaymentState | None
) -> str | None:
    """The 対応状況 the order takes once ``action`` has left the payment in ``state_after``;
    None = unchanged. A close takes effect only if the payment is now closed uncaptured."""
    if cancels_order(action, order_status) and state_after is PaymentState.CLOSED:
        return CANCELLED
    return None


def panel_actions(state: PaymentState, order_status: str | None) -> frozenset[Action]:
    """What the order page offers: the payment table's actions, with クローズ only once the
    order's 対応状況 is キャンセル (the guide) and 売上確定 never for a キャンセル order."""
    offered = set(ALLOWED[state])
    if is_cancelled(order_status):
        offered.discard(Action.CAPTURE)
    else:
        offered.discard(Action.CLOSE)
    return frozenset(offered)
