"""The shape of an adapter's operator-facing failure: a Japanese and an English message,
given when it is raised (a refusal of the payment rules is a ``RuleViolation`` instead)."""

from __future__ import annotations

from core.errors import OperatorError


class BilingualError(OperatorError):
    """An error an operator can meet; ``message(lang)`` is what the screen or CLI shows."""

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(en)
        self.ja, self.en = ja, en

    def message(self, lang: str = "ja") -> str:
        return self.ja if lang == "ja" else self.en
