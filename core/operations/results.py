"""Result objects of the service layer, and the one catalogue of their messages (ja/en).

The guide's wording is kept for successes: 「売上確定(キャプチャー)が成功しました」 etc.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from core.domain.states import Action, PaymentState
from core.domain.statuses import Outcome

SUCCESS: dict[Action, tuple[str, str]] = {
    Action.REFRESH: ("状態確認が完了しました", "Status refreshed"),
    Action.UPDATE: ("更新が成功しました", "Update succeeded"),
    Action.CAPTURE: ("売上確定(キャプチャー)が成功しました", "Capture succeeded"),
    Action.CLOSE: ("クローズが成功しました", "Close succeeded"),
    Action.REFUND: ("払い戻し処理が成功しました", "Refund succeeded"),
}

# Codes of non-rule results (rule refusals carry their own messages, see core.domain.errors).
MESSAGES: dict[str, tuple[str, str]] = {
    "in_progress": (
        "この決済は他の操作が処理中です。完了後に再度ご確認ください。",
        "Another action on this payment is in progress. Check again when it has finished.",
    ),
    "changed": (
        "表示後に決済の状態が変わりました。画面を更新して内容を確認してください。",
        "The payment changed since it was shown. Reload and check it again.",
    ),
    "unsettled": (
        "前回の処理結果が未確定です。先に状態確認(ステータス)を行ってください。",
        "The outcome of an earlier action is not known yet. Refresh the status first.",
    ),
    "no_payment": ("この受注にはPaidy決済がありません。", "This order has no Paidy payment."),
    "no_order": ("注文番号 {order_no} の受注が見つかりません。", "Order {order_no} was not found."),
    "settled_done": (
        "応答は失われましたが、Paidyで処理済みであることを確認しました。",
        "The answer was lost, but Paidy's record shows the action was done.",
    ),
    "settled_not_done": (
        "応答が失われましたが、Paidyで処理されていないことが確定しました。必要なら再度実行してください。",
        "The answer was lost; Paidy's record now proves it was not done. Run it again if needed.",
    ),
    "unknown_checking": (
        "Paidyから応答がありませんでした。処理結果を確認中です({at}以降に確定します)。再実行しないでください。",
        "No answer from Paidy: the outcome is being checked (definite after {at} JST). Do not run it again.",
    ),
    "captured_elsewhere": (
        "この決済は別の操作で売上確定済みです。今回の売上確定は実行されていません。",
        "This payment was captured by another action; this capture was not done.",
    ),
    "applied_late": (
        "「未処理」と判断した後に、Paidyで処理されていたことが判明しました(遅延反映)。担当者の確認が必要です。",
        "Paidy applied this after it had been concluded not done (late landing). A person must check it.",
    ),
    "duplicate_landing": (
        "同じ操作がPaidyに{count}回記録されています。担当者の確認が必要です。",
        "Paidy holds this one request {count} times. A person must check it.",
    ),
    "needs_person": (
        "Paidyの記録から処理結果を自動で判断できません。Paidyの記録を確認して判断してください。",
        "The outcome cannot be decided from Paidy's record automatically. Check Paidy's record and decide.",
    ),
    "stale_read": (
        "Paidyの応答が既に確認済みの記録より古いため保存しませんでした。しばらくしてから状態確認してください。",
        "Paidy's answer is older than what was already confirmed, so it was not stored. Refresh again shortly.",
    ),
    "db_unavailable": (
        "データベースに接続できないため結果を記録できませんでした。結果は未確定です(参照: {ref})。復旧後に状態確認で確定します。",
        "The database could not be reached, so the result was not recorded; the outcome is unknown (ref {ref}). A refresh settles it once the database is back.",
    ),
    "internal_error": (
        "内部エラーが発生しました(参照: {ref})。操作履歴を確認してください。",
        "An internal error occurred (ref {ref}); see the audit log.",
    ),
    "not_run": (
        "データベースに接続できないため実行していません(参照: {ref})。",
        "Not run: the database could not be reached (ref {ref}).",
    ),
    "reviewed": ("確認済みにしました: {note}", "Marked as reviewed: {note}"),
    "resolved": (
        "担当者が処理結果を「{verdict}」と判断しました: {note}",
        "A person decided the outcome was '{verdict}': {note}",
    ),
    "unknown": (
        "Paidyの応答を確認できませんでした。処理結果は未確定です。状態確認で確定してください。",
        "Paidy's answer could not be read and Paidy could not be asked. Refresh later to settle it.",
    ),
    "amount_not_applied": (
        "Paidyは更新を受け付けましたが、金額は変更されませんでした(Paidy: {paidy_amount}円 / 受注: {order_total}円)。",
        "Paidy accepted the update but kept its amount (Paidy: {paidy_amount} yen / order: {order_total} yen).",
    ),
    "unchanged": ("状態確認: 変更はありません", "Refreshed: no change"),
    "state_changed": ("状態確認: {before} → {after}", "Refreshed: {before} → {after}"),
    "unavailable": (
        "Paidyに接続できませんでした。しばらくしてから再度お試しください。",
        "Could not reach Paidy. Please try again shortly.",
    ),
    # --- language that stays (issue 12): audit events and notes stored as keys ----------------
    "order_cancelled_too": (
        "(対応状況をキャンセルに変更しました)",
        "(order status set to Cancelled)",
    ),
    "order_saved": (
        "受注を更新しました(合計 {total_before}円→{total}円, 対応状況 {status_before}→{status})",
        "Order saved (total {total_before} yen → {total} yen, status {status_before} → {status})",
    ),
    "status_changed": (
        "対応状況を {status} に変更 ({count}件: {numbers})",
        "Order status set to {status} (changed: {count}; order numbers: {numbers})",
    ),
    "linked": ("{payment_id} → 注文番号 {order_no}", "{payment_id} → order {order_no}"),
    "webhook_unlinked": (
        "未登録のPaidy決済 {payment_id} の通知を受信しました({status})。ダッシュボードから紐付けできます。",
        "A notification for the unknown Paidy payment {payment_id} arrived ({status}). Link it from the dashboard.",
    ),
    "deleted": ("注文番号 {no} を削除しました。", "Deleted order {no}."),
    "restored": ("注文番号 {no} を復元しました。", "Restored order {no}."),
    "restored_from": ("(削除: {by} {at})", "(deleted by {by} at {at} JST)"),
    "mail_template": ("[{template}] ", "[{template}]"),
    "mail_to": (" 宛先: {to}", "To: {to}"),
}


def render(code: str, lang: str, **params: object) -> str:
    """The catalogue's text of ``code`` in ``lang``; integers with thousands separators,
    label references (``core.messages.label_ref``) as labels."""
    from core.messages import fmt

    ja, en = MESSAGES[code]
    text = ja if lang == "ja" else en
    return text.format(**{k: fmt(v, lang) for k, v in params.items()})


@dataclass(frozen=True)
class ActionResult:
    """What one action on one order came to. ``message_ja``/``message_en`` are final text."""

    action: Action
    outcome: Outcome
    code: str
    message_ja: str
    message_en: str
    order_no: int | None = None
    payment_id: str | None = None
    amount: int | None = None
    request_id: str | None = None
    paidy_code: str | None = None
    paidy_reference: str | None = None
    audit_id: int | None = None
    state_after: PaymentState | None = None
    details: dict = field(default_factory=dict)
    #: the message as keys with parameters (core.messages), rendered in the reader's
    #: language wherever the result is stored; () for a result built from final text only
    msg: tuple = ()

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def stored_msg(self) -> list[dict]:
        """The message to store (audit entry, batch item, Paidy処理結果): its parts, or both
        final texts when it was built without a key."""
        from core.messages import text_part

        return [dict(p) for p in self.msg] or [text_part(self.message_ja, self.message_en)]

    def message(self, lang: str = "ja") -> str:
        return self.message_ja if lang == "ja" else self.message_en

    def cli_line(self) -> str:
        """``61 capture ok`` / ``62 capture skipped: expired`` / ``63 refund failed: ...``"""
        head = f"{self.order_no if self.order_no is not None else self.payment_id} {self.action.value} {self.outcome.value}"
        if self.outcome is Outcome.OK and self.code in ("ok", "unchanged"):
            return head
        return f"{head}: {self.code}: {self.message_en}"


def result_for(
    action: Action, outcome: Outcome, code: str, order_no, payment_id, /, **params
) -> ActionResult:
    """A result whose message comes from the MESSAGES catalogue."""
    from core.messages import part

    return ActionResult(
        action,
        outcome,
        code,
        render(code, "ja", **params),
        render(code, "en", **params),
        order_no,
        payment_id,
        msg=(part(code, **params),),
    )


def succeeded(action: Action, order_no, payment_id, amount=None, **fields) -> ActionResult:
    """The guide's success sentence (a refund names its amount): outcome ok, code ok."""
    from core.messages import part, render_part

    named = amount is not None and action is Action.REFUND
    p = part(f"success.{action.value}", **({"amount": amount} if named else {}))
    return ActionResult(
        action,
        Outcome.OK,
        "ok",
        render_part(p, "ja"),
        render_part(p, "en"),
        order_no,
        payment_id,
        amount,
        msg=(p,),
        **fields,
    )


