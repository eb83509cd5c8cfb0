"""Replay every recorded exchange with api.paidy.com against our client.

For each exchange the client must send the same method, path and JSON body, and parse the
recorded answer (a payment, or the right error type).
"""

import json
from pathlib import Path

import pytest
import responses

from core.paidy.client import PaidyClient
from core.paidy.errors import PaidyAPIError, PaidyUnavailable, PaidyUnknownOutcome

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"  # vendored, MIT: see its README
BASE = "https://api.paidy.com"


def exchanges(back_office: bool):
    """Exchanges on /payments/{id}... (what a back office sends), or the others."""
    for path in sorted(RECORDINGS.glob("*.json")):
        for i, ex in enumerate(json.loads(path.read_text())):
            ours = ex["request"]["url"].startswith(f"{BASE}/payments/")
            if ours == back_office:
                yield pytest.param(ex, id=f"{path.stem}[{i}]")


def _client() -> PaidyClient:
    return PaidyClient(BASE, "sk_test_recorded", read_retries=0)


def _call(client: PaidyClient, method: str, path: str, body: dict):
    """Map a recorded request to the client method that sends it."""
    parts = path.strip("/").split("/")
    if parts[0] != "payments" or len(parts) == 1:
        return None  # token creation / tokens: not part of a back office
    pid = parts[1]
    if method == "GET":
        return client.get_payment(pid)
    if method == "PUT":
        return client.update(pid, **body)
    action = parts[2]
    if action == "captures":
        return client.capture(pid, **body)
    if action == "refunds":
        return client.refund(pid, **body)
    if action == "close":
        return client.close(pid)
    raise AssertionError(path)


def test_recordings_are_present():
    assert len(list(RECORDINGS.glob("*.json"))) >= 9


@pytest.mark.parametrize("ex", list(exchanges(back_office=True)))
@responses.activate
def test_replay(ex):
    req, resp = ex["request"], ex["response"]
    method, url = req["method"].upper(), req["url"]
    path = url.removeprefix(BASE)
    body = json.loads(req["body"]) if req["body"] else {}
    headers = {
        k: v for k, v in resp["headers"].items() if k not in ("Content-Length", "Connection")
    }
    responses.add(method, url, body=resp["body"], status=resp["status_code"], headers=headers)
    result = _call(_client(), method, path, body)

    sent = responses.calls[0].request
    assert sent.method == method
    assert sent.url == url
    assert (json.loads(sent.body) if sent.body else {}) == body
    assert sent.headers["Authorization"] == "Bearer sk_test_recorded"
    assert sent.headers["Paidy-Version"] == "2018-04-10"
    assert sent.headers["Content-Type"] == "application/json"

    recorded = json.loads(resp["body"])
    assert result.payment.id == recorded["id"]
    assert result.payment.status == recorded["status"]
    assert result.payment.amount == recorded["amount"]
    assert result.request_id == resp["headers"]["Request-Id"]
    assert result.payment.captured_amount == sum(c["amount"] for c in recorded["captures"])
    assert result.payment.refunded_amount == sum(r["amount"] for r in recorded["refunds"])


@pytest.mark.parametrize("ex", list(exchanges(back_office=False)))
def test_other_recorded_bodies_parse(ex):
    """Payment creation (Checkout's side) and token calls are not sent by the dashboard, but
    their answers must still parse: a payment, or an error envelope with a string status."""
    from core.paidy.models import ErrorEnvelope, Payment

    body = ex["response"]["body"]
    if ex["response"]["status_code"] == 200:
        assert Payment.model_validate_json(body).status == "authorized"
    else:
        env = ErrorEnvelope.model_validate_json(body)
        assert env.status == str(ex["response"]["status_code"])


def _recorded(name):
    return json.loads((RECORDINGS / name).read_text())[-1]["response"]


@responses.activate
def test_recorded_401_envelope_is_an_api_error():
    resp = _recorded("valid_key_request.json")
    responses.add(
        "GET",
        f"{BASE}/payments/pay_x",
        body=resp["body"],
        status=401,
        headers={"Request-Id": resp["headers"]["Request-Id"]},
    )
    with pytest.raises(PaidyAPIError) as info:
        _client().get_payment("pay_x")
    err = info.value
    assert (err.http_status, err.code, err.title) == (
        401,
        "authentication.failed",
        "Authentication invalid",
    )
    assert err.reference.startswith("err_")
    assert err.request_id == resp["headers"]["Request-Id"]
    assert err.is_auth_error
    assert "authentication.failed" in err.message("ja")


@responses.activate
def test_recorded_500_on_get_is_unavailable_and_on_post_unknown():
    resp = _recorded("invalid_key_request.json")
    responses.add("GET", f"{BASE}/payments/pay_x", body=resp["body"], status=500)
    responses.add("POST", f"{BASE}/payments/pay_x/captures", body=resp["body"], status=500)
    with pytest.raises(PaidyUnavailable):
        _client().get_payment("pay_x")
    with pytest.raises(PaidyUnknownOutcome) as info:
        _client().capture("pay_x")
    assert info.value.api_error.code == "service.exception"
    assert info.value.api_error.reference == ""


def test_partial_refund_recording_sends_amount():
    ex = json.loads((RECORDINGS / "partial_refund.json").read_text())[-1]
    assert json.loads(ex["request"]["body"])["amount"] == 500
