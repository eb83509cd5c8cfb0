"""Messages stored as keys with parameters (core/messages.py): what is stored renders to
exactly the text of the result it came from, in each language; labels, never raw keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core import messages
from core.domain import errors
from core.domain.states import Action, PaymentState
from core.operations.results import (
    MESSAGES,
    Outcome,
    from_paidy_error,
    from_refusal,
    result_for,
    succeeded,
    with_note,
)
from core.paidy.errors import (
    InvalidPaymentId,
    PaidyAPIError,
    PaidyBadAnswer,
    PaidyUnavailable,
    PaidyUnknownOutcome,
)
from core.roles import PermissionDenied
from core.timeutil import time_left


def stored_renders_like(result) -> None:
    stored = json.loads(json.dumps(result.stored_msg()))  # what the database keeps
    assert messages.render(stored, "ja") == result.message_ja
    assert messages.render(stored, "en") == result.message_en


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_catalogue_message_renders_in_both_languages(code):
    import re

    params = {name: 1234 for name in re.findall(r"{(\w+)}", " ".join(MESSAGES[code]))}
    result = result_for(Action.CAPTURE, Outcome.OK, code, 61, "pay_x", **params)
    stored_renders_like(result)
    assert "1,234" in result.message_en or not params


REFUSALS = [
    errors.PaymentExpired(),
    errors.RefundOverLimit(amount=5000, refundable=1200),
    errors.ActionNotAllowed(action="capture", state="partially_refunded"),
    errors.OrderCancelled(order_no=61),
    errors.AmountTooLarge(limit=99_999_999),
    PermissionDenied(role="viewer"),
]


@pytest.mark.parametrize("exc", REFUSALS, ids=lambda e: e.code)
def test_refusals_are_stored_by_code_and_rebuilt(exc):
    result = from_refusal(Action.REFUND, exc, 61, "pay_x")
    assert result.stored_msg()[0]["code"] == f"rule:{exc.code}"
    stored_renders_like(result)


def test_refusals_show_labels_not_keys():
    exc = errors.ActionNotAllowed(action="capture", state="partially_refunded")
    assert (
        exc.message("ja") == "現在の状態(一部払い戻し)では売上確定(キャプチャー)は実行できません。"
    )
    assert exc.message("en") == "Capture is not possible in the current state (Partially refunded)."
    assert "(Viewer)" in PermissionDenied(role="viewer").message("en")
    assert "(閲覧者)" in PermissionDenied(role="viewer").message("ja")


PAIDY = [
    PaidyAPIError(400, "request_content.malformed", "Bad", "see [x](https://e.x)", "ref1", "r1"),
    PaidyUnknownOutcome("POST", "/payments/pay_x/captures", "timeout"),
    PaidyUnavailable("connection"),
    PaidyBadAnswer("wrong_payment"),
    InvalidPaymentId("bad id"),
]


@pytest.mark.parametrize("exc", PAIDY, ids=lambda e: type(e).__name__)
def test_paidy_errors_keep_paidys_words_and_read_in_both_languages(exc):
    stored_renders_like(from_paidy_error(Action.CAPTURE, exc, 61, "pay_x", 1000))


def test_success_with_amount_and_the_cancel_rules_note():
    refund = succeeded(Action.REFUND, 61, "pay_x", 1500)
    assert (refund.message_ja, refund.message_en) == (
        "払い戻し処理が成功しました (1,500円)",
        "Refund succeeded (1,500 yen)",
    )
    assert refund.code == "ok" and refund.amount == 1500
    stored_renders_like(refund)
    closed = with_note(succeeded(Action.CLOSE, 61, "pay_x", 2000), "order_cancelled_too")
    assert closed.message_ja == "クローズが成功しました(対応状況をキャンセルに変更しました)"
    assert closed.message_en == "Close succeeded (order status set to Cancelled)"
    stored_renders_like(closed)


def test_label_references_render_as_labels():
    r = result_for(
        Action.REFRESH,
        Outcome.OK,
        "state_changed",
        61,
        "pay_x",
        before=messages.label_ref("state", PaymentState.OPEN),
        after=messages.label_ref("state", "partially_refunded"),
    )
    assert r.message_ja == "状態確認: オープン → 一部払い戻し"
    assert r.message_en == "Refreshed: Open → Partially refunded"
    stored_renders_like(r)
    order_saved = [
        messages.part(
            "order_saved",
            total_before=1000,
            total=1200,
            status_before=messages.label_ref("order_status", "in_progress"),
            status=messages.label_ref("order_status", "backordered"),
        )
    ]
    assert "対応中→取り寄せ中" in messages.render(order_saved, "ja")
    assert "In progress → Backordered" in messages.render(order_saved, "en")


def test_what_cannot_be_rendered_falls_back_to_the_stored_text():
    future = [{"code": "from_a_newer_version", "params": {}}]
    assert messages.shown(future, "en", ja="日本語", en="English") == "English"
    assert messages.shown(None, "en", ja="日本語", en="") == "日本語"
    assert messages.shown([], "ja", ja="日本語", en="English") == "日本語"
    broken = [{"code": "rule:refund_over_limit", "params": {}}]  # params missing
    assert messages.shown(broken, "ja", ja="保存された文") == "保存された文"


def test_refusal_codes_are_unique():
    seen: dict[str, type] = {}
    from core.domain.errors import RuleViolation

    messages.rule_codes()  # imports every module that defines refusals
    todo = list(RuleViolation.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        assert seen.setdefault(cls.code, cls) is cls, (cls, seen[cls.code])


NOW = datetime(2026, 1, 1, 14, 0, tzinfo=UTC)  # 23:00 JST


@pytest.mark.parametrize(
    ("hours", "days", "expired", "left_hours"),
    [
        (0.5, 0, False, 1),  # 23:30 JST today: 本日まで, about an hour
        (2, 1, False, 2),  # 01:00 JST tomorrow: あと1日, 2 hours
        (30, 2, False, None),
        (-1, 0, True, None),  # expired today
        (-30, 1, True, None),
    ],
)
def test_time_left_in_jst_days_and_hours(hours, days, expired, left_hours):
    left = time_left(NOW + timedelta(hours=hours), NOW)
    assert (left.days, left.expired, left.hours) == (days, expired, left_hours)
    assert time_left(None, NOW) is None
