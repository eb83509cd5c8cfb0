"""Refused search input: :class:`InvalidQuery` and the condition names its messages use."""

from __future__ import annotations

from core.bilingual import BilingualError
from core.i18n import both


class InvalidQuery(BilingualError):
    """A search condition that cannot be used; ``field`` names it, ja/en say why."""

    def __init__(self, field: str, ja: str, en: str) -> None:
        super().__init__(ja, en)
        self.field = field


def field_names(field: str) -> tuple[str, str]:
    """(ja, en) name of a search condition (the catalogue's ``field.*``)."""
    return both(f"field.{field}", field)
