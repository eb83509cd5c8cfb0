"""When an order may be deleted (削除): the one rule, as a pure function over its payment.

An order may leave the lists only when no money can still move on its Paidy payment:
no payment, closed without capture (キャンセル), fully refunded, or rejected. These are final
in Paidy (nothing reopens them), so a snapshot cannot be "stale" in the dangerous direction.
Refused, with the reason and what to do:
- open or expired authorization: close it first (クローズ);
- captured, or partially refunded: money is billed; refund it fully first;
- unknown state, or an action in flight / with an unsettled outcome: 状態確認 first.
Restoring needs only that the order is deleted.
"""

from __future__ import annotations

from core.domain.errors import RuleViolation
from core.domain.states import PaymentState

#: Payment states that allow deleting the order (``None``: the order has no payment).
DELETABLE: frozenset[PaymentState | None] = frozenset(
    {None, PaymentState.CLOSED, PaymentState.REFUNDED, PaymentState.REJECTED}
)


class DeleteOpenPayment(RuleViolation):
    code = "delete_open"
    ja = "注文番号 {order_no} はPaidy決済がオープン(売上確定前)のため削除できません。先にクローズしてください。"
    en = "Order {order_no} cannot be deleted: its Paidy payment is open (not captured). Close it first."


class DeleteExpiredPayment(RuleViolation):
    code = "delete_expired"
    ja = "注文番号 {order_no} はPaidy決済の与信が残っている(有効期限切れ)ため削除できません。先にクローズしてください。"
    en = "Order {order_no} cannot be deleted: its Paidy authorization has expired but is not closed. Close it first."


class DeleteCapturedPayment(RuleViolation):
    code = "delete_captured"
    ja = "注文番号 {order_no} はPaidy決済が売上確定済みで全額払い戻しされていないため削除できません(請求済金額 {billed}円)。全額払い戻し後に削除してください。"
    en = "Order {order_no} cannot be deleted: its Paidy payment is captured and not fully refunded ({billed} yen billed). Refund it fully first."


class DeleteUnknownPayment(RuleViolation):
    code = "delete_unknown_state"
    ja = "注文番号 {order_no} はPaidyの状態が不明({status})のため削除できません。状態確認を行ってください。"
    en = "Order {order_no} cannot be deleted: Paidy's status is unknown ({status}). Refresh the payment first."


class DeletePaymentBusy(RuleViolation):
    code = "delete_busy"
    ja = "注文番号 {order_no} はPaidy決済の処理中、または結果が未確定のため削除できません。状態確認を行ってから再度お試しください。"
    en = "Order {order_no} cannot be deleted: an action on its Paidy payment is in progress or its outcome is not known yet. Refresh the payment, then try again."


class AlreadyDeleted(RuleViolation):
    code = "already_deleted"
    ja = "注文番号 {order_no} はすでに削除されています。"
    en = "Order {order_no} is already deleted."


class NotDeleted(RuleViolation):
    code = "not_deleted"
    ja = "注文番号 {order_no} は削除されていません。"
    en = "Order {order_no} is not deleted."


class OrderIsDeleted(RuleViolation):
    """Editing (or linking a payment to) an order that is deleted."""

    code = "order_deleted"
    ja = "注文番号 {order_no} は削除されています。編集するには管理者が復元してください。"
    en = "Order {order_no} is deleted. An administrator must restore it before it can be changed."


def delete_refusal(
    order_no: int,
    state: PaymentState | None,
    *,
    status: str = "",
    billed: int = 0,
    busy: bool = False,
) -> RuleViolation | None:
    """Why the order cannot be deleted now, or None when it may be.

    ``state`` is the payment's derived state (None: no payment); ``busy``: an action on the
    payment is in flight or has an unsettled outcome.
    """
    no = str(order_no)  # a number as typed, never "1,234"
    if busy:
        return DeletePaymentBusy(order_no=no)
    if state in DELETABLE:
        return None
    if state is PaymentState.OPEN:
        return DeleteOpenPayment(order_no=no)
    if state is PaymentState.EXPIRED:
        return DeleteExpiredPayment(order_no=no)
    if state in (PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED):
        return DeleteCapturedPayment(order_no=no, billed=billed)
    return DeleteUnknownPayment(order_no=no, status=status or "?")
