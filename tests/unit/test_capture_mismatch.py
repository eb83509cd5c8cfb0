"""The capture-mismatch rule (core.domain.capture): one function for the page, the service
and the batch preview."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.domain.capture import capture_mismatch
from core.domain.errors import TotalMismatch

YEN = st.integers(min_value=0, max_value=10**9)


@given(YEN)
def test_equal_amounts_need_no_confirmation(amount):
    assert capture_mismatch(amount, amount) is None
    assert capture_mismatch(amount, amount, confirmed=True) is None


@given(YEN, YEN)
def test_a_difference_is_refused_unless_confirmed(order_total, paidy_amount):
    refusal = capture_mismatch(order_total, paidy_amount)
    if order_total == paidy_amount:
        assert refusal is None
    else:
        assert isinstance(refusal, TotalMismatch)
        assert refusal.code == "total_mismatch"
        assert refusal.params == {"order_total": order_total, "paidy_amount": paidy_amount}
    assert capture_mismatch(order_total, paidy_amount, confirmed=True) is None


def test_the_refusal_names_both_amounts():
    refusal = capture_mismatch(1380, 1000)
    assert refusal is not None
    assert "1,380円" in refusal.message("ja") and "1,000円" in refusal.message("ja")
    assert "1,380 yen" in refusal.message("en")
