"""What can go wrong talking to Paidy, as distinct types so no failure looks like success.

- :class:`PaidyAPIError`: Paidy answered with an error; the action was *not* applied.
- :class:`PaidyUnknownOutcome`: a mutating call (POST/PUT) got no trustworthy answer (timeout,
  dropped connection, 5xx, a body that is not a payment). It *may* have been applied: the
  caller must re-read the payment and decide; it must never resend blindly.
- :class:`PaidyUnavailable`: a read (GET) failed after its retries; nothing changed.
- :class:`PaidyBadAnswer`: a read got an answer that cannot be Paidy's record of the payment
  asked (another payment's id, negative amounts, refunds above the capture, over 1 MB, a
  redirect). Nothing from it is stored. (On a write the same is an unknown outcome.)
- :class:`InvalidPaymentId`: refused before any request (the id would go into a URL).
"""

from __future__ import annotations

from core.errors import OperatorError


class PaidyError(OperatorError):
    """``code``: ``paidy.<kind>``; on a :class:`PaidyAPIError`, Paidy's own error code."""

    code = "paidy.error"
    request_id: str | None = None


class InvalidPaymentId(PaidyError):
    code = "paidy.invalid_payment_id"

    def __init__(self, value: object) -> None:
        super().__init__("invalid payment id")
        self.value = value

    def message(self, lang: str = "ja") -> str:
        if lang == "ja":
            return "Paidy決済IDの形式が正しくありません(pay_ で始まる英数字)。"
        return "The Paidy payment id is not valid (pay_ followed by letters and digits)."


class PaidyAPIError(PaidyError):
    code = "paidy.api_error"  # an instance holds Paidy's code instead ("" when none given)

    def __init__(
        self,
        http_status: int,
        code: str | None = None,
        title: str | None = None,
        description: str | None = None,
        reference: str | None = None,
        request_id: str | None = None,
        details: list | None = None,
    ) -> None:
        self.http_status = http_status
        self.code = code or ""
        self.title = title or ""
        self.description = description or ""
        self.reference = reference or ""
        self.request_id = request_id
        self.details = details or []
        super().__init__(self.summary())

    def summary(self) -> str:
        """Paidy's own words, verbatim: code, title, description, reference."""
        parts = [f"HTTP {self.http_status}"]
        if self.code:
            parts.append(self.code)
        text = " / ".join(p for p in (self.title, self.description) if p)
        if text:
            parts.append(text)
        if self.reference:
            parts.append(f"ref {self.reference}")
        return " ".join(parts[:2]) + (": " + " ".join(parts[2:]) if len(parts) > 2 else "")

    def message(self, lang: str = "ja") -> str:
        lead = "Paidyがエラーを返しました" if lang == "ja" else "Paidy returned an error"
        return f"{lead} ({self.summary()})"

    @property
    def is_auth_error(self) -> bool:
        return self.http_status in (401, 403)


#: Why an answer was not trusted (reason code -> ja, en). Shared by PaidyBadAnswer and
#: PaidyUnknownOutcome so the operator reads the same words for the same problem.
REASONS: dict[str, tuple[str, str]] = {
    "timeout": ("時間内に応答がありませんでした", "no answer in time"),
    "connection": ("接続が切れました", "the connection was lost"),
    "no_slot": (
        "同時接続数の上限で待ちきれませんでした(未送信)",
        "no free connection slot (not sent)",
    ),
    "server_error": ("Paidy側のエラー", "a server error at Paidy"),
    "invalid_body": ("応答が決済データではありません", "the answer is not a payment"),
    "too_large": ("応答が大きすぎます(1MB超)", "the answer is larger than 1 MB"),
    "redirect": ("リダイレクト応答(追従しません)", "a redirect (never followed)"),
    "wrong_payment": ("別の決済の記録が返されました", "the answer is another payment's record"),
    "bad_amount": (
        "金額が不正です(負の値または整数以外)",
        "an amount is negative or not whole yen",
    ),
    "refund_over_capture": (
        "払い戻し額が売上確定額を超えています",
        "the refunds exceed the capture",
    ),
    "foreign_capture": (
        "この決済に属さない売上確定IDを含みます",
        "a refund names a capture of another payment",
    ),
}


def reason_text(reason: str, lang: str = "ja") -> str:
    ja, en = REASONS.get(reason, (reason, reason))
    return ja if lang == "ja" else en


class PaidyBadAnswer(PaidyError):
    """A read's answer that cannot be trusted: nothing from it is stored."""

    code = "paidy.bad_answer"

    def __init__(self, reason: str, http_status: int | None = None, request_id: str | None = None):
        self.reason, self.http_status, self.request_id = reason, http_status, request_id
        super().__init__(f"untrustworthy answer from Paidy: {reason}")

    def message(self, lang: str = "ja") -> str:
        if lang == "ja":
            return (
                f"Paidyの応答を信頼できないため保存しませんでした({reason_text(self.reason, 'ja')})。"
                "しばらくしてから状態確認を行ってください。"
            )
        return (
            f"Paidy's answer was not trusted and nothing was stored ({reason_text(self.reason, 'en')})."
            " Refresh again later."
        )


class PaidyUnknownOutcome(PaidyError):
    """A POST/PUT whose result we could not read or trust. ``reason``: a key of
    :data:`REASONS` (timeout, connection, server_error, invalid_body, too_large, redirect,
    wrong_payment, bad_amount, ...)."""

    code = "paidy.unknown_outcome"

    def __init__(
        self,
        method: str,
        path: str,
        reason: str,
        http_status: int | None = None,
        request_id: str | None = None,
        api_error: PaidyAPIError | None = None,
    ) -> None:
        self.method, self.path, self.reason = method, path, reason
        self.http_status = http_status
        self.request_id = request_id
        self.api_error = api_error
        super().__init__(f"unknown outcome of {method} {path}: {reason}")

    def message(self, lang: str = "ja") -> str:
        if lang == "ja":
            return f"Paidyからの応答を確認できませんでした({reason_text(self.reason, 'ja')})。処理結果は状態確認で確定します。"
        return f"Paidy's answer could not be read ({reason_text(self.reason, 'en')}); a status refresh settles the outcome."


class PaidyUnavailable(PaidyError):
    code = "paidy.unavailable"

    def __init__(self, reason: str, http_status: int | None = None, request_id: str | None = None):
        self.reason, self.http_status, self.request_id = reason, http_status, request_id
        super().__init__(f"Paidy unavailable: {reason}")

    def message(self, lang: str = "ja") -> str:
        if lang == "ja":
            return f"Paidyに接続できませんでした({reason_text(self.reason, 'ja')})。しばらくしてから再度お試しください。"
        return (
            f"Could not reach Paidy ({reason_text(self.reason, 'en')}). Please try again shortly."
        )
