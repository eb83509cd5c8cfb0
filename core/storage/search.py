"""The order search (受注管理の検索条件): one query model, SQL only, for the screens and the CLI.

:class:`OrderQuery` holds the guide's conditions (注文番号, 顧客名, メールアドレス, 生年月日, 性別,
支払方法, 受注日, 更新日, 購入金額) plus 対応状況, Paidy状態, "expiring within N days",
"discrepancy only" and test/live. Field names follow the CLI flags of DESIGN.md
(``--ordered-from`` -> ``ordered_from``; ``--expires-within`` and ``--discrepancy`` are
accepted as aliases of ``expires_within_days`` and ``discrepancy_only``). Bad input raises
:class:`InvalidQuery` (field, Japanese and English message), never anything else.

Filtering, counting, sorting and paging all happen in SQL with bound parameters;
:func:`iter_orders` streams (server-side cursor / ``yield_per``) so memory stays flat.

The derived Paidy state and the discrepancy flag are computed in SQL with exactly the rules of
``core.domain.states.derive_state`` and ``core.domain.money.discrepancy``: the per-state
predicates in :func:`state_condition` are the single SQL form of the rule table, and the
displayed ``paidy_state`` column is a CASE built from those same predicates.

Partial match on name / kana / email ("ignoring spaces": the query and the stored names are
compared with half- and full-width spaces removed; hiragana also finds katakana), by
fragments of any length (migration 0007 explains the structures):
- PostgreSQL: names and kana through the side table ``order_name_keys`` (one narrow row per
  order, kept by a trigger) and its GIN index over every 1-3 character substring: a
  fragment of up to 3 characters is one index key, a longer one the intersection of its
  3-character keys; ``strpos`` on the lowercased keys decides (what ``ILIKE`` would). A
  count over names alone reads only that table. Email: ``ILIKE`` served by pg_trgm.
- SQLite: FTS5 trigram tables kept by triggers. ``orders_fts``: fragments of 3+ characters
  are a phrase MATCH; ``orders_fts_short``: a 1-2 character name/kana fragment is one term
  (``\x03a\x03`` / ``\x03ab``). Email fragments of 1-2 characters are looked up in the
  ``orders_fts`` vocabulary by prefix (each stored value ends with two U+0001, so every
  occurrence starts some trigram) and matched as an OR of those trigrams; one starting more
  than MAX_VOCAB_TERMS trigrams falls back to ``LIKE``. Measured at 1,000,000 orders
  (bench/search_probe.py): ``LIKE`` scans in ~1.1 s, FTS counts 33,000 matches in ~6 ms.

Pages: SQLite first tries the first few thousand orders of the sort order
(:func:`_page_ids`), so a page of a common surname or of all open payments does not sort
every match. PostgreSQL sorts a small set of payment-driven matches in full instead of
walking the sort index (the planner cannot know that "expiring within 7 days" are the
orders of four weeks ago and would walk past every newer order). Counts read only the
tables their conditions need.
"""

from __future__ import annotations

import math
import re
import unicodedata
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    case,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row
from sqlalchemy.orm import selectinload

from core.bilingual import BilingualError
from core.domain import errors as domain_errors
from core.domain.money import only_typed_digits, parse_yen
from core.domain.orders import Gender, InvalidChoice, OrderStatus, PaymentMethod, parse_choice
from core.domain.states import PaymentState
from core.storage.db import Database
from core.storage.deleted import deleted_ids, live_order
from core.storage.models import Order, PaidyPayment, UtcDateTime
from core.timeutil import jst_day_range_utc

OT = Order.__table__  # orders
PT = PaidyPayment.__table__  # paidy_payments
# PostgreSQL only (migration 0007): lower(name key) || chr(1) || lower(kana key) per order
NK = table("order_name_keys", column("order_id", Integer), column("keys", Text))

MAX_TEXT = 100
MAX_DAYS = 3650
MAX_PAGE_SIZE = 1000
FTS_MIN = 3  # trigram: shorter fragments go through orders_fts_short (names) / the vocabulary
MAX_VOCAB_TERMS = 2000  # a 1-2 character email fragment starting more trigrams than this scans
SHORT_PAD = "\x03"  # the padding of orders_fts_short's units (migration 0007)
GRAM_MAX = 3  # PostgreSQL: order_name_keys is indexed on every 1..GRAM_MAX character substring

FIELD_NAMES: dict[str, tuple[str, str]] = {
    "order_no": ("注文番号", "order number"),
    "order_from": ("注文番号(開始)", "order number from"),
    "order_to": ("注文番号(終了)", "order number to"),
    "name": ("顧客名", "customer name"),
    "email": ("メールアドレス", "email"),
    "birth_from": ("生年月日(開始)", "birth date from"),
    "birth_to": ("生年月日(終了)", "birth date to"),
    "gender": ("性別", "gender"),
    "payment_method": ("支払方法", "payment method"),
    "ordered_from": ("受注日(開始)", "order date from"),
    "ordered_to": ("受注日(終了)", "order date to"),
    "updated_from": ("更新日(開始)", "update date from"),
    "updated_to": ("更新日(終了)", "update date to"),
    "amount_min": ("購入金額(下限)", "minimum amount"),
    "amount_max": ("購入金額(上限)", "maximum amount"),
    "status": ("対応状況", "order status"),
    "paidy_state": ("Paidy状態", "Paidy state"),
    "expires_within_days": ("有効期限までの日数", "days until expiry"),
    "discrepancy_only": ("差額ありのみ", "discrepancy only"),
    "test": ("テスト注文", "test payments"),
    "paidy_only": ("Paidy決済のみ", "Paidy orders only"),
    "sort": ("並び順", "sort"),
    "page": ("ページ", "page"),
    "page_size": ("表示件数", "page size"),
    "columns": ("出力項目", "columns"),
}


