"""The yen parser and the amount rules (refund limit, +10 % update limit, discrepancies)."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain import errors
from core.domain.money import (
    Discrepancy,
    billed,
    discrepancy,
    order_amount,
    parse_digits,
    parse_yen,
    refundable,
    update_limit,
    validate_refund,
    validate_update,
)


@pytest.mark.parametrize(
    "text",
    [
        "1000",
        "1,000",
        "１０００",
        "１，０００",
        "¥1,000",
        "￥1,000",
        "1000円",
        "1,000 円",
        " 1000 ",
        "JPY 1000",
        "ＪＰＹ１０００",
        "￥１，０００円",
        "\u30001,000\u3000",  # ideographic spaces around
        1000,
    ],
)
def test_accepts_what_people_type(text):
    assert parse_yen(text) == 1000


@pytest.mark.parametrize(
    ("text", "exc"),
    [
        ("0", errors.NotPositive),
        ("-5", errors.NotPositive),
        ("－５", errors.NotPositive),
        ("10.5", errors.NotWholeYen),
        ("1000.0", errors.NotWholeYen),
        ("1e3", errors.NotANumber),
        ("abc", errors.NotANumber),
        ("1,00", errors.NotANumber),
        ("1 000", errors.NotANumber),
        ("", errors.EmptyAmount),
        ("   ", errors.EmptyAmount),
        (None, errors.EmptyAmount),
        ("円", errors.EmptyAmount),
        ("999999999999999", errors.AmountTooLarge),
        (True, errors.NotANumber),
    ],
)
def test_refuses_with_the_rule_that_failed(text, exc):
    with pytest.raises(exc) as info:
        parse_yen(text)
    assert info.value.message("ja") and info.value.message("en")


# Digits are ASCII or full-width only: anything NFKC would turn into a digit, or any other
# script's digit, is refused (1² was taken as 12, ٣ as 3: a 3-yen refund was sent).
NOT_TYPED_DIGITS = [
    "1²",  # superscript two
    "１²",
    "²",
    "10⁰",
    "٣",  # Arabic-Indic three
    "۳",  # extended Arabic-Indic
    "๓",  # Thai
    "३",  # Devanagari
    "১০০",  # Bengali
    "①⓪⓪",  # circled
    "⑴",  # parenthesized (NFKC: "(1)")
    "⒈",  # digit full stop (NFKC: "1.")
    "𝟏𝟎𝟎𝟎",  # mathematical bold
    "½",
    "1½",
    "₁₀₀",  # subscripts
    "Ⅻ",  # roman numeral
    "一〇〇",
    "１０0٣",
]


@pytest.mark.parametrize("text", NOT_TYPED_DIGITS)
def test_only_ascii_and_fullwidth_digits_are_numbers(text):
    with pytest.raises(errors.NotANumber):
        parse_yen(text)
    with pytest.raises(errors.NotANumber):
        parse_yen(f"¥{text}円")
    assert parse_digits(text) is None


FULLWIDTH = str.maketrans("0123456789,", "０１２３４５６７８９，")


@given(st.integers(1, 99_999_999))
def test_roundtrip_of_formatted_numbers(n):
    assert parse_yen(str(n)) == n
    assert parse_yen(f"{n:,}") == n
    assert parse_yen(f"¥{n:,}") == n
    assert parse_yen(f"{n}円") == n
    assert parse_yen(str(n).translate(FULLWIDTH)) == n
    assert parse_yen(f"{n:,}".translate(FULLWIDTH)) == n
    assert parse_yen(f"￥{n:,}円".translate(FULLWIDTH)) == n
    assert parse_digits(str(n)) == n
    assert parse_digits(str(n).translate(FULLWIDTH)) == n


#: what an accepted amount may consist of once NFKC-normalised (digits, grouping commas, the
#: yen signs and words the parser strips, spaces around them)
ACCEPTED_AFTER_NFKC = set("0123456789,¥\\円JPYENjpyen \t")
_TRICKY = "0123456789０１２３４５６７８９,，.．¥￥\\円JPY YEN-−ー　²³¹⁰①⓪٣۳๓३১𝟏½⑴⒈₁Ⅻ〇一百"


_DIGIT_LIKE = "0123456789０１２３４５６７８９²³①⓪٣๓३𝟏½⑴,，"
_AMOUNTS = st.one_of(
    st.text(alphabet=st.sampled_from(_TRICKY), max_size=12),
    st.builds(  # shaped like an amount, so that many are accepted
        lambda prefix, body, suffix: prefix + body + suffix,
        st.sampled_from(["", "¥", "￥", "JPY ", "\\"]),
        st.text(alphabet=st.sampled_from(_DIGIT_LIKE), min_size=1, max_size=9),
        st.sampled_from(["", "円", " 円", "JPY"]),
    ),
)


@given(_AMOUNTS)
def test_an_accepted_amount_holds_only_allowed_characters(text):
    try:
        value = parse_yen(text)
    except errors.InvalidYen:
        return
    assert set(unicodedata.normalize("NFKC", text)) <= ACCEPTED_AFTER_NFKC, text
    assert all(c in "0123456789０１２３４５６７８９" for c in text if c.isdigit()), text
    assert 1 <= value <= 99_999_999


@given(st.text(max_size=30))
def test_parser_never_crashes(text):
    """Any text is either a positive int or a named InvalidYen, never another exception."""
    try:
        value = parse_yen(text)
    except errors.InvalidYen as exc:
        assert exc.message("ja")
    else:
        assert isinstance(value, int) and 1 <= value <= 99_999_999


def test_derived_amounts():
    assert billed(1380, 1000) == 380
    assert refundable(1380, 1000) == 380
    assert refundable(1380, 1380) == 0
    assert order_amount([(12000, 1), (-500, 1)], 300, 200) == 12000


def test_refund_limits():
    assert validate_refund(380, 1380, 1000) == 380
    with pytest.raises(errors.RefundOverLimit) as info:
        validate_refund(381, 1380, 1000)
    assert "380" in info.value.message("ja") and "381" in info.value.message("en")
    with pytest.raises(errors.NothingToRefund):
        validate_refund(1, 1380, 1380)
    with pytest.raises(errors.NotCaptured):
        validate_refund(1, 0, 0)


@given(
    captured=st.integers(1, 10**6),
    refunded=st.integers(0, 10**6),
    amount=st.integers(-10, 2 * 10**6),
)
def test_refund_never_exceeds_refundable(captured, refunded, amount):
    refunded = min(refunded, captured)
    try:
        ok = validate_refund(amount, captured, refunded)
    except errors.RuleViolation:
        return
    assert 1 <= ok <= captured - refunded


def test_update_limit_is_guide_plus_ten_percent():
    assert update_limit(1380) == 1518
    assert validate_update(1480, 1380, 1380) == 1480  # the guide's example
    with pytest.raises(errors.UpdateOverLimit):
        validate_update(1519, 1380, 1380)
    with pytest.raises(errors.UpdateNotPositive):
        validate_update(0, 1380, 1380)
    with pytest.raises(errors.NoChangeNeeded):
        validate_update(1380, 1380, 1380)
    assert validate_update(500, 1380, 1380) == 500  # decreases are fine


def test_the_guides_two_warnings():
    assert discrepancy(1480, 1380, 0, 0, "authorized") is Discrepancy.BEFORE_CAPTURE
    assert discrepancy(1380, 1380, 0, 0, "authorized") is Discrepancy.NONE
    assert discrepancy(1380, 1380, 1380, 1380, "closed") is Discrepancy.AFTER_CAPTURE  # full refund
    assert discrepancy(1380, 1380, 1380, 1000, "closed") is Discrepancy.AFTER_CAPTURE  # partial
    assert discrepancy(1380, 1380, 1380, 0, "closed") is Discrepancy.NONE
    assert discrepancy(1380, 1380, 0, 0, "closed") is Discrepancy.NONE  # cancelled, no capture
