"""What can go wrong talking to Paidy, as distinct types so no failure looks like success.

- :class:`PaidyAPIError`: Paidy answered with an error; the action was *not* applied.
- :class:`PaidyUnknownOutcome`: a mutating call (POST/PUT) got no trustworthy answer (timeout,
  dropped connection, 5xx, a body that is not a payment). It *may* have been applied: the
  caller must re-read the payment and decide; it must never resend blindly.
- :class:`PaidyUnavailable`: a read (GET) failed after its retries; nothing changed.
- :class:`InvalidPaymentId`: refused before any request (the id would go into a URL).
"""

from __future__ import annotations


class PaidyError(Exception):
    request_id: str | None = None

    def message(self, lang: str = "ja") -> str:
        return str(self)


class InvalidPaymentId(PaidyError):
    def __init__(self, value: object) -> None:
        super().__init__("invalid payment id")
        self.value = value

    def message(self, lang: str = "ja") -> str:
        if lang == "ja":
            return "Paidy決済IDの形式が正しくありません(pay_ で始まる英数字)。"
        return "The Paidy payment id is not valid (pay_ followed by letters and digits)."


class PaidyAPIError(PaidyError):
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


class PaidyUnknownOutcome(PaidyError):
    """A POST/PUT whose result we could not read. ``reason``: timeout | connection |
    server_error | invalid_body."""

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
            return f"Paidyからの応答を確認できませんでした({self.reason})。処理結果は状態確認で確定します。"
        return f"Paidy's answer could not be read ({self.reason}); a status refresh settles the outcome."


class PaidyUnavailable(PaidyError):
    def __init__(self, reason: str, http_status: int | None = None, request_id: str | None = None):
        self.reason, self.http_status, self.request_id = reason, http_status, request_id
        super().__init__(f"Paidy unavailable: {reason}")

    def message(self, lang: str = "ja") -> str:
        if lang == "ja":
            return (
                f"Paidyに接続できませんでした({self.reason})。しばらくしてから再度お試しください。"
            )
        return f"Could not reach Paidy ({self.reason}). Please try again shortly."
