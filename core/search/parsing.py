"""Typed search input -> values: text, dates, whole numbers, yen, choices and flags.

Each parser takes the condition's field name (for the message) and what was typed, and
returns the value or ``None`` (nothing typed); anything else raises :class:`InvalidQuery`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from core.domain import errors as domain_errors
from core.domain.money import only_typed_digits, parse_yen
from core.domain.orders import InvalidChoice, parse_choice
from core.search.invalid import InvalidQuery, field_names

MAX_TEXT = 100

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


def clean_text(field: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        ja, en = field_names(field)
        raise InvalidQuery(field, f"{ja}は文字で入力してください。", f"Enter {en} as text.")
    if value == "":
        return None
    ja, en = field_names(field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQuery(
            field,
            f"{ja}に使用できない文字が含まれています。",
            f"The {en} contains invalid characters.",
        ) from None
    cleaned = _CONTROL.sub(" ", value).strip()
    if not cleaned:
        raise InvalidQuery(
            field,
            f"{ja}に空白以外の文字を入力してください。",
            f"The {en} filter contains only spaces; enter some text or leave it empty.",
        )
    if len(cleaned) > MAX_TEXT:
        raise InvalidQuery(
            field,
            f"{ja}は{MAX_TEXT}文字以内で入力してください。",
            f"The {en} filter is limited to {MAX_TEXT} characters.",
        )
    return cleaned


def parse_date(field: str, value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    ja, en = field_names(field)
    bad = InvalidQuery(
        field,
        f"{ja}は YYYY-MM-DD 形式の正しい日付で入力してください(例: 2025-01-31)。",
        f"Enter the {en} as a valid date YYYY-MM-DD (e.g. 2025-01-31).",
    )
    if not isinstance(value, str):
        raise bad
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", value).strip())
    if not match:
        raise bad
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise bad from None


def parse_int(field: str, value: object, minimum: int, *, yen: bool = False) -> int | None:
    if value is None or value == "":
        return None
    ja, en = field_names(field)
    low = f"{minimum:,}円以上" if yen else f"{minimum}以上"
    too_low = InvalidQuery(
        field, f"{ja}は{low}で指定してください。", f"The {en} must be {minimum} or more."
    )
    not_number = InvalidQuery(
        field, f"{ja}は整数で入力してください。", f"Enter the {en} as a whole number."
    )
    if isinstance(value, bool):
        raise not_number
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        normal = unicodedata.normalize("NFKC", value).strip()
        if yen and normal.lstrip("¥\\").strip() in ("0", "0円"):
            value = 0
        elif yen:
            try:
                value = parse_yen(value)  # the typed text: it refuses 1², ٣ before NFKC
            except domain_errors.NotPositive:
                raise too_low from None
            except domain_errors.InvalidYen as exc:
                raise InvalidQuery(
                    field, f"{ja}: {exc.message('ja')}", f"{en}: {exc.message('en')}"
                ) from None
        elif re.fullmatch(r"[+-]?[0-9]{1,100}", normal) and only_typed_digits(value):
            value = int(normal)
        else:
            raise not_number
    if not isinstance(value, int):
        raise not_number
    if value < minimum:
        raise too_low
    if value > 2**31 - 1:  # a 32-bit INTEGER column: refused here, never an overflow in SQL
        raise InvalidQuery(
            field,
            f"{ja}が範囲外です({minimum}〜{2**31 - 1:,}で指定してください)。",
            f"The {en} is out of range (use {minimum} to {2**31 - 1:,}).",
        )
    return value


def parse_choices(field: str, enum_type: type, value: object) -> tuple | None:
    if value is None or value == "":
        return None
    items = (
        [value]
        if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset)
        else list(value)
    )
    try:
        parsed: tuple[Any, ...] = tuple(
            dict.fromkeys(parse_choice(enum_type, item) for item in items)
        )
    except InvalidChoice as exc:
        raise InvalidQuery(field, exc.ja, exc.en) from None
    return parsed or None


def parse_bool(field: str, value: object, *, optional: bool) -> bool | None:
    if value is None or value == "":
        return None if optional else False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("1", "true", "yes", "on", "y"):
            return True
        if v in ("0", "false", "no", "off", "n"):
            return False
    ja, en = field_names(field)
    raise InvalidQuery(field, f"{ja}の指定が正しくありません。", f"Invalid value for {en}.")


def from_validation_error(exc: ValidationError) -> InvalidQuery:
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err.get("loc") else "query"
    if err.get("type") == "extra_forbidden":
        return InvalidQuery(
            field, f"検索条件「{field}」はありません。", f"Unknown search condition {field!r}."
        )
    ja, en = field_names(field)
    return InvalidQuery(
        field, f"{ja}の値が正しくありません({err['msg']})。", f"Invalid {en}: {err['msg']}."
    )
