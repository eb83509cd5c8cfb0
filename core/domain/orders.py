"""The order vocabulary: every choice an operator picks from, with its Japanese and English label.

Keys (the enum values) are what the database, the CLI and the CSV ``--header keys`` use;
labels are what people read (the guide's words in Japanese). :func:`parse_choice` accepts
either, so ``--status 新規受付`` and ``--status new`` mean the same.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import TypeVar

from core.bilingual import BilingualError
from core.domain.errors import RuleViolation
from core.domain.states import PaymentState

E = TypeVar("E", bound=StrEnum)

#: the largest order number: ``orders.order_no`` is a 32-bit INTEGER (PostgreSQL), so a
#: larger number is refused before it reaches SQL (where it would overflow)
MAX_ORDER_NO = 2**31 - 1


class NotAnOrderNo(RuleViolation):
    code = "order_no_invalid"
    ja = "注文番号は数字で入力してください(例: 61)。"
    en = "Enter the order number as digits (e.g. 61)."


class OrderNoOutOfRange(RuleViolation):
    code = "order_no_out_of_range"
    ja = "注文番号 {text} は範囲外です(1〜{limit}の番号を入力してください)。"
    en = "Order number {text} is out of range (enter a number from 1 to {limit})."


def parse_order_no(text: object) -> int:
    """An order number typed by a person or given in a URL or on the command line: ASCII or
    full-width digits, 1 to :data:`MAX_ORDER_NO`. Refuses anything else with a message that
    says which (a 20-digit number is *out of range*, never an overflow in SQL)."""
    from core.domain.money import parse_digits

    if isinstance(text, int) and not isinstance(text, bool):
        number: int | None = text
    else:
        number = parse_digits(text)
    if number is None:
        raise NotAnOrderNo()
    if not 1 <= number <= MAX_ORDER_NO:
        shown = str(number)
        raise OrderNoOutOfRange(
            text=shown if len(shown) <= 24 else shown[:24] + "…", limit=MAX_ORDER_NO
        )
    return number


def valid_order_no(number: object) -> bool:
    """Whether ``number`` can be an order number at all (an int within range)."""
    return isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= MAX_ORDER_NO


class OrderStatus(StrEnum):
    """対応状況."""

    NEW = "new"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    IN_PROGRESS = "in_progress"
    BACKORDERED = "backordered"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class PaymentStatus(StrEnum):
    """入金状況."""

    UNPAID = "unpaid"
    PAID = "paid"


class PaymentMethod(StrEnum):
    """支払方法."""

    PAIDY = "paidy"
    CARD = "card"
    BANK = "bank"
    COD = "cod"
    CONVENIENCE = "convenience"


class Gender(StrEnum):
    """性別."""

    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


# (ja, en) per value. One table per enum; a test checks that every member has a label.
LABELS: dict[type[StrEnum], dict[StrEnum, tuple[str, str]]] = {
    OrderStatus: {
        OrderStatus.NEW: ("新規受付", "New"),
        OrderStatus.AWAITING_PAYMENT: ("入金待ち", "Awaiting payment"),
        OrderStatus.PAID: ("入金済み", "Paid"),
        OrderStatus.IN_PROGRESS: ("対応中", "In progress"),
        OrderStatus.BACKORDERED: ("取り寄せ中", "Backordered"),
        OrderStatus.SHIPPED: ("発送済み", "Shipped"),
        OrderStatus.CANCELLED: ("キャンセル", "Cancelled"),
    },
    PaymentStatus: {
        PaymentStatus.UNPAID: ("未入金", "Unpaid"),
        PaymentStatus.PAID: ("入金済み", "Paid"),
    },
    PaymentMethod: {
        PaymentMethod.PAIDY: ("Paidy翌月払い(コンビニ/銀行)", "Paidy (pay next month)"),
        PaymentMethod.CARD: ("クレジットカード", "Credit card"),
        PaymentMethod.BANK: ("銀行振込", "Bank transfer"),
        PaymentMethod.COD: ("代金引換", "Cash on delivery"),
        PaymentMethod.CONVENIENCE: ("コンビニ決済", "Convenience store"),
    },
    Gender: {
        Gender.MALE: ("男性", "Male"),
        Gender.FEMALE: ("女性", "Female"),
        Gender.OTHER: ("その他", "Other"),
    },
    PaymentState: {
        PaymentState.OPEN: ("オープン", "Open"),
        PaymentState.EXPIRED: ("期限切れ", "Expired"),
        PaymentState.CAPTURED: ("売上確定", "Captured"),
        PaymentState.PARTIALLY_REFUNDED: ("一部払い戻し", "Partially refunded"),
        PaymentState.REFUNDED: ("全額払い戻し", "Refunded"),
        PaymentState.CLOSED: ("キャンセル", "Closed (not captured)"),
        PaymentState.REJECTED: ("与信NG", "Rejected"),
        PaymentState.UNKNOWN: ("不明", "Unknown"),
    },
}

#: what a stored message's label reference (``{"label": kind, "key": ...}``) names
LABEL_KINDS: dict[str, type[StrEnum]] = {
    "state": PaymentState,
    "order_status": OrderStatus,
    "payment_status": PaymentStatus,
    "payment_method": PaymentMethod,
    "gender": Gender,
}

# What the choice is called, for error messages: (ja, en).
CHOICE_NAMES: dict[type[StrEnum], tuple[str, str]] = {
    OrderStatus: ("対応状況", "order status"),
    PaymentStatus: ("入金状況", "payment status"),
    PaymentMethod: ("支払方法", "payment method"),
    Gender: ("性別", "gender"),
    PaymentState: ("Paidy状態", "Paidy state"),
}


class InvalidChoice(BilingualError):
    """Text that is neither a key nor a label of the enum; carries ja/en messages."""

    def __init__(self, enum_type: type[StrEnum], text: object) -> None:
        self.enum_type = enum_type
        self.text = text
        name_ja, name_en = CHOICE_NAMES.get(enum_type, (enum_type.__name__, enum_type.__name__))
        keys = ", ".join(m.value for m in enum_type)
        labels = "、".join(label(m, "ja") for m in enum_type)
        super().__init__(
            f"{name_ja}「{text}」は選択できません。次のいずれかを指定してください: {labels}",
            f"Unknown {name_en} {text!r}; use one of: {keys}",
        )


def label(value: StrEnum | str | None, lang: str = "ja") -> str:
    """The label of an enum member in ``lang`` ("ja" or "en"); "" for None.

    A plain string that is not a member (an unknown value stored by someone else) is
    returned unchanged rather than hidden.
    """
    if value is None:
        return ""
    table = LABELS.get(type(value)) if isinstance(value, StrEnum) else None
    if table is None or not isinstance(value, StrEnum) or value not in table:
        return str(value)
    ja, en = table[value]
    return ja if lang == "ja" else en


def label_of(enum_type: type[StrEnum], key: str | None, lang: str = "ja") -> str:
    """The label of a stored key (a plain string) of ``enum_type``; unknown keys unchanged."""
    if key is None:
        return ""
    try:
        return label(enum_type(key), lang)
    except ValueError:
        return str(key)


def label_for(kind: str, key: str | None, lang: str = "ja") -> str:
    """The label of ``key`` of the vocabulary ``kind`` (see :data:`LABEL_KINDS`)."""
    enum_type = LABEL_KINDS.get(kind)
    return label_of(enum_type, key, lang) if enum_type else str(key or "")


def labels(enum_type: type[StrEnum], lang: str = "ja") -> dict[str, str]:
    """key -> label for every member, in declaration order (for select boxes)."""
    return {m.value: label(m, lang) for m in enum_type}


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def parse_choice(enum_type: type[E], text: object) -> E:
    """Accept a member, its key, or its ja/en label (any width, any case); else InvalidChoice."""
    if isinstance(text, enum_type):
        return text
    if not isinstance(text, str):
        raise InvalidChoice(enum_type, text)
    wanted = _norm(text)
    for member in enum_type:
        names = (member.value, *LABELS.get(enum_type, {}).get(member, ()))
        if any(_norm(name) == wanted for name in names):
            return member
    raise InvalidChoice(enum_type, text)
