"""core.domain.cancellation: the one cancel rule (capture refused on キャンセル; a close of a
non-キャンセル order also cancels it), the same for every surface."""

from __future__ import annotations

import pytest

from core.domain import errors
from core.domain.cancellation import (
    cancels_order,
    check_order,
    order_refusal,
    panel_actions,
    status_after,
)
from core.domain.orders import OrderStatus
from core.domain.states import ALLOWED, Action, PaymentState

OTHER = [s.value for s in OrderStatus if s is not OrderStatus.CANCELLED]


def test_capture_of_a_cancelled_order_is_refused_naming_the_cancellation():
    exc = order_refusal(Action.CAPTURE, "cancelled", 172)
    assert isinstance(exc, errors.OrderCancelled)
    assert "172" in exc.message("ja") and "キャンセル" in exc.message("ja")
    assert "172" in exc.message("en") and "cancelled" in exc.message("en")
    with pytest.raises(errors.OrderCancelled):
        check_order(Action.CAPTURE, "cancelled", 172)


@pytest.mark.parametrize("status", OTHER)
def test_capture_of_other_orders_is_left_to_the_payment_rules(status):
    assert order_refusal(Action.CAPTURE, status, 1) is None


@pytest.mark.parametrize("action", [Action.CLOSE, Action.UPDATE, Action.REFUND, Action.REFRESH])
def test_other_actions_are_never_refused_by_the_cancel_rule(action):
    assert order_refusal(action, "cancelled") is None
    assert order_refusal(action, "new") is None


@pytest.mark.parametrize("status", OTHER)
def test_a_close_cancels_a_non_cancelled_order_once_the_payment_is_closed(status):
    assert cancels_order(Action.CLOSE, status)
    assert status_after(Action.CLOSE, status, PaymentState.CLOSED) == "cancelled"
    # a close that did not leave the payment closed changes nothing
    assert status_after(Action.CLOSE, status, PaymentState.OPEN) is None
    assert status_after(Action.CLOSE, status, None) is None


def test_nothing_else_changes_the_order_status():
    assert not cancels_order(Action.CLOSE, "cancelled")
    assert status_after(Action.CLOSE, "cancelled", PaymentState.CLOSED) is None
    for action in (Action.CAPTURE, Action.REFUND, Action.UPDATE, Action.REFRESH):
        assert not cancels_order(action, "new")
        assert status_after(action, "new", PaymentState.CLOSED) is None


def test_the_order_page_follows_the_same_rule():
    assert Action.CAPTURE not in panel_actions(PaymentState.OPEN, "cancelled")
    assert Action.CLOSE in panel_actions(PaymentState.OPEN, "cancelled")
    assert Action.CAPTURE in panel_actions(PaymentState.OPEN, "new")
    assert Action.CLOSE not in panel_actions(PaymentState.OPEN, "new")
    for state in PaymentState:  # never more than the payment table allows
        for status in ("new", "cancelled"):
            assert panel_actions(state, status) <= ALLOWED[state]