class InvalidQuery(BilingualError):
    """A search condition that cannot be used; ``field`` names it, ja/en say why."""

    def __init__(self, field: str, ja: str, en: str) -> None:
        super().__init__(ja, en)
        self.field = field


def _names(field: str) -> tuple[str, str]:
    return FIELD_NAMES.get(field, (field, field))


# ------------------------------------------------------------------------ input parsing
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


def _clean_text(field: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        ja, en = _names(field)
        raise InvalidQuery(field, f"{ja}は文字で入力してください。", f"Enter {en} as text.")
    if value == "":
        return None
    ja, en = _names(field)
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


def _parse_date(field: str, value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    ja, en = _names(field)
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


def _parse_int(field: str, value: object, minimum: int, *, yen: bool = False) -> int | None:
    if value is None or value == "":
        return None
    ja, en = _names(field)
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


def _parse_choices(field: str, enum_type: type, value: object) -> tuple | None:
    if value is None or value == "":
        return None
    items = (
        [value]
        if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset)
        else list(value)
    )
    try:
        parsed = tuple(dict.fromkeys(parse_choice(enum_type, item) for item in items))
    except InvalidChoice as exc:
        raise InvalidQuery(field, exc.ja, exc.en) from None
    return parsed or None


def _parse_bool(field: str, value: object, *, optional: bool) -> bool | None:
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
    ja, en = _names(field)
    raise InvalidQuery(field, f"{ja}の指定が正しくありません。", f"Invalid value for {en}.")


# ---------------------------------------------------------------------------- the query
class OrderQuery(BaseModel):
    """Search conditions; every field optional. Dates are inclusive JST calendar days."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    order_no: int | None = None
    order_from: int | None = None
    order_to: int | None = None
    name: str | None = None  # customer name or kana, partial, spaces ignored
    email: str | None = None  # partial
    birth_from: date | None = None
    birth_to: date | None = None
    gender: tuple[Gender, ...] | None = None
    payment_method: tuple[PaymentMethod, ...] | None = None
    ordered_from: date | None = None
    ordered_to: date | None = None
    updated_from: date | None = None
    updated_to: date | None = None
    amount_min: int | None = None  # 購入金額 = orders.total
    amount_max: int | None = None
    status: tuple[OrderStatus, ...] | None = None
    paidy_state: tuple[PaymentState, ...] | None = None
    expires_within_days: int | None = Field(
        None, validation_alias=AliasChoices("expires_within_days", "expires_within")
    )
    discrepancy_only: bool = Field(
        False, validation_alias=AliasChoices("discrepancy_only", "discrepancy")
    )
    test: bool | None = None  # True: test payments only, False: live only, None: all
    paidy_only: bool = False  # only orders with a Paidy payment record

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _from_validation_error(exc) from None

    @classmethod
    def model_validate(cls, obj: Any, **kw: Any) -> OrderQuery:  # type: ignore[override]
        try:
            return super().model_validate(obj, **kw)
        except ValidationError as exc:
            raise _from_validation_error(exc) from None

    @field_validator("name", "email", mode="before")
    @classmethod
    def _text(cls, v: object, info) -> str | None:
        return _clean_text(info.field_name, v)

    @field_validator(
        "birth_from",
        "birth_to",
        "ordered_from",
        "ordered_to",
        "updated_from",
        "updated_to",
        mode="before",
    )
    @classmethod
    def _date(cls, v: object, info) -> date | None:
        return _parse_date(info.field_name, v)

    @field_validator("order_no", "order_from", "order_to", mode="before")
    @classmethod
    def _order_number(cls, v: object, info) -> int | None:
        return _parse_int(info.field_name, v, 1)

    @field_validator("amount_min", "amount_max", mode="before")
    @classmethod
    def _yen(cls, v: object, info) -> int | None:
        return _parse_int(info.field_name, v, 0, yen=True)

    @field_validator("expires_within_days", mode="before")
    @classmethod
    def _days(cls, v: object, info) -> int | None:
        days = _parse_int("expires_within_days", v, 0)
        if days is not None and days > MAX_DAYS:
            ja, en = _names("expires_within_days")
            raise InvalidQuery(
                "expires_within_days",
                f"{ja}は{MAX_DAYS}日以内で指定してください。",
                f"The {en} must be at most {MAX_DAYS}.",
            )
        return days

    @field_validator("gender", "payment_method", "status", "paidy_state", mode="before")
    @classmethod
    def _choices(cls, v: object, info) -> tuple | None:
        enum_type = {
            "gender": Gender,
            "payment_method": PaymentMethod,
            "status": OrderStatus,
            "paidy_state": PaymentState,
        }[info.field_name]
        return _parse_choices(info.field_name, enum_type, v)

    @field_validator("test", mode="before")
    @classmethod
    def _test(cls, v: object) -> bool | None:
        return _parse_bool("test", v, optional=True)

    @field_validator("discrepancy_only", "paidy_only", mode="before")
    @classmethod
    def _flag(cls, v: object, info) -> bool:
        return bool(_parse_bool(info.field_name, v, optional=False))

    @model_validator(mode="after")
    def _ranges(self) -> OrderQuery:
        for lo, hi in (
            ("order_from", "order_to"),
            ("birth_from", "birth_to"),
            ("ordered_from", "ordered_to"),
            ("updated_from", "updated_to"),
            ("amount_min", "amount_max"),
        ):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and b < a:
                lo_ja, lo_en = _names(lo)
                hi_ja, hi_en = _names(hi)
                if isinstance(a, int):  # numbers are smaller, dates are earlier
                    raise InvalidQuery(
                        hi,
                        f"{hi_ja}が{lo_ja}より小さくなっています。範囲を確認してください。",
                        f"The {hi_en} ({b:,}) is less than the {lo_en} ({a:,}); check the range.",
                    )
                raise InvalidQuery(
                    hi,
                    f"{hi_ja}が{lo_ja}より前になっています。範囲を確認してください。",
                    f"The {hi_en} ({b}) is before the {lo_en} ({a}); check the range.",
                )
        return self

    def is_empty(self) -> bool:
        return self == OrderQuery()

    def needs_payment(self) -> bool:
        """Whether any condition is about the Paidy payment (an inner join suffices)."""
        return bool(
            self.paidy_state
            or self.expires_within_days is not None
            or self.discrepancy_only
            or self.test is not None
            or self.paidy_only
        )


def _from_validation_error(exc: ValidationError) -> InvalidQuery:
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err.get("loc") else "query"
    if err.get("type") == "extra_forbidden":
        return InvalidQuery(
            field, f"検索条件「{field}」はありません。", f"Unknown search condition {field!r}."
        )
    ja, en = _names(field)
    return InvalidQuery(
        field, f"{ja}の値が正しくありません({err['msg']})。", f"Invalid {en}: {err['msg']}."
    )


# --------------------------------------------------------------- SQL: rules as predicates
def name_key(col: Any) -> ColumnElement[str]:
    """A name with half/full-width spaces removed; the same expression the trigram index
    (PostgreSQL) and the FTS triggers (SQLite) in migration 0001 use. Literals are inlined
    so PostgreSQL matches the expression index."""
    return func.replace(
        func.replace(col, literal_column("' '"), literal_column("''")),
        literal_column("'\u3000'"),
        literal_column("''"),
    )


def _at(now: datetime) -> ColumnElement[datetime]:
    return literal(now, UtcDateTime())


def state_condition(state: PaymentState, now: datetime) -> ColumnElement[bool]:
    """SQL for "the payment's derived state is ``state``" (derive_state, as a predicate).

    Assumes ``paidy_payments.status`` is stored stripped and lowercased (models.py).
    """
    s, exp = PT.c.status, PT.c.expires_at
    cap, ref = PT.c.captured_amount, PT.c.refunded_amount
    st = PaymentState
    known = ("authorized", "expired", "closed", "rejected")
    authorized = and_(s == "authorized", cap <= 0)  # authorized yet captured: contradictory
    return {
        st.OPEN: and_(authorized, or_(exp.is_(None), exp > _at(now))),
        st.EXPIRED: or_(and_(authorized, exp <= _at(now)), s == "expired"),
        st.CAPTURED: and_(s == "closed", cap > 0, ref <= 0),
        st.PARTIALLY_REFUNDED: and_(s == "closed", cap > 0, ref > 0, ref < cap),
        st.REFUNDED: and_(s == "closed", cap > 0, ref > 0, ref >= cap),
        st.CLOSED: and_(s == "closed", cap <= 0),
        st.REJECTED: s == "rejected",
        st.UNKNOWN: or_(
            and_(PT.c.id.is_not(None), s.not_in(known)), and_(s == "authorized", cap > 0)
        ),
    }[state]


def state_column(now: datetime) -> ColumnElement[str]:
    """The derived state as a CASE over the same predicates (NULL when no payment)."""
    return case(*[(state_condition(st, now), st.value) for st in PaymentState], else_=None)


def discrepancy_condition() -> ColumnElement[bool]:
    """money.discrepancy != NONE, in SQL: after capture order total vs 請求済金額, before
    capture (authorized) order total vs Paidy's amount; otherwise no warning.

    Uses ``paidy_payments.order_total`` (a trigger-kept copy of ``orders.total``) with
    inlined constants: the same expression as the partial index of migration 0001.
    """
    zero = literal_column("0")
    cap, ref, total = PT.c.captured_amount, PT.c.refunded_amount, PT.c.order_total
    return or_(
        and_(cap > zero, total != cap - ref),
        and_(cap <= zero, PT.c.status == literal_column("'authorized'"), total != PT.c.amount),
    )


def discrepancy_column() -> ColumnElement[bool]:
    return type_coerce(case((discrepancy_condition(), True), else_=False), Boolean)


# ------------------------------------------------------------------------- SQL: columns
_PLAIN_COLUMNS: dict[str, Any] = {
    "id": OT.c.id,
    "order_no": OT.c.order_no,
    "ordered_at": OT.c.ordered_at,
    "updated_at": OT.c.updated_at,
    "customer_name": OT.c.customer_name,
    "customer_kana": OT.c.customer_kana,
    "email": OT.c.email,
    "phone": OT.c.phone,
    "birth_date": OT.c.birth_date,
    "gender": OT.c.gender,
    "payment_method": OT.c.payment_method,
    "total": OT.c.total,
    "status": OT.c.status,
    "payment_status": OT.c.payment_status,
    "shipped_at": OT.c.shipped_at,
    "paidy_payment_id": PT.c.payment_id,
    "paidy_status": PT.c.status,
    "paidy_state": None,  # derived, see _column()
    "paidy_amount": PT.c.amount,
    "captured_amount": PT.c.captured_amount,
    "refunded_amount": PT.c.refunded_amount,
    "billed_amount": PT.c.captured_amount - PT.c.refunded_amount,
    "expires_at": PT.c.expires_at,
    "test": PT.c.test,
    "discrepancy": None,  # derived
}


#: Columns that are times (shown in JST) or dates.
TIME_COLUMNS = frozenset({"ordered_at", "updated_at", "shipped_at", "expires_at"})
DATE_COLUMNS = frozenset({"birth_date"})


def jst_text(db: Database, key: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The column as the text operators read, made by the database (``2019/12/21 10:38`` in
    JST; dates ``1985/04/29``): streaming exports then never build Python datetimes."""
    if key in DATE_COLUMNS:
        if db.dialect == "sqlite":
            return func.strftime("%Y/%m/%d", column)
        return func.to_char(column, "YYYY/MM/DD")
    if db.dialect == "sqlite":  # stored as naive UTC text
        return func.strftime("%Y/%m/%d %H:%M", column, "+9 hours")
    return func.to_char(func.timezone("Asia/Tokyo", column), "YYYY/MM/DD HH24:MI")


def _column(key: str, now: datetime) -> ColumnElement[Any]:
    if key == "paidy_state":
        return state_column(now)
    if key == "discrepancy":
        return discrepancy_column()
    return _PLAIN_COLUMNS[key]


#: Every column the search can return, in the grid's order.
COLUMNS: tuple[str, ...] = tuple(_PLAIN_COLUMNS)
PAYMENT_COLUMNS = frozenset(
    {
        "paidy_payment_id",
        "paidy_status",
        "paidy_state",
        "paidy_amount",
        "captured_amount",
        "refunded_amount",
        "billed_amount",
        "expires_at",
        "test",
        "discrepancy",
    }
)
SORTS: dict[str, Any] = {
    "order_no": OT.c.order_no,
    "ordered_at": OT.c.ordered_at,
    "updated_at": OT.c.updated_at,
    "total": OT.c.total,
    "customer_kana": OT.c.customer_kana,
    "expires_at": PT.c.expires_at,
}
_INT = (
    "id",
    "order_no",
    "total",
    "paidy_amount",
    "captured_amount",
    "refunded_amount",
    "billed_amount",
)
_TIME = ("ordered_at", "updated_at", "shipped_at", "expires_at")
DTYPES: dict[str, str] = {
    **{c: "Int64" for c in _INT},
    **{c: "datetime64[ns, UTC]" for c in _TIME},
    "birth_date": "datetime64[ns]",
    "test": "boolean",
    "discrepancy": "bool",
}


# --------------------------------------------------------------------- SQL: conditions
_table_cache: weakref.WeakKeyDictionary[Database, dict[str, bool]] = weakref.WeakKeyDictionary()


def _has_table(db: Database, name: str) -> bool:
    """Whether SQLite has the (FTS) table ``name``: FTS5 or its trigram tokenizer may be
    missing from the SQLite build (the migrations then log it and searches scan)."""
    if db.dialect != "sqlite":
        return False
    known = _table_cache.setdefault(db, {})
    if name not in known:
        with db.engine.connect() as conn:
            known[name] = (
                conn.execute(
                    text("SELECT 1 FROM sqlite_master WHERE type='table' AND name=:n"),
                    {"n": name},
                ).first()
                is not None
            )
    return known[name]


def _like_pattern(term: str) -> str:
    escaped = term.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def _kata(text_: str) -> str:
    """Hiragana -> katakana, so やまだ finds ヤマダ in the kana."""
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text_)


