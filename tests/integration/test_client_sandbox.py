"""The real client against the real sandbox over a socket: each fault kind, for a read and a
write, raises exactly the error type the service layer relies on (or, for reads, is retried
away), and a write is never sent twice."""

from __future__ import annotations

import pytest
import requests

from core.paidy.client import PaidyClient
from core.paidy.errors import InvalidPaymentId, PaidyAPIError, PaidyUnavailable, PaidyUnknownOutcome
from tests.secrets import OPS_KEY

# fault kind -> (error on a write, applied?)
WRITE = {
    "error_500": (PaidyUnknownOutcome, False),
    "html_502": (PaidyUnknownOutcome, False),
    "timeout": (PaidyUnknownOutcome, False),
    "applied_timeout": (PaidyUnknownOutcome, True),
    "applied_500": (PaidyUnknownOutcome, True),
    "applied_drop": (PaidyUnknownOutcome, True),
    "truncated": (PaidyUnknownOutcome, True),
    "rate_limited": (PaidyAPIError, False),  # 429: a definite "not done"
}
READ_ONCE = ["error_500", "html_502", "timeout", "applied_drop", "truncated", "rate_limited"]


def new_payment(url: str) -> str:
    return requests.post(f"{url}/_sandbox/payments", json={}, timeout=5).json()["id"]


def queue(url: str, kind: str, method: str, times: int = 1) -> None:
    rules = [{"kind": kind, "method": method}] * times
    requests.post(f"{url}/_sandbox/faults", json={"next": rules}, timeout=5).raise_for_status()


def stats(url: str) -> dict:
    return requests.get(f"{url}/_sandbox/stats", timeout=5).json()


@pytest.fixture
def client(sandbox) -> PaidyClient:
    return PaidyClient(sandbox.url, OPS_KEY, timeout_s=1.0, read_retries=2, backoff_factor=0.01)


@pytest.mark.parametrize("kind", list(WRITE))
def test_write_faults(client, sandbox, kind):
    pid = new_payment(sandbox.url)
    queue(sandbox.url, kind, "POST")
    error, applied = WRITE[kind]
    with pytest.raises(error):
        client.capture(pid)
    after = stats(sandbox.url)
    assert after["by_route"].get("POST /captures") == 1, "a write is sent exactly once"
    assert after["captures_applied"] == (1 if applied else 0)
    assert (client.get_payment(pid).payment.status == "closed") is applied


@pytest.mark.parametrize("kind", READ_ONCE)
def test_one_read_fault_is_retried_away(client, sandbox, kind):
    pid = new_payment(sandbox.url)
    queue(sandbox.url, kind, "GET")
    result = client.get_payment(pid)
    assert result.payment.id == pid and result.request_id.startswith("req_")
    assert stats(sandbox.url)["by_route"]["GET /payments"] >= 2


def test_persistent_read_faults_make_paidy_unavailable(client, sandbox):
    pid = new_payment(sandbox.url)
    queue(sandbox.url, "error_500", "GET", times=3)
    with pytest.raises(PaidyUnavailable):
        client.get_payment(pid)
    assert stats(sandbox.url)["by_route"]["GET /payments"] == 3  # 1 + 2 retries


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c, pid: c.refund(pid, "cap_nope", 100), None),  # not captured
        (
            lambda c, pid: c.update(
                pid,
                order={"items": [{"unit_price": 10**6, "quantity": 1}], "tax": 0, "shipping": 0},
            ),
            None,
        ),
    ],
)
def test_business_refusals_are_api_errors_with_paidys_words(client, sandbox, call, code):
    pid = new_payment(sandbox.url)
    with pytest.raises(PaidyAPIError) as info:
        call(client, pid)
    err = info.value
    assert (
        400 <= err.http_status < 500 and err.code and err.title and err.reference.startswith("err_")
    )
    assert err.request_id and err.request_id.startswith("req_")


def test_capture_then_close_is_a_409_conflict(client, sandbox):
    pid = new_payment(sandbox.url)
    assert client.capture(pid).payment.captured_amount > 0
    with pytest.raises(PaidyAPIError) as info:
        client.close(pid)
    assert info.value.http_status == 409


def test_wrong_key_is_an_auth_error(sandbox):
    with pytest.raises(PaidyAPIError) as info:
        PaidyClient(sandbox.url, "not_a_key").get_payment(new_payment(sandbox.url))
    assert info.value.is_auth_error and info.value.code == "authentication.failed"


def test_unknown_payment_and_bad_ids(client, sandbox):
    with pytest.raises(PaidyAPIError) as info:
        client.get_payment("pay_doesNotExist123")
    assert info.value.http_status == 404
    with pytest.raises(InvalidPaymentId):
        client.close("pay_../../_sandbox/reset")
    assert stats(sandbox.url)["requests"] == 1


def test_full_lifecycle_shapes(client, sandbox):
    pid = new_payment(sandbox.url)
    r = client.capture(pid)
    cap = r.payment.capture_id
    assert cap.startswith("cap_") and r.payment.status == "closed"
    r = client.refund(pid, cap, 500, reason="返品")
    assert [x.amount for x in r.payment.refunds] == [500] and r.payment.refunds[0].reason == "返品"
    r = client.refund(pid, cap)  # amount omitted: what is left of the capture
    assert r.payment.refunded_amount == r.payment.captured_amount
    r = client.update(pid, description="changed", metadata={"k": "v"})
    assert r.payment.description == "changed" and r.payment.metadata == {"k": "v"}
