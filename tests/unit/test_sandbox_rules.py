"""The sandbox's pure parts: payment rules, clock, fault decisions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.paidy.sandbox import faults, rules
from core.paidy.sandbox.clock import SandboxClock, iso, parse_iso
from core.paidy.sandbox.rules import Context, SandboxError

NOW = datetime(2018, 2, 5, 12, 58, 8, 638000, tzinfo=UTC)


def ids():
    numbers = count(1)
    return lambda prefix: f"{prefix}_{next(numbers):016d}"


def ctx(now: datetime = NOW, original: int = 12500) -> Context:
    return Context(now, ids(), original)


def authorized(**spec) -> dict:
    return rules.new_payment(spec, ctx())


def captured() -> dict:
    return rules.capture(authorized(), {}, ctx())


def refuses(status: int, code: str, action, *args) -> SandboxError:
    with pytest.raises(SandboxError) as caught:
        action(*args)
    assert (caught.value.http_status, caught.value.code) == (status, code)
    return caught.value


# ---------------------------------------------------------------- creation


def test_new_payment_defaults_follow_paidy_checkout():
    payment = authorized()
    assert list(payment) == [
        "id",
        "created_at",
        "expires_at",
        "amount",
        "currency",
        "description",
        "store_name",
        "test",
        "status",
        "tier",
        "buyer",
        "order",
        "shipping_address",
        "captures",
        "refunds",
        "metadata",
    ]
    assert payment["created_at"] == "2018-02-05T12:58:08.638Z"
    assert payment["expires_at"] == "2018-03-07T12:58:08.638Z"  # + 30 days
    assert (payment["amount"], payment["status"], payment["test"]) == (12500, "authorized", True)
    assert list(payment["order"]) == ["tax", "shipping", "order_ref", "items", "updated_at"]


def test_new_payment_amount_is_items_plus_tax_plus_shipping_with_discounts():
    order = {
        "items": [
            {"id": "A", "unit_price": 1000, "quantity": 3},
            {"id": "COUPON", "unit_price": -500, "quantity": 1},
        ],
        "tax": 250,
        "shipping": 600,
    }
    assert authorized(order=order)["amount"] == 3000 - 500 + 250 + 600


@pytest.mark.parametrize(
    "spec",
    [
        {"id": "payment-1"},
        {"status": "captured"},
        {"amount": 0},
        {"amount": "100"},
        {"created_at": "yesterday"},
        {"order": {"items": [{"unit_price": 1.5, "quantity": 1}]}},
        {"order": {"items": [{"unit_price": 100, "quantity": 0}]}},
        {"buyer": "someone"},
        {"test": "yes"},
    ],
)
def test_new_payment_refuses_bad_specs(spec):
    refuses(400, "request_content.malformed", rules.new_payment, spec, ctx())


@pytest.mark.parametrize(
    ("state", "status", "captures", "refunded"),
    [
        ("authorized", "authorized", 0, 0),
        ("captured", "closed", 1, 0),
        ("partially_refunded", "closed", 1, 6250),
        ("refunded", "closed", 1, 12500),
        ("closed", "closed", 0, 0),
    ],
)
def test_apply_state_builds_every_state(state, status, captures, refunded):
    payment = rules.apply_state(authorized(), {"state": state}, ctx())
    assert payment["status"] == status
    assert len(payment["captures"]) == captures
    assert rules.refunded(payment) == refunded


def test_apply_state_event_times_are_never_after_now():
    created = NOW - timedelta(days=3)
    payment = authorized(created_at=iso(created))
    done = rules.apply_state(payment, {"state": "refunded"}, ctx())
    assert done["captures"][0]["created_at"] == iso(created + timedelta(minutes=1))
    fresh = rules.apply_state(authorized(), {"state": "captured"}, ctx())
    assert fresh["captures"][0]["created_at"] == iso(NOW)


# ---------------------------------------------------------------- capture and close


def test_capture_takes_the_whole_amount_once_and_closes():
    payment = rules.capture(authorized(), {"metadata": {"by": "ops"}}, ctx())
    assert payment["status"] == "closed"
    [entry] = payment["captures"]
    assert list(entry) == ["id", "created_at", "amount", "tax", "shipping", "items", "metadata"]
    assert (entry["amount"], entry["tax"], entry["shipping"]) == (12500, 300, 200)
    assert entry["metadata"] == {"by": "ops"}
    refuses(409, "payment.state_invalid", rules.capture, payment, {}, ctx())


def test_capture_is_refused_from_expires_at_on():
    payment = authorized()
    expiry = parse_iso(payment["expires_at"])
    rules.capture(payment, {}, ctx(expiry - timedelta(milliseconds=1)))
    refuses(400, "payment.expired", rules.capture, payment, {}, ctx(expiry))


def test_capture_refuses_bad_metadata_and_rejected_payments():
    refuses(400, "request_content.malformed", rules.capture, authorized(), {"metadata": []}, ctx())
    rejected = authorized(status="rejected")
    refuses(409, "payment.state_invalid", rules.capture, rejected, {}, ctx())


def test_close_works_on_expired_authorizations_only_once():
    payment = authorized()
    late = ctx(parse_iso(payment["expires_at"]) + timedelta(days=1))
    closed = rules.close(payment, {}, late)
    assert (closed["status"], closed["captures"]) == ("closed", [])
    refuses(409, "payment.state_invalid", rules.close, closed, {}, late)


# ---------------------------------------------------------------- refunds


def test_refund_defaults_to_what_is_left_and_reason_unknown():
    payment = captured()
    capture_id = payment["captures"][0]["id"]
    partial = rules.refund(payment, {"capture_id": capture_id, "amount": 500}, ctx())
    rest = rules.refund(partial, {"capture_id": capture_id}, ctx())
    assert [r["amount"] for r in rest["refunds"]] == [500, 12000]
    assert {r["reason"] for r in rest["refunds"]} == {"unknown"}
    assert list(rest["refunds"][0]) == [
        "id",
        "created_at",
        "capture_id",
        "amount",
        "reason",
        "metadata",
    ]
    assert rest["status"] == "closed"
    refuses(400, "refund.amount_exceeded", rules.refund, rest, {"capture_id": capture_id}, ctx())


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "request_content.malformed"),
        ({"capture_id": "cap_x", "amount": 1}, 400, "capture.not_found"),
        ({"capture_id": "CAP", "amount": 0}, 400, "refund.amount_invalid"),
        ({"capture_id": "CAP", "amount": -5}, 400, "refund.amount_invalid"),
        ({"capture_id": "CAP", "amount": 12501}, 400, "refund.amount_exceeded"),
        ({"capture_id": "CAP", "amount": 10.5}, 400, "request_content.malformed"),
        ({"capture_id": "CAP", "amount": True}, 400, "request_content.malformed"),
        ({"capture_id": "CAP", "reason": 3}, 400, "request_content.malformed"),
    ],
)
def test_refund_refusals(body, status, code):
    payment = captured()
    if body.get("capture_id") == "CAP":
        body = {**body, "capture_id": payment["captures"][0]["id"]}
    refuses(status, code, rules.refund, payment, body, ctx())


def test_refund_needs_a_captured_payment():
    refuses(409, "payment.state_invalid", rules.refund, authorized(), {"capture_id": "c"}, ctx())
    closed = rules.close(authorized(), {}, ctx())
    refuses(409, "payment.state_invalid", rules.refund, closed, {"capture_id": "c"}, ctx())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=-10, max_value=13000), max_size=8))
def test_refunds_never_exceed_the_capture(amounts):
    payment = captured()
    capture_id = payment["captures"][0]["id"]
    for amount in amounts:
        try:
            payment = rules.refund(payment, {"capture_id": capture_id, "amount": amount}, ctx())
        except SandboxError as error:
            assert error.http_status == 400
    assert 0 <= rules.refunded(payment) <= 12500
    assert all(r["amount"] >= 1 for r in payment["refunds"])


# ---------------------------------------------------------------- update


def test_update_fields_and_metadata_replaced_whole():
    payment = {**authorized(), "metadata": {"a": 1, "b": 2}}
    updated = rules.update(
        payment, {"description": "new", "order_ref": "ORD-9", "metadata": {"c": 3}}, ctx()
    )
    assert updated["description"] == "new"
    assert updated["order"]["order_ref"] == "ORD-9"
    assert updated["metadata"] == {"c": 3}
    assert updated["amount"] == payment["amount"]


def test_update_with_order_changes_the_amount_up_to_110_percent():
    payment = authorized()  # 12,500 yen; limit floor(12500 x 1.1) = 13750
    order = {"items": [{"id": "X", "title": "x", "unit_price": 13250, "quantity": 1}]}
    updated = rules.update(payment, {"order": order}, ctx())
    assert updated["amount"] == 13750
    assert updated["order"]["updated_at"] == iso(NOW)
    assert (updated["order"]["tax"], updated["order"]["shipping"]) == (300, 200)
    too_much = {"items": [{"unit_price": 13251, "quantity": 1}]}
    refuses(400, "payment.amount_invalid", rules.update, payment, {"order": too_much}, ctx())
    nothing = {"items": [], "tax": 0, "shipping": 0}
    refuses(400, "payment.amount_invalid", rules.update, payment, {"order": nothing}, ctx())


def test_update_limit_uses_the_original_authorized_amount_in_integers():
    assert rules.update_limit(1380) == 1518
    assert rules.update_limit(100) == 110
    assert rules.update_limit(12345) == 13579
    payment = {**authorized(), "amount": 13750}  # already raised once
    order = {"items": [{"unit_price": 13251, "quantity": 1}]}
    refuses(400, "payment.amount_invalid", rules.update, payment, {"order": order}, ctx())


def test_update_refusals_by_state():
    closed = captured()
    assert rules.update(closed, {"description": "ok"}, ctx())["description"] == "ok"
    order = {"items": [{"unit_price": 100, "quantity": 1}]}
    refuses(409, "payment.state_invalid", rules.update, closed, {"order": order}, ctx())
    rejected = authorized(status="rejected")
    refuses(409, "payment.state_invalid", rules.update, rejected, {"description": "x"}, ctx())
    refuses(400, "request_content.malformed", rules.update, authorized(), {"metadata": 1}, ctx())


def test_rules_do_not_modify_their_input():
    payment = authorized()
    snapshot = repr(payment)
    rules.capture(payment, {}, ctx())
    rules.update(payment, {"order": {"items": [{"unit_price": 1, "quantity": 1}]}}, ctx())
    assert repr(payment) == snapshot


def test_error_envelope_matches_paidy():
    error = SandboxError(409, "payment.state_invalid", "Invalid payment state", "closed")
    assert error.envelope("err_1") == {
        "reference": "err_1",
        "status": "409",
        "code": "payment.state_invalid",
        "title": "Invalid payment state",
        "description": "closed",
    }


# ---------------------------------------------------------------- clock


class FakeTime:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_clock_offset_keeps_flowing_and_freeze_stops_it():
    real = FakeTime()
    clock = SandboxClock(real)
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    real.now += timedelta(seconds=5)
    assert clock.now() == datetime(2030, 1, 1, 0, 0, 5, tzinfo=UTC)
    clock.freeze(True)
    real.now += timedelta(hours=1)
    clock.advance(60)
    assert clock.now() == datetime(2030, 1, 1, 0, 1, 5, tzinfo=UTC)
    clock.freeze(False)
    real.now += timedelta(seconds=1)
    assert clock.now() == datetime(2030, 1, 1, 0, 1, 6, tzinfo=UTC)
    clock.reset()
    assert clock.now() == real.now


def test_timestamps_are_utc_with_milliseconds():
    assert iso(datetime(2018, 2, 5, 21, 58, 10, 381999, tzinfo=UTC)) == "2018-02-05T21:58:10.381Z"
    assert parse_iso("2018-02-05T21:58:10.381+09:00") == datetime(
        2018, 2, 5, 12, 58, 10, 381000, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        parse_iso(["not", "a", "time"])


# ---------------------------------------------------------------- faults


def test_fault_queue_takes_the_first_matching_entry():
    box = faults.Faults(faults.FaultConfig())
    box.update(
        {
            "next": [
                {"kind": "timeout", "method": "POST", "path_contains": "/captures"},
                {"kind": "error_500"},
            ]
        }
    )
    assert box.decide("GET", "/payments/pay_1") == "error_500"
    assert box.decide("GET", "/payments/pay_1") is None
    assert box.decide("POST", "/payments/pay_1/captures") == "timeout"
    assert box.snapshot()["next"] == []


def test_random_faults_are_reproducible_with_a_seed():
    config = faults.FaultConfig(fault_rate=0.5)
    runs = [faults.Faults(config, seed=7) for _ in range(2)]
    sequences = [[box.decide("GET", "/payments/x") for _ in range(50)] for box in runs]
    assert sequences[0] == sequences[1]
    assert 5 < sum(kind is not None for kind in sequences[0]) < 45


def test_pick_random_respects_mix_weights_and_rate():
    rng = random.Random(1)
    only = faults.FaultConfig(fault_rate=1.0, mix={"html_502": 1.0, "error_500": 0})
    assert {faults.pick_random(rng, only) for _ in range(20)} == {"html_502"}
    assert faults.pick_random(rng, faults.FaultConfig(fault_rate=0.0)) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"fault_rate": 1.5},
        {"latency_ms": -1},
        {"latency_ms": "10"},
        {"mix": {"meteor": 1}},
        {"next": [{"kind": "meteor"}]},
        {"next": {"kind": "timeout"}},
        {"colour": "blue"},
    ],
)
def test_fault_settings_are_validated(changes):
    with pytest.raises(ValueError):
        faults.parse_changes(changes)


def test_which_faults_apply_the_change():
    applied = {kind for kind in faults.KINDS if faults.is_applied(kind)}
    assert applied == {
        "applied_timeout",
        "applied_500",
        "applied_drop",
        "truncated",
        "wrong_payment",
        "negative_amount",
        "huge_body",
    }
    assert faults.is_applied(None)
    # applied later, never now; and a random pick keeps the classic kinds only by default
    assert not faults.is_applied("apply_late") and "apply_late" in faults.LATE
    assert set(faults.default_mix()) == set(faults.CLASSIC)


def test_read_only_and_write_only_kinds():
    assert not faults.applies_to("apply_late", "GET") and faults.applies_to("apply_late", "POST")
    assert faults.applies_to("stale_read", "GET") and not faults.applies_to("stale_read", "PUT")
