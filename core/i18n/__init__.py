"""The one ja/en catalogue of the screens' words.

Japanese first, with the operation guide's wording (▼Paidy 決済情報, 売上確定(キャプチャー),
「11件が該当しました。」 ...). ``t(key, lang, **params)`` formats with ``str.format``; an
unknown key returns the key itself (visible, never a crash). Unit tests check that every
key has both languages and the same placeholders, that every key the code names exists,
and that no key is unused.

The catalogue is kept in one module per area (:mod:`.vocabulary`, :mod:`.frame`,
:mod:`.dashboard`, :mod:`.orders`, :mod:`.payments`, :mod:`.settings`) and merged here.
Labels of stored values live in :mod:`.vocabulary`: outcomes of audit entries and batch
items (``outcome.<value>``), actions (``action.<value>``), roles, verdicts, batch actions,
and the names of search fields. Labels of the order's choices (対応状況, Paidy状態 ...) live
in ``core.domain.orders`` beside their enums; messages of results and refusals come with
the results (``.message(lang)``).
"""

from __future__ import annotations

from core.i18n import dashboard, frame, orders, payments, settings, vocabulary

LANGS = ("ja", "en")
DEFAULT_LANG = "ja"

#: key prefixes the code completes at run time (``t(f"outcome.{value}")``): a key under one
#: of them counts as used (tests/unit/test_i18n_keys.py); each names the values it takes
DYNAMIC_PREFIXES: dict[str, str] = {
    "outcome.": "AuditOutcome / ItemStatus values (core.domain.statuses)",
    "action.": "audit_log.action values (payment actions, events)",
    "kind.": "kinds of timeline entries (pages/order.py, pages/dashboard.py)",
    "result.": "Outcome values of a failed/unknown/skipped result (pages/_ui.py)",
    "role.": "core.roles.Role values",
    "verdict.": "core.operations.verdict.Verdict values (done / not_done)",
    "batch_action.": "core.operations.batch.BatchAction values",
    "field.": "search condition fields (core.search)",
    "col.": "column keys of the audit log and the sort choices (pages/audit.py, pages/orders.py)",
    "paidy.btn.": "Action values (the order page's buttons)",
    "paidy.desc.": "Action values (the order page's buttons)",
    "mail.status.": "mail_log.status values",
}


def _merge(*parts: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for part in parts:
        twice = merged.keys() & part.keys()
        if twice:
            raise ValueError(f"i18n keys defined twice: {sorted(twice)}")
        merged.update(part)
    return merged


CATALOG: dict[str, tuple[str, str]] = _merge(
    vocabulary.CATALOG,
    frame.CATALOG,
    dashboard.CATALOG,
    orders.CATALOG,
    payments.CATALOG,
    settings.CATALOG,
)


def t(key: str, lang: str = DEFAULT_LANG, **params: object) -> str:
    """The text of ``key`` in ``lang`` ("ja" or "en"), formatted with ``params``.

    Integers are shown with thousands separators (1,380), as the guide does."""
    pair = CATALOG.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    if not params:
        return text
    shown = {
        k: (f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v)
        for k, v in params.items()
    }
    try:
        return text.format(**shown)
    except (KeyError, IndexError, ValueError):
        return text


def has(key: str) -> bool:
    return key in CATALOG


def both(key: str, default: str | None = None) -> tuple[str, str]:
    """``(ja, en)`` of ``key``, for a bilingual error built from catalogue words;
    ``(default, default)`` (or the key) when the catalogue has no such key."""
    pair = CATALOG.get(key)
    if pair is None:
        shown = key if default is None else default
        return shown, shown
    return pair


def label(prefix: str, value: object, lang: str = DEFAULT_LANG) -> str:
    """The label of a stored value (``label("role", "admin", "ja")`` -> 管理者); a value the
    catalogue does not know is shown as it is."""
    key = f"{prefix}.{getattr(value, 'value', value)}"
    return t(key, lang) if key in CATALOG else str(getattr(value, "value", value))
