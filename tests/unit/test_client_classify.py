"""How the client classifies answers: no failure may look like a success."""

import json

import pytest
import requests
import responses

from core.paidy.client import PaidyClient, classify_response
from core.paidy.errors import (
    InvalidPaymentId,
    PaidyAPIError,
    PaidyUnavailable,
    PaidyUnknownOutcome,
)
from core.paidy.models import ErrorEnvelope, Payment, is_payment_id

PAYMENT = {
    "id": "pay_XdXi-T0AAFQA3JEn",
    "amount": 1380,
    "status": "authorized",
    "created_at": "2019-11-21T00:52:00.000Z",
    "expires_at": "2019-12-21T00:52:00.000Z",
    "future_field": {"tolerated": True},
}
BODY = json.dumps(PAYMENT).encode()
ENV = json.dumps(
    {
        "reference": "err_1",
        "status": 409,
        "code": "payment.state_invalid",
        "title": "Conflict",
        "description": "already closed",
    }
).encode()


def test_2xx_payment_is_success_and_tolerates_unknown_fields():
    r = classify_response("POST", f"/payments/{PAYMENT['id']}/captures", 200, BODY, "req_1")
    assert r.payment.id == PAYMENT["id"] and r.request_id == "req_1"


@pytest.mark.parametrize(
    "content", [b"<html>502</html>", b'{"id": "pay_x"', b"", b"{}", b'{"ok":1}']
)
def test_2xx_without_a_payment_is_never_success(content):
    with pytest.raises(PaidyUnknownOutcome) as info:
        classify_response("POST", "/payments/p/captures", 200, content, None)
    assert info.value.reason == "invalid_body"
    with pytest.raises(PaidyUnavailable):
        classify_response("GET", "/payments/p", 200, content, None)


