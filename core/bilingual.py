"""The one shape of an operator-facing failure: a Japanese and an English message."""

from __future__ import annotations


class BilingualError(Exception):
    """An error an operator can meet; ``message(lang)`` is what the screen or CLI shows."""

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(en)
        self.ja, self.en = ja, en

    def message(self, lang: str = "ja") -> str:
        return self.ja if lang == "ja" else self.en
