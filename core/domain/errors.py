"""Named refusals of the payment rules, each with a Japanese and an English message.

Every rule that can refuse an operator's action raises one of these; the screens and the CLI
show ``exc.message(lang)``. ``code`` is a stable key for logs, tests and the audit log.
"""

from __future__ import annotations

from typing import ClassVar

from core.errors import OperatorError


class RuleViolation(OperatorError):
    """An action or input refused by a business rule. Nothing was sent to Paidy."""

    code = "rule_violation"
    ja = "この操作は実行できません。"
    en = "This action is not allowed."
    #: params that hold a stored key, shown as its label: param -> vocabulary
    #: (``core.domain.orders.LABEL_KINDS``, or "role")
    labelled: ClassVar[dict[str, str]] = {}

    def __init__(self, **params: object) -> None:
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "ja") -> str:
        template = self.ja if lang == "ja" else self.en
        return template.format(**{k: self._shown(k, v, lang) for k, v in self.params.items()})

    def _shown(self, name: str, value: object, lang: str) -> object:
        kind = self.labelled.get(name)
        if kind is not None and isinstance(value, str):
            from core.messages import label_text

            return label_text(kind, value, lang)
        return _fmt(value)


def _fmt(value: object) -> object:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value


# --- state refusals -------------------------------------------------------------------------
class PaymentExpired(RuleViolation):
    code = "expired"
    ja = "売上確定(キャプチャ)有効期限を過ぎています。クローズのみ可能です。"
    en = "The authorization has expired; it can only be closed."


class AlreadyCaptured(RuleViolation):
    code = "already_captured"
    ja = "すでに売上確定(キャプチャー)済みです。"
    en = "The payment has already been captured."


class AlreadyClosed(RuleViolation):
    code = "already_closed"
    ja = "すでにクローズ済みです。"
    en = "The payment is already closed."


class NotCaptured(RuleViolation):
    code = "not_captured"
    ja = "売上確定(キャプチャー)されていないため払い戻しできません。"
    en = "The payment has not been captured, so it cannot be refunded."


class NothingToRefund(RuleViolation):
    code = "nothing_to_refund"
    ja = "払い戻し可能な金額がありません(全額払い戻し済み)。"
    en = "Nothing is left to refund (fully refunded)."


class PaymentRejected(RuleViolation):
    code = "rejected"
    ja = "与信NGの決済は操作できません。"
    en = "The payment was rejected; no action is possible."


class UnknownPaymentState(RuleViolation):
    code = "unknown_state"
    ja = "Paidyの状態が不明です({status})。状態確認を行ってください。"
    en = "Paidy's status is unknown ({status}); refresh the payment first."


class ActionNotAllowed(RuleViolation):
    code = "not_allowed"
    ja = "現在の状態({state})では{action}は実行できません。"
    en = "{action} is not possible in the current state ({state})."
    labelled: ClassVar[dict[str, str]] = {"action": "action", "state": "state"}


class OrderNotFound(RuleViolation):
    code = "no_order"
    ja = "注文番号 {order_no} の受注が見つかりません。"
    en = "Order {order_no} was not found."


# --- amount refusals ------------------------------------------------------------------------
class InvalidYen(RuleViolation):
    """What a person typed is not a whole, positive number of yen."""

    code = "invalid_yen"


class EmptyAmount(InvalidYen):
    code = "amount_empty"
    ja = "金額を入力してください。"
    en = "Enter an amount."


class NotANumber(InvalidYen):
    code = "amount_not_number"
    ja = "金額は半角または全角の数字で入力してください(例: 1,000)。"
    en = "Enter the amount as digits (e.g. 1,000)."


class NotWholeYen(InvalidYen):
    code = "amount_not_whole"
    ja = "金額は1円単位の整数で入力してください(小数は使えません)。"
    en = "Enter a whole number of yen (no decimals)."


class NotPositive(InvalidYen):
    code = "amount_not_positive"
    ja = "金額は1円以上で入力してください。"
    en = "The amount must be at least 1 yen."


class AmountTooLarge(InvalidYen):
    code = "amount_too_large"
    ja = "金額が大きすぎます(上限 {limit}円)。"
    en = "The amount is too large (limit {limit} yen)."


class RefundOverLimit(RuleViolation):
    code = "refund_over_limit"
    ja = "払い戻し額 {amount}円 が払い戻し可能額 {refundable}円 を超えています。"
    en = "The refund of {amount} yen exceeds the refundable {refundable} yen."


class UpdateOverLimit(RuleViolation):
    code = "update_over_limit"
    ja = "アップデート後の金額 {amount}円 が上限 {limit}円(注文代金 {authorized}円 の10%増まで)を超えています。"
    en = "The updated amount of {amount} yen exceeds the limit of {limit} yen (authorized {authorized} yen + 10%)."


class UpdateNotPositive(RuleViolation):
    code = "update_not_positive"
    ja = "アップデート後の金額は1円以上である必要があります(現在 {amount}円)。"
    en = "The updated amount must be at least 1 yen (now {amount} yen)."


class NoChangeNeeded(RuleViolation):
    code = "no_change"
    ja = "受注のお支払い合計とPaidy注文代金の総額が同じため、アップデートは不要です。"
    en = "The order total already equals Paidy's amount; nothing to update."


class TotalMismatch(RuleViolation):
    """Capture asked while the order total differs from Paidy's amount: needs confirmation."""

    code = "total_mismatch"
    ja = "受注のお支払い合計({order_total}円)とPaidy注文代金の総額({paidy_amount}円)が異なります。このまま売上確定するにはご確認ください。"
    en = "The order total ({order_total} yen) differs from Paidy's amount ({paidy_amount} yen); confirm to capture anyway."


# --- the cancel rule (core.domain.cancellation) ---------------------------------------------
class OrderCancelled(RuleViolation):
    """Capture asked for an order whose 対応状況 is キャンセル."""

    code = "order_cancelled"
    ja = "注文番号 {order_no} は対応状況が「キャンセル」のため売上確定(キャプチャー)できません。キャンセルを取り消す場合は、先に受注編集で対応状況を変更してください。"
    en = "Order {order_no} is cancelled (status: Cancelled), so it cannot be captured. To undo the cancellation, change its status on the order page first."