def _name_terms(raw: str) -> list[str]:
    strip = lambda s: s.replace(" ", "").replace("\u3000", "")  # noqa: E731
    normal = unicodedata.normalize("NFKC", raw)
    terms = [strip(raw), strip(normal), strip(_kata(normal))]
    return [t for t in dict.fromkeys(terms) if t]


def _fts_phrase(terms: list[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _short_unit(term: str) -> str:
    """The one orders_fts_short term of a 1-2 character fragment (migration 0007)."""
    return SHORT_PAD + term + (SHORT_PAD if len(term) == 1 else "")


def _vocab_terms(db: Database, fragment: str) -> list[str] | None:
    """The trigrams starting with a 1-2 character ``fragment`` (every stored value ends with
    two U+0001, so each occurrence starts one); None when too many to list usefully."""
    low = fragment.lower()  # the trigram tokenizer folds case
    with db.engine.connect() as conn:
        terms = (
            conn.execute(
                text("SELECT term FROM orders_fts_vocab WHERE term >= :lo AND term < :hi LIMIT :n"),
                {"lo": low, "hi": low + "\U0010ffff", "n": MAX_VOCAB_TERMS + 1},
            )
            .scalars()
            .all()
        )
    return None if len(terms) > MAX_VOCAB_TERMS else terms


def _fts_rowids(db: Database, terms: list[str], key: str, *, names: bool) -> tuple[Any, list[str]]:
    """SQLite: (SELECT rowid of the orders matching any term, or None; terms left for LIKE).
    ``names``: name/kana (1-2 characters via orders_fts_short), else email."""
    if db.dialect != "sqlite" or not _has_table(db, "orders_fts"):
        return None, terms
    short_table = names and _has_table(db, "orders_fts_short")
    phrases: list[str] = []
    units: list[str] = []
    left: list[str] = []
    for term in terms:
        if len(term) >= FTS_MIN:
            phrases.append(term)
        elif short_table:
            units.append(_short_unit(term))
        elif (found := _vocab_terms(db, term)) is not None:
            phrases.extend(found)
        else:
            left.append(term)
    selects, params = [], {}
    if phrases:
        cols = "name_key kana_key" if names else "email"
        selects.append(f"SELECT rowid FROM orders_fts WHERE orders_fts MATCH :{key}")
        params[key] = "{" + cols + "} : (" + _fts_phrase(phrases) + ")"
    if units:
        selects.append(
            f"SELECT rowid FROM orders_fts_short WHERE orders_fts_short MATCH :{key}_short"
        )
        params[f"{key}_short"] = _fts_phrase(units)
    if not selects:
        nothing = text("SELECT rowid FROM orders_fts WHERE 0").columns(column("rowid", Integer))
        return (None, left) if left else (nothing, left)
    fts = text(" UNION ".join(selects)).bindparams(**params)
    return fts.columns(column("rowid", Integer)), left


def _text_match(
    db: Database,
    cols: list[Any],
    terms: list[str],
    key: str,
    drive: bool,
    *,
    names: bool,
    id_range: tuple[Any, Any] | None = None,
) -> ColumnElement[bool]:
    """Any of ``terms`` is a substring of any of ``cols`` (case-insensitive). ``drive=False``
    keeps SQLite from starting the query from the FTS matches (``+id`` is not indexable);
    ``id_range`` (low, high) limits the FTS lookup to those rowids (FTS5 seeks them)."""
    fts, like_terms = _fts_rowids(db, terms, key, names=names)
    if fts is not None and id_range is not None:
        found = fts.subquery("fts")
        fts = select(found.c.rowid).where(found.c.rowid.between(*id_range))
    oid = OT.c.id if drive else OT.c.id + literal_column("0")
    parts: list[ColumnElement[bool]] = [] if fts is None else [oid.in_(fts)]
    for term in like_terms:
        pattern = _like_pattern(term)
        for col in cols:
            if db.dialect == "postgresql":
                parts.append(col.ilike(pattern, escape="/"))
            else:
                parts.append(col.like(pattern, escape="/"))
    return or_(*parts)


def _pg_name_keys_match(terms: list[str], *, counting: bool = False) -> ColumnElement[bool]:
    """PostgreSQL: the order_name_keys rows holding any of ``terms`` (case-insensitive, as
    ILIKE: both sides lowercased by the database). The GIN index finds the candidates,
    exactly for terms of up to GRAM_MAX characters; ``strpos`` decides. ``counting``: when
    every term is that short the index alone decides (a count then never reads a key: a
    third faster), else ``strpos`` stays as the cheap per-row test a walk of the sort index
    uses instead of computing the grams."""
    keys = NK.c["keys"]
    top = literal_column(str(GRAM_MAX))
    grams = func.paidy_grams(keys, literal_column("1"), top)
    short = [t for t in terms if len(t) <= GRAM_MAX]
    hints: list[ColumnElement[bool]] = []
    if short:
        hints.append(grams.bool_op("&&")(postgresql.array([func.lower(t) for t in short])))
    for term in terms:
        if len(term) > GRAM_MAX:
            hints.append(grams.bool_op("@>")(func.paidy_grams(func.lower(term), top, top)))
    if counting and len(short) == len(terms):
        return or_(*hints)
    found = or_(*[func.strpos(keys, func.lower(t)) > 0 for t in terms])
    return and_(or_(*hints), found)


def _name_condition(
    db: Database, raw: str, drive: bool, id_range: tuple[Any, Any] | None
) -> ColumnElement[bool]:
    terms = _name_terms(raw)
    if db.dialect == "postgresql":
        return OT.c.id.in_(select(NK.c.order_id).where(_pg_name_keys_match(terms)))
    cols = [name_key(OT.c.customer_name), name_key(OT.c.customer_kana)]
    return _text_match(db, cols, terms, "name_fts", drive, names=True, id_range=id_range)


def _text_only_count(db: Database, q: OrderQuery) -> Select | None:
    """COUNT straight from the search structures when a name or email fragment is the only
    condition (triggers keep them exactly in step with orders)."""
    given = set(q.model_dump(exclude_defaults=True))
    if given == {"name"} and db.dialect == "postgresql":
        match = _pg_name_keys_match(_name_terms(q.name), counting=True)
        return select(func.count()).select_from(NK).where(match)
    if given == {"name"}:
        fts, left = _fts_rowids(db, _name_terms(q.name), "name_fts", names=True)
    elif given == {"email"}:
        fts, left = _fts_rowids(db, _email_terms(q.email), "email_fts", names=False)
    else:
        return None
    if fts is None or left:
        return None
    return select(func.count()).select_from(fts.subquery())


def _email_terms(raw: str) -> list[str]:
    return list(dict.fromkeys([raw, unicodedata.normalize("NFKC", raw)]))


def _order_conditions(
    db: Database,
    q: OrderQuery,
    *,
    fts_drives: bool = True,
    id_range: tuple[Any, Any] | None = None,
) -> list[ColumnElement[bool]]:
    """Conditions on the orders table (``id_range``: see :func:`_text_match`)."""
    c: list[ColumnElement[bool]] = []
    if q.order_no is not None:
        c.append(OT.c.order_no == q.order_no)
    if q.order_from is not None:
        c.append(OT.c.order_no >= q.order_from)
    if q.order_to is not None:
        c.append(OT.c.order_no <= q.order_to)
    if q.name:
        c.append(_name_condition(db, q.name, fts_drives, id_range))
    if q.email:
        terms = _email_terms(q.email)
        c.append(
            _text_match(
                db, [OT.c.email], terms, "email_fts", fts_drives, names=False, id_range=id_range
            )
        )
    if q.birth_from is not None:
        c.append(OT.c.birth_date >= q.birth_from)
    if q.birth_to is not None:
        c.append(OT.c.birth_date <= q.birth_to)
    if q.gender:
        c.append(OT.c.gender.in_([g.value for g in q.gender]))
    if q.payment_method:
        c.append(OT.c.payment_method.in_([m.value for m in q.payment_method]))
    for col, lo_day, hi_day in (
        (OT.c.ordered_at, q.ordered_from, q.ordered_to),
        (OT.c.updated_at, q.updated_from, q.updated_to),
    ):
        lo, hi = jst_day_range_utc(lo_day, hi_day)
        if lo is not None:
            c.append(col >= _at(lo))
        if hi is not None:
            c.append(col < _at(hi))
    if q.amount_min is not None:
        c.append(OT.c.total >= q.amount_min)
    if q.amount_max is not None:
        c.append(OT.c.total <= q.amount_max)
    if q.status:
        c.append(OT.c.status.in_([s.value for s in q.status]))
    return c


def _payment_conditions(q: OrderQuery, now: datetime) -> list[ColumnElement[bool]]:
    """Conditions on the Paidy snapshot (they need an inner join)."""
    c: list[ColumnElement[bool]] = []
    if q.paidy_state:
        c.append(or_(*[state_condition(st, now) for st in q.paidy_state]))
    if q.expires_within_days is not None:  # open payments (see state_condition) expiring soon
        c.append(PT.c.status == "authorized")
        c.append(PT.c.captured_amount <= 0)
        c.append(PT.c.expires_at > _at(now))  # still open: derive_state says expired at now
        c.append(PT.c.expires_at < _at(now + timedelta(days=q.expires_within_days)))
    if q.discrepancy_only:
        c.append(discrepancy_condition())
    if q.test is not None:
        c.append(PT.c.test == q.test)
    if q.paidy_only:
        c.append(PT.c.id.is_not(None))
    return c


def _conditions(
    db: Database,
    q: OrderQuery,
    now: datetime,
    *,
    fts_drives: bool = True,
    id_range: tuple[Any, Any] | None = None,
) -> list[ColumnElement[bool]]:
    on_orders = _order_conditions(db, q, fts_drives=fts_drives, id_range=id_range)
    return [*on_orders, *_payment_conditions(q, now), live_order()]


def _check_sort(sort: str) -> Any:
    if sort not in SORTS:
        raise InvalidQuery(
            "sort",
            f"並び順「{sort}」は使えません。次のいずれか: {', '.join(SORTS)}",
            f"Cannot sort by {sort!r}; use one of: {', '.join(SORTS)}",
        )
    return SORTS[sort]


def _check_columns(columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(COLUMNS)
    chosen = list(columns)
    unknown = [c for c in chosen if c not in COLUMNS]
    if unknown or not chosen:
        raise InvalidQuery(
            "columns",
            f"出力項目が正しくありません: {', '.join(unknown) or '(なし)'}",
            f"Unknown or no columns: {', '.join(unknown) or '(none)'}",
        )
    return chosen


def build_select(
    db: Database,
    query: OrderQuery,
    *,
    now: datetime,
    columns: Sequence[str] | None = None,
    sort: str = "ordered_at",
    descending: bool = True,
    within_first: int | None = None,
    times_as_text: bool = False,
) -> Select:
    """The SELECT for ``query`` (chosen columns, sorted, unpaged). Raises InvalidQuery.

    ``within_first=N`` looks only at the first N orders of the sort order (walking its
    index) instead of letting the filters drive: see :func:`_page_ids`.
    ``times_as_text`` returns time and date columns as JST text (:func:`jst_text`).
    """
    _require_aware(now)
    chosen = _check_columns(columns)
    sort_col = _check_sort(sort)

    def col(k: str) -> ColumnElement[Any]:
        c = _column(k, now)
        if times_as_text and (k in TIME_COLUMNS or k in DATE_COLUMNS):
            c = jst_text(db, k, c)
        return c.label(k)

    stmt = select(*[col(k) for k in chosen])
    if sort == "expires_at":
        first = (sort_col.desc() if descending else sort_col.asc()).nulls_last()
    else:
        first = sort_col.desc() if descending else sort_col.asc()
    tiebreak = OT.c.order_no.desc() if descending else OT.c.order_no.asc()
    order = (first, tiebreak) if sort != "order_no" else (first,)
    prefix = id_range = None
    if within_first is not None:  # the first N of the sort order; text lookups within their ids
        prefix = select(OT.c.id).order_by(*order).limit(within_first).cte("prefix")
        id_range = (
            select(func.min(prefix.c.id)).scalar_subquery(),
            select(func.max(prefix.c.id)).scalar_subquery(),
        )
    conditions = _conditions(db, query, now, fts_drives=prefix is None, id_range=id_range)
    stmt = stmt.select_from(_from_clause(query, chosen, sort)).where(*conditions)
    if prefix is not None:
        stmt = stmt.where(OT.c.id.in_(select(prefix.c.id)))
    return stmt.order_by(*order)


def _from_clause(query: OrderQuery, columns: Sequence[str], sort: str) -> Any:
    if query.needs_payment():
        return OT.join(PT, PT.c.order_id == OT.c.id)
    if sort == "expires_at" or PAYMENT_COLUMNS.intersection(columns):
        return OT.outerjoin(PT, PT.c.order_id == OT.c.id)
    return OT


def _require_aware(now: datetime) -> None:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise TypeError("now must be a timezone-aware datetime")


# ---------------------------------------------------------------------------- services
@dataclass(frozen=True)
class SearchPage:
    """One page of results: ``frame`` holds exactly the rows of ``page``."""

    total: int
    page: int
    page_size: int
    pages: int
    frame: pd.DataFrame


def count_orders(db: Database, query: OrderQuery, *, now: datetime) -> int:
    """How many orders match. Reads only the table(s) the conditions need."""
    with db.engine.connect() as conn:
        _interactive(conn, db)
        return int(conn.execute(count_select(db, query, now=now)).scalar_one())


def _interactive(conn: Any, db: Database, *, serial: bool = False) -> None:
    """PostgreSQL, for this transaction: no JIT (compiling a count over 100,000 rows costs
    more than running it), and with ``serial`` no parallel workers (starting them costs
    more than a 50-row page; the planner counts neither well under load)."""
    if db.dialect != "postgresql":
        return
    settings = "set_config('jit', 'off', true)"
    if serial:
        settings += ", set_config('max_parallel_workers_per_gather', '0', true)"
    conn.exec_driver_sql(f"SELECT {settings}")


def count_select(db: Database, query: OrderQuery, *, now: datetime) -> Select:
    """The COUNT statement of :func:`count_orders`: all matches minus the deleted ones
    among them (asked from the few deleted rows: core/storage/deleted.py)."""
    _require_aware(now)
    every = _count_with_deleted(db, query, now).scalar_subquery()
    return select(every - _count_deleted(db, query, now).scalar_subquery())


def _count_deleted(db: Database, q: OrderQuery, now: datetime) -> Select:
    """How many deleted orders match: driven from the materialised deleted ids."""
    dead = deleted_ids().cte("deleted_orders").prefix_with("MATERIALIZED")
    on_payments = _payment_conditions(q, now)
    from_ = dead.join(OT, OT.c.id == dead.c.id)
    if on_payments:
        from_ = from_.join(PT, PT.c.order_id == OT.c.id)
    on_orders = _order_conditions(db, q, fts_drives=False)
    return select(func.count()).select_from(from_).where(*on_orders, *on_payments)


def _count_with_deleted(db: Database, query: OrderQuery, now: datetime) -> Select:
    text_only = _text_only_count(db, query)
    if text_only is not None:
        return text_only
    on_orders, on_payments = _order_conditions(db, query), _payment_conditions(query, now)
    if on_payments and not on_orders:  # linked payments are orders: no join needed
        return select(func.count()).select_from(PT).where(PT.c.order_id.is_not(None), *on_payments)
    from_ = OT.join(PT, PT.c.order_id == OT.c.id) if on_payments else OT
    return select(func.count()).select_from(from_).where(*on_orders, *on_payments)


def search_orders(
    db: Database,
    query: OrderQuery,
    *,
    now: datetime,
    sort: str = "ordered_at",
    descending: bool = True,
    page: int = 1,
    page_size: int = 50,
) -> SearchPage:
    """Count all matches and fetch one page (pages past the end show the last page).

    The page is found on a narrow query (ids and sort keys only), then its rows are read
    by id: sorting thousands of matches never carries all 25 columns.
    """
    _check_sort(sort)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise InvalidQuery(
            "page", "ページは1以上で指定してください。", "The page must be 1 or more."
        )
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidQuery(
            "page_size",
            f"表示件数は1〜{MAX_PAGE_SIZE}で指定してください。",
            f"The page size must be between 1 and {MAX_PAGE_SIZE}.",
        )
    with db.engine.connect() as conn:
        _interactive(conn, db)
        total = int(conn.execute(count_select(db, query, now=now)).scalar_one())
        pages = max(1, math.ceil(total / page_size))
        page = min(page, pages)
        _interactive(conn, db, serial=True)
        ids = _page_ids(conn, db, query, now, sort, descending, page, page_size, total)
        rows = []
        if ids:
            stmt = build_select(db, OrderQuery(), now=now, sort=sort, descending=descending)
            rows = conn.execute(stmt.where(OT.c.id.in_(ids))).all()
    return SearchPage(
        total=total, page=page, page_size=page_size, pages=pages, frame=to_frame(rows)
    )


WALK_FROM = 2000  # matches above which sorting them all costs more than a short walk
WALK_ROWS_PER_RESULT = 100  # prefix length tried per wanted row (offset + page size)
WALK_SORTS = frozenset({"ordered_at", "updated_at", "total", "customer_kana", "order_no"})
SORT_ALL_MAX = 30_000  # PostgreSQL: payment-driven matches up to this many are sorted in full


def _page_ids(
    conn: Any,
    db: Database,
    query: OrderQuery,
    now: datetime,
    sort: str,
    descending: bool,
    page: int,
    size: int,
    total: int,
) -> list[int]:
    """The ids of one page, in order.

    With many matches (a common surname, every open payment) SQLite would fetch and sort
    them all. First look only at the first ``budget`` orders of the sort order: if that
    prefix already holds the whole page, it is the page (the prefix is the top of the
    order, so nothing outside it can come first). Otherwise run the plain query.
    PostgreSQL's planner makes this choice by itself, with one blind spot: conditions on
    the payment (expiring within N days, a Paidy state, discrepancies) pick orders by their
    age, which the planner cannot see from the statistics, so it may walk the sort index
    past hundreds of thousands of newer orders to find the first "expiring soon" one. Up to
    SORT_ALL_MAX such matches are taken first and sorted in full (:func:`_sorted_in_full`):
    bounded by their number, wherever they are in the order. (SQLite's plan for them is
    already that one; it skips the walk that would find nothing.)
    """
    offset = (page - 1) * size
    few_by_payment = query.needs_payment() and total <= SORT_ALL_MAX
    if db.dialect == "postgresql" and few_by_payment:
        stmt = _sorted_in_full(db, query, now, sort, descending)
        return list(conn.execute(stmt.limit(size).offset(offset)).scalars().all())
    walk = sort in WALK_SORTS and total >= WALK_FROM and not few_by_payment
    if db.dialect == "sqlite" and walk:
        budget = min(50_000, WALK_ROWS_PER_RESULT * (offset + size))
        walk = build_select(
            db,
            query,
            now=now,
            columns=["id"],
            sort=sort,
            descending=descending,
            within_first=budget,
        )
        ids = conn.execute(walk.limit(size).offset(offset)).scalars().all()
        if len(ids) == min(size, total - offset):
            return list(ids)
    stmt = build_select(db, query, now=now, columns=["id"], sort=sort, descending=descending)
    return list(conn.execute(stmt.limit(size).offset(offset)).scalars().all())


def _sorted_in_full(
    db: Database, query: OrderQuery, now: datetime, sort: str, descending: bool
) -> Select:
    """The ids of every match with their sort keys, materialised (PostgreSQL keeps a
    ``MATERIALIZED`` CTE as its own plan: the one for all rows, no ORDER BY/LIMIT to walk an
    index for), then sorted: SELECT id ... ORDER BY key, order_no (unpaged)."""
    key = _check_sort(sort)
    matches = (
        select(OT.c.id.label("id"), key.label("sort_key"), OT.c.order_no.label("order_no"))
        .select_from(_from_clause(query, ["id"], sort))
        .where(*_conditions(db, query, now))
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    first = matches.c.sort_key.desc() if descending else matches.c.sort_key.asc()
    if sort == "expires_at":
        first = first.nulls_last()
    tiebreak = matches.c.order_no.desc() if descending else matches.c.order_no.asc()
    return select(matches.c.id).order_by(first, tiebreak)


def to_frame(rows: Sequence[Row | tuple], columns: Sequence[str] = COLUMNS) -> pd.DataFrame:
    """Rows (in ``columns`` order) -> a DataFrame with typed columns (see DTYPES)."""
    data: dict[str, Any] = {}
    for i, key in enumerate(columns):
        values = [row[i] for row in rows]
        dtype = DTYPES.get(key, "string")
        if dtype.startswith("datetime64"):
            utc = dtype.endswith("UTC]")
            data[key] = pd.to_datetime(pd.Series(values, dtype=object), utc=utc).astype(dtype)
        elif dtype == "bool":
            data[key] = pd.Series([bool(v) for v in values], dtype=bool)
        else:
            data[key] = pd.array(values, dtype=dtype)
    return pd.DataFrame(data, columns=list(columns))


def iter_orders(
    db: Database,
    query: OrderQuery,
    *,
    now: datetime,
    columns: Sequence[str] | None = None,
    chunk_size: int = 5000,
    sort: str = "ordered_at",
    descending: bool = True,
    times_as_text: bool = False,
) -> Iterator[Row]:
    """Every matching row, in sort order, streamed ``chunk_size`` rows at a time.

    Each row is a tuple of the chosen ``columns`` (names from :data:`COLUMNS`; also
    readable by name, ``row.order_no``). Validation happens before the first row.
    ``times_as_text``: times and dates come as JST text made by the database.
    """
    stmt = build_select(
        db,
        query,
        now=now,
        columns=columns,
        sort=sort,
        descending=descending,
        times_as_text=times_as_text,
    )
    return _stream(db, stmt, chunk_size)


def _stream(db: Database, stmt: Select, chunk_size: int) -> Iterator[Row]:
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(stmt)
        for part in result.partitions():
            yield from part


def order_ids_for(
    db: Database,
    query: OrderQuery,
    now: datetime,
    *,
    sort: str = "ordered_at",
    descending: bool = True,
) -> list[int]:
    """Ids of all matching orders, in sort order (for batch selection)."""
    stmt = build_select(db, query, now=now, columns=["id"], sort=sort, descending=descending)
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(stmt)]


class OrderNotFound(BilingualError):
    """No order with this number."""

    def __init__(self, order_no: object) -> None:
        self.order_no = order_no
        super().__init__(
            f"注文番号 {order_no} の受注は見つかりません。", f"Order {order_no} does not exist."
        )


def get_order(db: Database, order_no: int) -> Order:
    """The order with its items (by position) and its Paidy payment, detached and loaded."""
    if not isinstance(order_no, int) or isinstance(order_no, bool):
        try:
            order_no = int(str(order_no).strip())
        except ValueError:
            raise OrderNotFound(order_no) from None
    if not 1 <= order_no <= 2**31 - 1:  # no such order can exist; SQL would overflow
        raise OrderNotFound(order_no)
    with db.session() as session:
        order = session.scalars(
            select(Order)
            .where(Order.order_no == order_no)
            .options(selectinload(Order.items), selectinload(Order.payment))
        ).one_or_none()
    if order is None:
        raise OrderNotFound(order_no)
    return order


__all__ = [
    "COLUMNS",
    "SORTS",
    "InvalidQuery",
    "OrderNotFound",
    "OrderQuery",
    "SearchPage",
    "build_select",
    "count_orders",
    "discrepancy_condition",
    "get_order",
    "iter_orders",
    "name_key",
    "order_ids_for",
    "search_orders",
    "state_column",
    "state_condition",
    "to_frame",
]