def test_4xx_envelope_is_a_definite_api_error_with_numeric_status_accepted():
    with pytest.raises(PaidyAPIError) as info:
        classify_response("POST", "/payments/p/close", 409, ENV, "req_9")
    e = info.value
    assert (e.http_status, e.code, e.reference, e.request_id) == (
        409,
        "payment.state_invalid",
        "err_1",
        "req_9",
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_on_a_write_is_unknown_outcome(status):
    with pytest.raises(PaidyUnknownOutcome) as info:
        classify_response("POST", "/payments/p/refunds", status, ENV, None)
    assert info.value.reason == "server_error"


def test_4xx_without_envelope_on_write_is_unknown():
    with pytest.raises(PaidyUnknownOutcome):
        classify_response("PUT", "/payments/p", 404, b"<html>not found</html>", None)


def test_envelope_details_and_empty_reference():
    env = ErrorEnvelope.model_validate(
        {
            "status": "400",
            "code": "request_content.malformed",
            "reference": "",
            "details": [{"kind": "x", "field": "amount", "message": "bad"}],
        }
    )
    assert env.status == "400" and env.details[0].field == "amount"


def test_unknown_status_value_is_kept():
    p = Payment.model_validate({**PAYMENT, "status": "EXPIRED"})
    assert p.status == "expired"


@pytest.mark.parametrize("pid", ["pay_XdXi-T0AAFQA3JEn", "pay_aii8_kYAAEYA2BDW"])
def test_real_payment_ids_are_valid(pid):
    assert is_payment_id(pid)


@pytest.mark.parametrize(
    "pid",
    ["", "pay_", "pay_../x", "pay_a/b", "cap_abc", "pay_a?b=1", "pay_a b", "pay_" + "a" * 80, None],
)
def test_bad_payment_ids_never_reach_a_url(pid):
    assert not is_payment_id(pid)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        with pytest.raises(InvalidPaymentId):
            PaidyClient("https://api.paidy.com", "sk_test_x").get_payment(pid)
        assert len(rsps.calls) == 0


@responses.activate
def test_write_timeout_is_unknown_and_sent_once():
    responses.add(
        "POST", "https://api.paidy.com/payments/pay_a/captures", body=requests.ReadTimeout()
    )
    with pytest.raises(PaidyUnknownOutcome) as info:
        PaidyClient("https://api.paidy.com", "sk_test_x").capture("pay_a")
    assert info.value.reason == "timeout"
    assert len(responses.calls) == 1


@responses.activate
def test_write_connection_drop_is_unknown():
    responses.add(
        "POST", "https://api.paidy.com/payments/pay_a/refunds", body=requests.ConnectionError()
    )
    with pytest.raises(PaidyUnknownOutcome) as info:
        PaidyClient("https://api.paidy.com", "sk_test_x").refund("pay_a", "cap_1", 100)
    assert info.value.reason == "connection"


def _mounted(client: PaidyClient, direction: str):
    """The urllib3 Retry policy actually mounted on the client's read or write session."""
    session = client._reads if direction == "read" else client._writes
    return session.get_adapter("https://api.paidy.com").max_retries


def test_the_mounted_policies_retry_reads_only():
    client = PaidyClient("https://api.paidy.com", "sk_test_x", read_retries=3)
    reads, writes = _mounted(client, "read"), _mounted(client, "write")
    assert reads.is_retry("GET", 503) and reads.is_retry("GET", 429)
    assert not reads.is_retry("GET", 404)
    for method in ("POST", "PUT"):
        assert not reads.is_retry(method, 503)
        assert not writes.is_retry(method, 503)
    assert writes.total == 0 and writes.redirect == 0
    # three retries of a connection failure, then the read gives up
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

    r = reads
    for _ in range(3):
        r = r.increment(method="GET", url="/payments/pay_x", error=ConnectTimeoutError())
    with pytest.raises(MaxRetryError):
        r.increment(method="GET", url="/payments/pay_x", error=ConnectTimeoutError())


def test_the_mounted_read_policy_is_configured_as_documented():
    """The adapter mounted on the read session (both schemes): what ``retry.read_retry``
    promises, with the client's settings passed through."""
    client = PaidyClient("https://api.paidy.com", "sk_test_x", read_retries=4, backoff_factor=0.25)
    for url in ("https://api.paidy.com/payments/pay_x", "http://127.0.0.1:8999/payments/pay_x"):
        policy = client._reads.get_adapter(url).max_retries
        assert (policy.total, policy.connect, policy.read, policy.status) == (4, 4, 4, 4)
        assert policy.other == 0 and policy.redirect == 0
        assert set(policy.allowed_methods) == {"GET"}
        assert set(policy.status_forcelist) == {429, 500, 502, 503, 504}
        assert policy.backoff_factor == 0.25 and policy.backoff_jitter == 0.25
        assert policy.backoff_max == 5.0
        assert policy.respect_retry_after_header and not policy.raise_on_status
        writes = client._writes.get_adapter(url).max_retries
        assert (writes.total, writes.connect, writes.read, writes.status) == (0, 0, 0, 0)
        assert writes.other == 0 and writes.redirect == 0
    defaults = _mounted(PaidyClient("https://api.paidy.com", "sk_test_x"), "read")
    assert defaults.total == 3 and defaults.backoff_factor == 0.3


def test_the_mounted_backoff_grows_is_capped_and_jittered():
    from urllib3.util.retry import RequestHistory

    policy = _mounted(PaidyClient("https://api.paidy.com", "sk_test_x", backoff_factor=0.5), "read")

    def delay(errors: int) -> float:
        history = tuple(RequestHistory("GET", "/", None, None, None) for _ in range(errors))
        return policy.new(history=history).get_backoff_time()

    samples = [delay(n) for n in range(2, 12) for _ in range(20)]
    assert all(0 < s <= policy.backoff_max + policy.backoff_jitter for s in samples)
    assert len(set(samples)) > 50  # jitter: not a fixed schedule
    assert min(delay(2) for _ in range(50)) < min(delay(4) for _ in range(50))  # grows


def test_client_repr_hides_the_key():
    c = PaidyClient("https://api.paidy.com", "sk_live_supersecret1234")
    assert "supersecret" not in repr(c)
