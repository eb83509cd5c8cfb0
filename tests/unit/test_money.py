"""The yen parser and the amount rules (refund limit, +10 % update limit, discrepancies)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain import errors
from core.domain.money import (
    Discrepancy,
    billed,
    discrepancy,
    order_amount,
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


@given(st.integers(1, 99_999_999))
def test_roundtrip_of_formatted_numbers(n):
    assert parse_yen(str(n)) == n
    assert parse_yen(f"{n:,}") == n
    assert parse_yen(f"¥{n:,}") == n
    assert parse_yen(f"{n}円") == n
    fullwidth = str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert parse_yen(fullwidth) == n


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
