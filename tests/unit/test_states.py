"""The payment rule table (docs/architecture.md), row by row, and properties of the guard."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain import errors
from core.domain.states import (
    ALLOWED,
    Action,
    PaymentSnapshot,
    PaymentState,
    check_action,
    derive_state,
    refusal,
)

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=5)
EARLIER = NOW - timedelta(seconds=1)

# (status, captured, refunded, expires_at) -> state ; the rows of docs/architecture.md's table
ROWS = [
    ("authorized", 0, 0, LATER, PaymentState.OPEN),
    ("authorized", 0, 0, EARLIER, PaymentState.EXPIRED),
    ("authorized", 0, 0, NOW, PaymentState.EXPIRED),  # now >= expires_at
    ("closed", 1000, 0, LATER, PaymentState.CAPTURED),
    ("closed", 1000, 400, LATER, PaymentState.PARTIALLY_REFUNDED),
    ("closed", 1000, 1000, LATER, PaymentState.REFUNDED),
    ("closed", 0, 0, LATER, PaymentState.CLOSED),
    ("rejected", 0, 0, LATER, PaymentState.REJECTED),
    ("AUTHORIZED", 0, 0, LATER, PaymentState.OPEN),  # case-insensitive
    ("EXPIRED", 0, 0, LATER, PaymentState.EXPIRED),
    ("weird_new_status", 0, 0, LATER, PaymentState.UNKNOWN),
    ("authorized", 1000, 0, LATER, PaymentState.UNKNOWN),  # contradictory: refresh only
    ("", 0, 0, LATER, PaymentState.UNKNOWN),
]


@pytest.mark.parametrize(("status", "cap", "ref", "exp", "state"), ROWS)
def test_derive_state(status, cap, ref, exp, state):
    assert derive_state(status, cap, ref, exp, NOW) is state


EXPECTED_ALLOWED = {
    PaymentState.OPEN: {"update", "capture", "close", "refresh"},
    PaymentState.EXPIRED: {"close", "refresh"},
    PaymentState.CAPTURED: {"refund", "refresh"},
    PaymentState.PARTIALLY_REFUNDED: {"refund", "refresh"},
    PaymentState.REFUNDED: {"refresh"},
    PaymentState.CLOSED: {"refresh"},
    PaymentState.REJECTED: {"refresh"},
    PaymentState.UNKNOWN: {"refresh"},
}


@pytest.mark.parametrize("state", list(PaymentState))
def test_allowed_actions_match_design_table(state):
    assert {a.value for a in ALLOWED[state]} == EXPECTED_ALLOWED[state]


REFUSALS = [
    (PaymentState.EXPIRED, Action.CAPTURE, errors.PaymentExpired),
    (PaymentState.EXPIRED, Action.UPDATE, errors.PaymentExpired),
    (PaymentState.CAPTURED, Action.CAPTURE, errors.AlreadyCaptured),
    (PaymentState.CAPTURED, Action.CLOSE, errors.AlreadyCaptured),
    (PaymentState.REFUNDED, Action.REFUND, errors.NothingToRefund),
    (PaymentState.OPEN, Action.REFUND, errors.NotCaptured),
    (PaymentState.CLOSED, Action.REFUND, errors.NotCaptured),
    (PaymentState.CLOSED, Action.CAPTURE, errors.AlreadyClosed),
    (PaymentState.CLOSED, Action.CLOSE, errors.AlreadyClosed),
    (PaymentState.REJECTED, Action.CAPTURE, errors.PaymentRejected),
    (PaymentState.UNKNOWN, Action.CLOSE, errors.UnknownPaymentState),
]


@pytest.mark.parametrize(("state", "action", "exc"), REFUSALS)
def test_named_refusals(state, action, exc):
    err = refusal(state, action, "x")
    assert type(err) is exc
    assert err.message("ja") and err.message("en")
    assert err.message("ja") != err.message("en")


def test_the_order_page_offers_close_only_for_cancelled_orders():
    from core.domain.cancellation import panel_actions

    assert Action.CLOSE not in panel_actions(PaymentState.OPEN, "new")
    assert Action.CLOSE in panel_actions(PaymentState.OPEN, "cancelled")
    assert Action.CLOSE in panel_actions(PaymentState.EXPIRED, "cancelled")
    assert panel_actions(PaymentState.CAPTURED, "cancelled") == ALLOWED[PaymentState.CAPTURED]


def test_check_action_raises_on_snapshot():
    snap = PaymentSnapshot("authorized", 1380, expires_at=EARLIER)
    with pytest.raises(errors.PaymentExpired):
        check_action(snap, Action.CAPTURE, NOW)
    assert check_action(snap, Action.CLOSE, NOW) is PaymentState.EXPIRED


@given(
    status=st.sampled_from(["authorized", "closed", "rejected", "Closed", "x", ""]),
    captured=st.integers(0, 10**7),
    refunded=st.integers(0, 10**7),
    offset=st.integers(-(10**7), 10**7),
    action=st.sampled_from(list(Action)),
)
def test_guard_is_total_and_consistent(status, captured, refunded, offset, action):
    """For any snapshot: refresh is always allowed; every other action is either allowed by
    the table or refused with a RuleViolation that has messages in both languages."""
    refunded = min(refunded, captured)
    snap = PaymentSnapshot(status, 1000, captured, refunded, NOW + timedelta(seconds=offset))
    state = snap.state(NOW)
    err = refusal(state, action, status)
    assert (err is None) == (action in ALLOWED[state])
    if action is Action.REFRESH:
        assert err is None
    if err is not None:
        assert isinstance(err, errors.RuleViolation)
        assert err.message("ja") and err.message("en")
    # money can only move from states that hold money to move
    if action is Action.REFUND and err is None:
        assert captured > refunded
    if action is Action.CAPTURE and err is None:
        assert captured == 0 and status.lower() == "authorized"