def with_note(result: ActionResult, code: str, **params) -> ActionResult:
    """The result with one more sentence of the catalogue after its message."""
    from core.messages import part, render

    p = part(code, **params)
    parts = (*(result.msg or result.stored_msg()), p)
    return replace(
        result, message_ja=render(parts, "ja"), message_en=render(parts, "en"), msg=parts
    )


def from_refusal(action: Action, exc, order_no, payment_id) -> ActionResult:
    """A rule refused the action (a RuleViolation): skipped, nothing sent."""
    from core.messages import error_part

    return ActionResult(
        action,
        Outcome.SKIPPED,
        exc.code,
        exc.message("ja"),
        exc.message("en"),
        order_no,
        payment_id,
        msg=(error_part(exc),),
    )


def from_paidy_error(action: Action, exc, order_no, payment_id, amount=None) -> ActionResult:
    """Paidy refused (API error: Paidy's words verbatim) or could not be reached."""
    from core.messages import error_part
    from core.paidy.errors import PaidyAPIError

    if isinstance(exc, PaidyAPIError):
        details = {
            "paidy_title": exc.title,
            "paidy_description": exc.description,
            "http_status": exc.http_status,
        }
        return ActionResult(
            action,
            Outcome.FAILED,
            exc.code or f"http_{exc.http_status}",
            exc.message("ja"),
            exc.message("en"),
            order_no,
            payment_id,
            amount,
            request_id=exc.request_id,
            paidy_code=exc.code,
            paidy_reference=exc.reference,
            details=details,
            msg=(error_part(exc),),
        )
    return ActionResult(
        action,
        Outcome.FAILED,
        "unavailable",
        exc.message("ja"),
        exc.message("en"),
        order_no,
        payment_id,
        amount,
        request_id=getattr(exc, "request_id", None),
        msg=(error_part(exc),),
    )


def with_(result: ActionResult, **changes) -> ActionResult:
    return replace(result, **changes)
