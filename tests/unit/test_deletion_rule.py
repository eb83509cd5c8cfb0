"""削除: which payment states allow deleting an order, and what a refusal says (ja/en)."""

from __future__ import annotations

import pytest

from core.domain import deletion
from core.domain.states import PaymentState

S = PaymentState


@pytest.mark.parametrize(
    ("state", "refusal"),
    [
        (None, None),  # no Paidy payment
        (S.CLOSED, None),
        (S.REFUNDED, None),
        (S.REJECTED, None),
        (S.OPEN, deletion.DeleteOpenPayment),
        (S.EXPIRED, deletion.DeleteExpiredPayment),
        (S.CAPTURED, deletion.DeleteCapturedPayment),
        (S.PARTIALLY_REFUNDED, deletion.DeleteCapturedPayment),
        (S.UNKNOWN, deletion.DeleteUnknownPayment),
    ],
)
def test_rule_table(state, refusal):
    found = deletion.delete_refusal(61, state, status="x", billed=1380)
    if refusal is None:
        assert found is None
    else:
        assert type(found) is refusal


def test_every_state_is_decided():
    decided = {s for s in S if deletion.delete_refusal(1, s) is None} | {
        s for s in S if deletion.delete_refusal(1, s) is not None
    }
    assert decided == set(S)
    assert deletion.DELETABLE == {None, S.CLOSED, S.REFUNDED, S.REJECTED}


def test_busy_payment_is_refused_even_in_a_final_state():
    found = deletion.delete_refusal(61, S.REFUNDED, busy=True)
    assert isinstance(found, deletion.DeletePaymentBusy)
    assert "状態確認" in found.message("ja")


def test_messages_say_why_and_what_to_do_in_both_languages():
    open_ = deletion.delete_refusal(12345, S.OPEN)
    assert "12345" in open_.message("ja") and "12,345" not in open_.message("ja")
    assert "クローズ" in open_.message("ja") and "Close it first" in open_.message("en")
    captured = deletion.delete_refusal(7, S.PARTIALLY_REFUNDED, billed=880)
    assert "880円" in captured.message("ja") and "払い戻し" in captured.message("ja")
    assert "880 yen" in captured.message("en") and "Refund it fully" in captured.message("en")
    unknown = deletion.delete_refusal(7, S.UNKNOWN, status="weird")
    assert "weird" in unknown.message("ja") and "weird" in unknown.message("en")
    for exc in (open_, captured, unknown):
        assert exc.code.startswith("delete_")
