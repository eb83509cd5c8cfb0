"""No answer is trusted blindly: another payment's record, negative or fractional yen,
refunds above the capture, a foreign capture id, over 1 MB, or a redirect. On a read nothing
is returned (PaidyBadAnswer); on a write the outcome is unknown (settled by our tag)."""

from __future__ import annotations

import json

import pytest
import responses

from core.paidy.client import MAX_ANSWER_BYTES, PaidyClient, classify_response
from core.paidy.errors import PaidyBadAnswer, PaidyUnknownOutcome

BASE = "https://api.paidy.com"
PID = "pay_XdXi-T0AAFQA3JEn"
GOOD = {
    "id": PID,
    "amount": 5148,
    "status": "closed",
    "captures": [{"id": "cap_1", "amount": 5148, "metadata": {}}],
    "refunds": [{"id": "ref_1", "capture_id": "cap_1", "amount": 500, "metadata": {}}],
}


def with_(**changes) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


UNTRUSTED = {
    "wrong_payment": with_(id="pay_someoneElse00001"),
    "bad_amount": with_(
        refunds=[{"id": "ref_1", "capture_id": "cap_1", "amount": -100000, "metadata": {}}]
    ),
    "refund_over_capture": with_(
        refunds=[{"id": "ref_1", "capture_id": "cap_1", "amount": 6000, "metadata": {}}]
    ),
    "foreign_capture": with_(
        refunds=[{"id": "ref_1", "capture_id": "cap_other", "amount": 100, "metadata": {}}]
    ),
}


@pytest.mark.parametrize("reason", list(UNTRUSTED))
def test_untrusted_answers_are_errors_on_reads_and_unknown_on_writes(reason):
    body = UNTRUSTED[reason]
    with pytest.raises(PaidyBadAnswer) as read:
        classify_response("GET", f"/payments/{PID}", 200, body, "req_1")
    assert read.value.reason == reason and read.value.message("ja")
    with pytest.raises(PaidyUnknownOutcome) as write:
        classify_response("POST", f"/payments/{PID}/refunds", 200, body, "req_2")
    assert write.value.reason == reason


@pytest.mark.parametrize("amount", ["500", 500.5, -1, True])
def test_money_fields_must_be_whole_non_negative_yen(amount):
    body = with_(amount=amount)
    with pytest.raises(PaidyBadAnswer) as info:
        classify_response("GET", f"/payments/{PID}", 200, body, None)
    assert info.value.reason == "bad_amount"


def test_a_good_answer_passes():
    r = classify_response("GET", f"/payments/{PID}", 200, with_(), "req_1")
    assert r.payment.refunded_amount == 500


@responses.activate
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed(status):
    elsewhere = "https://evil.example/steal"
    responses.post(f"{BASE}/payments/{PID}/refunds", status=status, headers={"Location": elsewhere})
    responses.get(f"{BASE}/payments/{PID}", status=status, headers={"Location": elsewhere})
    responses.post(elsewhere, json=GOOD)
    responses.get(elsewhere, json=GOOD)
    client = PaidyClient(BASE, "sk_test_x", read_retries=0)
    with pytest.raises(PaidyUnknownOutcome) as write:
        client.refund(PID, "cap_1", 100)
    assert write.value.reason == "redirect"
    with pytest.raises(PaidyBadAnswer) as read:
        client.get_payment(PID)
    assert read.value.reason == "redirect"
    assert [c.request.url for c in responses.calls] == [
        f"{BASE}/payments/{PID}/refunds",
        f"{BASE}/payments/{PID}",
    ], "nothing went to the redirect's target"


@responses.activate
@pytest.mark.parametrize("declared", [True, False])
def test_an_answer_over_1_mb_is_unreadable(declared):
    huge = json.dumps({**GOOD, "padding": "x" * (MAX_ANSWER_BYTES + 1)}).encode()
    headers = {} if declared else {"Transfer-Encoding": "chunked"}
    responses.post(f"{BASE}/payments/{PID}/captures", body=huge, headers=headers)
    responses.get(f"{BASE}/payments/{PID}", body=huge, headers=headers)
    client = PaidyClient(BASE, "sk_test_x", read_retries=0)
    with pytest.raises(PaidyUnknownOutcome) as write:
        client.capture(PID)
    assert write.value.reason == "too_large"
    with pytest.raises(PaidyBadAnswer) as read:
        client.get_payment(PID)
    assert read.value.reason == "too_large"


@responses.activate
def test_bad_reads_are_retried_then_refused():
    responses.get(f"{BASE}/payments/{PID}", body=UNTRUSTED["wrong_payment"])
    client = PaidyClient(BASE, "sk_test_x", read_retries=2)
    with pytest.raises(PaidyBadAnswer):
        client.get_payment(PID)
    assert len(responses.calls) == 3
