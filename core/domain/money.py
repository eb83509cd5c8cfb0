"""Yen amounts: parsing what a person types, and the derived amounts of a payment.

Money is always ``int`` yen. All limits of the rule table live here.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from core.domain import errors

MAX_YEN = 99_999_999  # far above any Paidy payment; guards against pasted garbage

#: The digits a person may type: ASCII and full-width. Every other character that is a digit or
#: that NFKC turns into one (``²`` ``①`` ``⓪`` ``٣`` ``๓`` ``३`` ``𝟏`` ``½`` ``⒈`` ...) is refused
#: *before* normalising, so ``1²`` is not read as 12 nor ``٣`` as 3.
TYPED_DIGITS = frozenset("0123456789０１２３４５６７８９")
_ASCII_DIGITS = frozenset("0123456789")

_PLAIN = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3})+")
_DECIMAL = re.compile(r"[0-9,]*\.[0-9]*")
_PREFIXES = ("¥", "\\", "JPY")
_SUFFIXES = ("円", "JPY", "YEN")
_MINUS = ("-", "−", "‐", "ー")


def parse_yen(text: object) -> int:
    """Parse ``1000``, ``1,000``, ``１，０００``, ``¥1,000``, ``1000円`` to 1000.

    Raises an :class:`errors.InvalidYen` subclass naming the rule that failed.
    """
    if isinstance(text, bool):
        raise errors.NotANumber()
    if isinstance(text, int):
        return _check_range(text)
    raw = str(text or "")
    if not only_typed_digits(raw):
        raise errors.NotANumber()
    s = unicodedata.normalize("NFKC", raw).strip()
    s = _strip_affixes(s)
    if not s:
        raise errors.EmptyAmount()
    negative = s.startswith(_MINUS)
    body = s[1:].strip() if negative else s
    if _DECIMAL.fullmatch(body) and any(c in _ASCII_DIGITS for c in body):
        raise errors.NotWholeYen()
    if not (_PLAIN.fullmatch(body) or _GROUPED.fullmatch(body)):
        raise errors.NotANumber()
    digits = body.replace(",", "")
    if len(digits) > 12:
        raise errors.AmountTooLarge(limit=MAX_YEN)
    value = int(digits)
    return _check_range(-value if negative else value)


def only_typed_digits(text: str) -> bool:
    """True when every digit-like character of ``text`` is an ASCII or full-width digit."""
    if text.isascii():
        return True
    for c in text:
        if c in TYPED_DIGITS:
            continue
        if unicodedata.numeric(c, None) is not None:  # ² ① ٣ ½ 百 ...
            return False
        if not _ASCII_DIGITS.isdisjoint(unicodedata.normalize("NFKC", c)):  # ⑴ ㍘ ㏠ ...
            return False
    return True


def parse_digits(text: object) -> int | None:
    """A non-negative whole number typed as ASCII or full-width digits (order numbers, days),
    else None: ``٣``, ``1²`` or ``①`` are not numbers here either."""
    raw = str(text if text is not None else "").strip()
    if not raw or not only_typed_digits(raw):
        return None
    normal = unicodedata.normalize("NFKC", raw)
    return int(normal) if _PLAIN.fullmatch(normal) else None


def _strip_affixes(s: str) -> str:
    upper = s.upper()
    for p in _PREFIXES:
        if upper.startswith(p):
            s, upper = s[len(p) :].strip(), upper[len(p) :].strip()
    for x in _SUFFIXES:
        if upper.endswith(x):
            s = s[: -len(x)].strip()
            upper = upper[: -len(x)].strip()
    return s


def _check_range(value: int) -> int:
    if value <= 0:
        raise errors.NotPositive()
    if value > MAX_YEN:
        raise errors.AmountTooLarge(limit=MAX_YEN)
    return value


# --- derived amounts --------------------------------------------------------------------------
def billed(captured: int, refunded: int) -> int:
    """Paidy請求済金額: what the customer is charged now."""
    return captured - refunded


def refundable(captured: int, refunded: int) -> int:
    return max(captured - refunded, 0)


def validate_refund(amount: int, captured: int, refunded: int) -> int:
    """A refund is a whole number of yen, 1..refundable."""
    left = refundable(captured, refunded)
    if captured <= 0:
        raise errors.NotCaptured()
    if left <= 0:
        raise errors.NothingToRefund()
    if amount <= 0:
        raise errors.NotPositive()
    if amount > left:
        raise errors.RefundOverLimit(amount=amount, refundable=left)
    return amount


def update_limit(authorized: int) -> int:
    """The guide's upper bound for an Update: the authorized amount + 10 % (rounded down)."""
    return authorized * 110 // 100


def validate_update(new_amount: int, authorized: int, paidy_amount: int) -> int:
    """An Update must change something, stay positive, and stay within +10 %."""
    if new_amount <= 0:
        raise errors.UpdateNotPositive(amount=new_amount)
    limit = update_limit(authorized)
    if new_amount > limit:
        raise errors.UpdateOverLimit(amount=new_amount, limit=limit, authorized=authorized)
    if new_amount == paidy_amount:
        raise errors.NoChangeNeeded()
    return new_amount


def order_amount(items: list[tuple[int, int]], tax: int, shipping: int) -> int:
    """Paidy's amount rule: sum(unit_price x quantity) + tax + shipping."""
    return sum(price * qty for price, qty in items) + tax + shipping


class Discrepancy(StrEnum):
    NONE = "none"
    BEFORE_CAPTURE = "before_capture"  # 受注のお支払い合計と異なります。更新(アップデート)を…
    AFTER_CAPTURE = "after_capture"  # 差額が発生していますがすでに売上確定(キャプチャ)を…


def discrepancy(
    order_total: int, paidy_amount: int, captured: int, refunded: int, status: str
) -> Discrepancy:
    """The guide's two warnings. Before capture: order total vs Paidy's amount; after capture:
    order total vs 請求済金額. A payment closed without capture or rejected shows none."""
    raw = (status or "").lower()
    if captured > 0:
        return (
            Discrepancy.NONE
            if order_total == billed(captured, refunded)
            else Discrepancy.AFTER_CAPTURE
        )
    if raw == "authorized":
        return Discrepancy.NONE if order_total == paidy_amount else Discrepancy.BEFORE_CAPTURE
    return Discrepancy.NONE
