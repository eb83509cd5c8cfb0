"""Messages stored as keys with parameters, rendered in the reader's language.

A result or an audit entry keeps *what happened* as a list of parts, each
``{"code": <key>, "params": {...}}`` (``audit_log.detail["msg"]``, ``batch_items.msg``,
``paidy_payments.last_result_msg``), and every screen renders it when it is read, in the
language of whoever reads it. The same entry reads 「売上確定(キャプチャー)が成功しました」 on a
Japanese screen and "Capture succeeded" on an English one.

Where a code is looked up, in order:

- ``success.<action>``: the guide's success sentences (``core.operations.results.SUCCESS``);
- the result catalogue ``core.operations.results.MESSAGES`` (``in_progress``, ``settled_done`` ...);
- ``rule:<code>``: a refusal (:class:`~core.domain.errors.RuleViolation` subclass by its
  ``code``), rebuilt from its params;
- ``paidy.*``: Paidy's errors, rebuilt from Paidy's own words (title, description ...);
- ``text``: a message that has no key (``{"ja": ..., "en": ...}``), kept in both languages.

A param may be a label reference ``{"label": "state", "key": "open"}``: it is shown as the
label of that key in the reader's language (オープン / Open), never as the key.

Parts are joined with nothing in Japanese and a space in English. An unknown code (a part
written by a newer version) makes the whole message fall back to the text stored beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

Part = dict[str, Any]

_JSON_SCALARS = (str, int, float, bool, type(None))


class UnknownMessage(LookupError):
    """A part whose code this version does not know."""


# ------------------------------------------------------------------------------ building
def part(code: str, /, **params: object) -> Part:
    """One part: ``{"code": code, "params": {...}}`` with JSON-safe params."""
    return {"code": code, "params": {k: _json_safe(v) for k, v in params.items()}}


def label_ref(kind: str, key: object) -> dict[str, str]:
    """A param shown as the label of ``key`` (``kind``: state, order_status, action, role,
    outcome, template)."""
    return {"label": kind, "key": str(getattr(key, "value", key))}


def text_part(ja: str, en: str) -> Part:
    """A message that has no key (a third party's bilingual error): both texts kept."""
    return {"code": "text", "params": {"ja": str(ja), "en": str(en)}}


def refusal_part(exc) -> Part:
    """A RuleViolation as a part (rebuilt from its code and params when read)."""
    return {
        "code": f"rule:{exc.code}",
        "params": {k: _json_safe(v) for k, v in (exc.params or {}).items()},
    }


def error_part(exc) -> Part:
    """Anything an operator can meet that has ``message(lang)``: a refusal, one of Paidy's
    errors, or any bilingual error (kept as its two texts)."""
    from core.domain.errors import RuleViolation
    from core.paidy import errors as pe

    if isinstance(exc, RuleViolation) and _rule_classes().get(exc.code) is type(exc):
        return refusal_part(exc)
    if isinstance(exc, pe.PaidyAPIError):
        return part(
            "paidy.api_error",
            http_status=exc.http_status,
            code=exc.code,
            title=exc.title,
            description=exc.description,
            reference=exc.reference,
        )
    for kind, cls in _PAIDY_KINDS.items():
        if type(exc) is getattr(pe, cls):
            return part(kind, **{k: getattr(exc, k) for k in _PAIDY_PARAMS[kind]})
    return text_part(exc.message("ja"), exc.message("en"))


def _json_safe(value: object) -> object:
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return str(getattr(value, "value", value))


# ------------------------------------------------------------------------------ rendering
def render(parts: Iterable[Part] | None, lang: str) -> str:
    """The message in ``lang``; raises :class:`UnknownMessage` for a code not known here."""
    if not parts:
        raise UnknownMessage("empty")
    texts = [render_part(p, lang) for p in parts]
    return ("" if lang == "ja" else " ").join(t for t in texts if t)


def shown(parts: object, lang: str, *, ja: str | None = "", en: str | None = None) -> str:
    """What a reader sees: ``parts`` rendered in ``lang``; without parts (an entry written
    before messages were stored as keys) or with a code this version does not know, the
    text stored beside them (``en`` for English when there is one, else ``ja``)."""
    if isinstance(parts, list) and parts:
        try:
            return render(parts, lang)
        except (UnknownMessage, KeyError, IndexError, TypeError, ValueError):
            pass
    if lang != "ja" and en:
        return str(en)
    return str(ja or "")


def render_part(p: Part, lang: str) -> str:
    code = str(p.get("code", ""))
    params = dict(p.get("params") or {})
    if code == "text":
        return str(params.get("ja" if lang == "ja" else "en", ""))
    if code.startswith("success."):
        return _success(code[len("success.") :], params, lang)
    if code.startswith("rule:"):
        cls = _rule_classes().get(code[len("rule:") :])
        if cls is None:
            raise UnknownMessage(code)
        return cls(**{k: _resolve(v, lang) for k, v in params.items()}).message(lang)
    if code in _PAIDY_KINDS or code == "paidy.api_error":
        return _paidy(code, params, lang)
    from core.operations.results import MESSAGES

    if code not in MESSAGES:
        raise UnknownMessage(code)
    ja, en = MESSAGES[code]
    return (ja if lang == "ja" else en).format(**{k: fmt(v, lang) for k, v in params.items()})


def fmt(value: object, lang: str) -> object:
    """A param as shown: integers with thousands separators, label references as labels."""
    value = _resolve(value, lang)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value


def _resolve(value: object, lang: str) -> object:
    if isinstance(value, Mapping) and "label" in value and "key" in value:
        return label_text(str(value["label"]), str(value["key"]), lang)
    return value


def label_text(kind: str, key: str, lang: str) -> str:
    """The label of a stored key (a state, an order status, an action ...) in ``lang``."""
    if kind in ("role", "verdict", "outcome", "action"):
        from core import i18n

        return i18n.label(kind, key, lang)
    if kind == "template":
        from core.mail.templates import template_label

        try:
            return template_label(key, lang)
        except (KeyError, ValueError):
            return key
    from core.domain.orders import label_for

    return label_for(kind, key, lang)


def _success(action: str, params: dict, lang: str) -> str:
    from core.domain.states import Action
    from core.operations.results import SUCCESS

    ja, en = SUCCESS[Action(action)]
    amount = params.get("amount")
    if isinstance(amount, int) and Action(action) is Action.REFUND:
        return f"{ja} ({amount:,}円)" if lang == "ja" else f"{en} ({amount:,} yen)"
    return ja if lang == "ja" else en


# ------------------------------------------------------------------------------ Paidy errors
_PAIDY_KINDS = {
    "paidy.unknown_outcome": "PaidyUnknownOutcome",
    "paidy.unavailable": "PaidyUnavailable",
    "paidy.bad_answer": "PaidyBadAnswer",
    "paidy.invalid_payment_id": "InvalidPaymentId",
}
_PAIDY_PARAMS = {
    "paidy.unknown_outcome": ("method", "path", "reason"),
    "paidy.unavailable": ("reason",),
    "paidy.bad_answer": ("reason",),
    "paidy.invalid_payment_id": ("value",),
}


def _paidy(code: str, params: dict, lang: str) -> str:
    from core.paidy import errors as pe

    if code == "paidy.api_error":
        return pe.PaidyAPIError(**params).message(lang)
    cls = getattr(pe, _PAIDY_KINDS[code])
    return cls(**params).message(lang)


# ------------------------------------------------------------------------------ refusals
#: modules that define refusals (RuleViolation subclasses), imported before the lookup
_RULE_MODULES = (
    "core.domain.errors",
    "core.domain.deletion",
    "core.domain.orders",
    "core.roles",
    "core.operations.orders",
    "core.operations.link",
    "core.mail.text",
    "core.mail.templates",
)


@cache
def _rule_classes() -> dict[str, type]:
    """code -> RuleViolation subclass (the first one defining it)."""
    import importlib

    from core.domain.errors import RuleViolation

    for name in _RULE_MODULES:
        importlib.import_module(name)
    found: dict[str, type] = {}
    todo = list(RuleViolation.__subclasses__())
    while todo:
        cls = todo.pop(0)
        todo.extend(cls.__subclasses__())
        found.setdefault(cls.code, cls)
    return found


def rule_codes() -> dict[str, type]:
    """Every refusal code and its class (tests check they are unique)."""
    return dict(_rule_classes())
