"""The Paidy sandbox over a real socket: API, rules, control endpoints, faults, lifecycle."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from core.paidy.sandbox import SandboxConfig, start_sandbox
from core.paidy.sandbox.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Bearer sk_test_0123456789", "Paidy-Version": "2018-04-10"}
ID = re.compile(r"^(pay|cap|ref|req|err)_[A-Za-z0-9_-]{16}$")

# Recorded by shufo/paidy-elixir against api.paidy.com (MIT; tests/recordings/):
# the 401 envelope (valid_key_request.json) and the payment after a full refund (refund.json).
RECORDED_401 = json.loads(
    '{"reference":"err_N2I0NjVkMWM2MGUwNGUzOGIwOTU0NDNkY2U2YTNmMzI=","status":"401",'
    '"code":"authentication.failed","title":"Authentication invalid",'
    '"description":"The supplied authentication is invalid"}'
)
RECORDED_REFUNDED = json.loads(
    '{"id":"pay_WnhU4UwAAC8ABMw1","created_at":"2018-02-05T12:58:09.726Z",'
    '"expires_at":"2018-03-07T12:58:09.734Z","amount":12500,"currency":"JPY",'
    '"description":"hoge","store_name":"Live Shop! (Paidy sample store)","test":true,'
    '"status":"closed","tier":"classic","buyer":{"name1":"山田　太郎","name2":"ヤマダ　タロウ",'
    '"email":"successful.payment@paidy.com","phone":"818000000001"},"order":{"tax":300,'
    '"shipping":200,"order_ref":"your_order_ref","items":[{"id":"PDI001","title":"Paidyスニーカー",'
    '"description":"Paidyスニーカー","unit_price":12000,"quantity":1}],"updated_at":null},'
    '"shipping_address":{"line1":"AXISビル 10F","line2":"六本木4-22-1","city":"東京都",'
    '"state":"港区","zip":"106-2004"},"captures":[{"id":"cap_WnhU4UwAAGAABMw2",'
    '"created_at":"2018-02-05T12:58:09.759Z","amount":12500,"tax":300,"shipping":200,'
    '"items":[{"id":"PDI001","title":"Paidyスニーカー","description":"Paidyスニーカー",'
    '"unit_price":12000,"quantity":1}],"metadata":{}}],"refunds":[{"id":"ref_WnhU4UwAAEsABMw3",'
    '"created_at":"2018-02-05T12:58:09.785Z","capture_id":"cap_WnhU4UwAAGAABMw2",'
    '"amount":12500,"reason":"unknown","metadata":{}}],"metadata":{}}'
)
RECORDED_SPEC = {
    key: RECORDED_REFUNDED[key]
    for key in ("description", "store_name", "buyer", "order", "shipping_address")
}
VOLATILE = {"id", "created_at", "expires_at", "capture_id"}


def masked(value):
    """The value with ids and timestamps blanked, keys kept in order."""
    if isinstance(value, dict):
        return [(k, "*" if k in VOLATILE else masked(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def create(http, url, **spec) -> dict:
    response = http.post(f"{url}/_sandbox/payments", json=spec)
    assert response.status_code == 200, response.text
    return response.json()


def call(http, url, method, path, body=None, **kwargs) -> requests.Response:
    kwargs.setdefault("headers", AUTH)
    return http.request(method, f"{url}{path}", json=body, **kwargs)


def capture(http, url, payment_id, **kwargs) -> requests.Response:
    return call(http, url, "POST", f"/payments/{payment_id}/captures", {}, **kwargs)


def status_of(http, url, payment_id) -> str:
    return call(http, url, "GET", f"/payments/{payment_id}").json()["status"]


def stats(http, url) -> dict:
    return http.get(f"{url}/_sandbox/stats").json()


def set_faults(http, url, **settings) -> dict:
    response = http.post(f"{url}/_sandbox/faults", json=settings)
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == list(RECORDED_401)
    assert (body["status"], body["code"]) == (str(status), code)
    assert ID.match(body["reference"])


# ---------------------------------------------------------------- the payment API


def test_capture_and_refund_match_the_recorded_exchange(sandbox_url, http):
    payment = create(http, sandbox_url, **RECORDED_SPEC)
    got = call(http, sandbox_url, "GET", f"/payments/{payment['id']}")
    assert got.json() == payment
    captured = capture(http, sandbox_url, payment["id"]).json()
    refund_body = {"capture_id": captured["captures"][0]["id"]}
    refunded = call(http, sandbox_url, "POST", f"/payments/{payment['id']}/refunds", refund_body)
    assert masked(refunded.json()) == masked(RECORDED_REFUNDED)
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    assert stamp.match(payment["created_at"]) and stamp.match(payment["expires_at"])
    assert ID.match(refunded.json()["refunds"][0]["id"])


def test_every_response_is_json_with_a_request_id_and_echoed_version(sandbox_url, http):
    payment = create(http, sandbox_url)
    for response in (
        call(http, sandbox_url, "GET", f"/payments/{payment['id']}"),
        call(http, sandbox_url, "GET", "/payments/pay_missing"),
        http.get(f"{sandbox_url}/_sandbox/stats"),
    ):
        assert response.headers["Content-Type"] == "application/json"
        assert ID.match(response.headers["Request-Id"])
    assert response.headers.get("Paidy-Version") is None
    assert call(http, sandbox_url, "GET", "/payments/pay_x").headers["Paidy-Version"] == (
        "2018-04-10"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer pk_test_abc"},
        {"Authorization": "Bearer sk_demo_abc"},
        {"Authorization": "sk_test_abc"},
        {"Authorization": "Bearer sk_test_"},
    ],
)
def test_401_envelope_has_the_recorded_shape(sandbox_url, http, headers):
    payment = create(http, sandbox_url)
    response = capture(http, sandbox_url, payment["id"], headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Paidy"'
    body = response.json()
    assert list(body) == list(RECORDED_401)
    assert {k: v for k, v in body.items() if k != "reference"} == {
        k: v for k, v in RECORDED_401.items() if k != "reference"
    }
    assert ID.match(body["reference"])
    assert status_of(http, sandbox_url, payment["id"]) == "authorized"


def test_live_keys_are_accepted_too(sandbox_url, http):
    payment = create(http, sandbox_url)
    live = {"Authorization": "Bearer sk_live_abc"}
    assert call(http, sandbox_url, "GET", f"/payments/{payment['id']}", headers=live).ok


def test_unknown_ids_bad_ids_bad_bodies_and_routes(sandbox_url, http):
    payment = create(http, sandbox_url)
    assert_error(call(http, sandbox_url, "GET", "/payments/pay_nope"), 404, "resource.not_found")
    assert_error(call(http, sandbox_url, "GET", "/payments/123"), 404, "resource.not_found")
    assert_error(
        call(http, sandbox_url, "POST", "/payments/pay_nope/close", {}), 404, "resource.not_found"
    )
    bad_json = http.post(
        f"{sandbox_url}/payments/{payment['id']}/captures", data=b"{oops", headers=AUTH
    )
    assert_error(bad_json, 400, "request_content.malformed")
    assert_error(
        call(http, sandbox_url, "POST", f"/payments/{payment['id']}/captures", [1]),
        400,
        "request_content.malformed",
    )
    assert_error(
        call(http, sandbox_url, "DELETE", f"/payments/{payment['id']}"), 404, "resource.not_found"
    )
    assert_error(http.get(f"{sandbox_url}/_sandbox/nothing"), 404, "resource.not_found")
    assert status_of(http, sandbox_url, payment["id"]) == "authorized"


def test_capture_with_empty_body_and_metadata(sandbox_url, http):
    first, second = create(http, sandbox_url), create(http, sandbox_url)
    response = http.post(f"{sandbox_url}/payments/{first['id']}/captures", headers=AUTH)
    assert response.json()["captures"][0]["amount"] == 12500
    body = {"metadata": {"operator": "suzuki"}}
    response = call(http, sandbox_url, "POST", f"/payments/{second['id']}/captures", body)
    assert response.json()["captures"][0]["metadata"] == {"operator": "suzuki"}
    assert_error(capture(http, sandbox_url, first["id"]), 409, "payment.state_invalid")


def test_close_then_refuse_close_capture_and_refund(sandbox_url, http):
    payment = create(http, sandbox_url)
    closed = call(http, sandbox_url, "POST", f"/payments/{payment['id']}/close", {})
    assert (closed.json()["status"], closed.json()["captures"]) == ("closed", [])
    again = call(http, sandbox_url, "POST", f"/payments/{payment['id']}/close", {})
    assert_error(again, 409, "payment.state_invalid")
    assert_error(capture(http, sandbox_url, payment["id"]), 409, "payment.state_invalid")
    refund = call(
        http, sandbox_url, "POST", f"/payments/{payment['id']}/refunds", {"capture_id": "cap_x"}
    )
    assert_error(refund, 409, "payment.state_invalid")


def test_partial_refunds_until_nothing_is_left(sandbox_url, http):
    payment = create(http, sandbox_url)
    capture_id = capture(http, sandbox_url, payment["id"]).json()["captures"][0]["id"]
    path = f"/payments/{payment['id']}/refunds"
    first = call(
        http,
        sandbox_url,
        "POST",
        path,
        {"capture_id": capture_id, "amount": 500, "reason": "requested_by_customer"},
    )
    assert first.json()["refunds"][0]["reason"] == "requested_by_customer"
    over = call(http, sandbox_url, "POST", path, {"capture_id": capture_id, "amount": 12001})
    assert_error(over, 400, "refund.amount_exceeded")
    zero = call(http, sandbox_url, "POST", path, {"capture_id": capture_id, "amount": 0})
    assert_error(zero, 400, "refund.amount_invalid")
    wrong = call(http, sandbox_url, "POST", path, {"capture_id": "cap_other", "amount": 1})
    assert_error(wrong, 400, "capture.not_found")
    rest = call(http, sandbox_url, "POST", path, {"capture_id": capture_id})
    assert [r["amount"] for r in rest.json()["refunds"]] == [500, 12000]
    assert rest.json()["status"] == "closed"
    assert_error(
        call(http, sandbox_url, "POST", path, {"capture_id": capture_id}),
        400,
        "refund.amount_exceeded",
    )
    assert stats(http, sandbox_url)["refunds_applied"] == 2


def test_update_fields_and_order_within_ten_percent(sandbox_url, http):
    payment = create(http, sandbox_url, metadata={"old": True})
    path = f"/payments/{payment['id']}"
    fields = {"description": "更新", "order_ref": "ORD-61", "metadata": {"shop": "A"}}
    updated = call(http, sandbox_url, "PUT", path, fields).json()
    assert (updated["description"], updated["order"]["order_ref"]) == ("更新", "ORD-61")
    assert updated["metadata"] == {"shop": "A"}
    order = {
        "items": [{"id": "A", "title": "a", "description": "", "unit_price": 1000, "quantity": 13}],
        "tax": 250,
        "shipping": 0,
    }
    raised = call(http, sandbox_url, "PUT", path, {"order": order}).json()
    assert raised["amount"] == 13250
    assert raised["order"]["updated_at"] is not None
    assert "original_amount" not in raised
    order["items"][0]["quantity"] = 14  # 14,250 > floor(12,500 x 1.1) = 13,750
    assert_error(
        call(http, sandbox_url, "PUT", path, {"order": order}), 400, "payment.amount_invalid"
    )
    capture(http, sandbox_url, payment["id"])
    order["items"][0]["quantity"] = 1
    assert_error(
        call(http, sandbox_url, "PUT", path, {"order": order}), 409, "payment.state_invalid"
    )
    renamed = call(http, sandbox_url, "PUT", path, {"description": "Changed payment"})
    assert (renamed.json()["status"], renamed.json()["description"]) == (
        "closed",
        "Changed payment",
    )
    assert stats(http, sandbox_url)["updates_applied"] == 3


def test_rejected_payment_refuses_everything_but_get(sandbox_url, http):
    payment = create(http, sandbox_url, status="rejected")
    base = f"/payments/{payment['id']}"
    for method, path, body in [
        ("POST", f"{base}/captures", {}),
        ("POST", f"{base}/close", {}),
        ("POST", f"{base}/refunds", {"capture_id": "cap_x"}),
        ("PUT", base, {"description": "x"}),
    ]:
        assert_error(call(http, sandbox_url, method, path, body), 409, "payment.state_invalid")
    assert status_of(http, sandbox_url, payment["id"]) == "rejected"


def test_expiry_follows_the_sandbox_clock(sandbox_url, http):
    payment = create(http, sandbox_url)
    http.post(f"{sandbox_url}/_sandbox/clock", json={"now": payment["expires_at"]})
    assert_error(capture(http, sandbox_url, payment["id"]), 400, "payment.expired")
    closed = call(http, sandbox_url, "POST", f"/payments/{payment['id']}/close", {})
    assert closed.json()["status"] == "closed"


def test_twenty_concurrent_captures_make_exactly_one(sandbox_url):
    payment_id = create(requests, sandbox_url)["id"]
    with ThreadPoolExecutor(20) as pool:
        codes = list(
            pool.map(lambda _: capture(requests, sandbox_url, payment_id).status_code, range(20))
        )
    assert sorted(codes) == [200] + [409] * 19
    counts = stats(requests, sandbox_url)
    assert counts["captures_applied"] == 1
    assert counts["by_route"]["POST /captures"] == 20


def test_in_flight_gauge_counts_requests_held_at_once(sandbox_url, http):
    """max_in_flight: the most payment API requests in progress at once (the cluster cap's
    proof); control requests are not counted; reset_gauge starts a new window."""
    payment_id = create(requests, sandbox_url)["id"]
    set_faults(http, sandbox_url, latency_ms=800)
    gets = lambda _: call(requests, sandbox_url, "GET", f"/payments/{payment_id}").status_code  # noqa: E731
    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(gets, range(6))) == [200] * 6
    counts = stats(requests, sandbox_url)
    assert (counts["max_in_flight"], counts["in_flight"]) == (6, 0)  # six 800 ms requests overlap
    set_faults(http, sandbox_url, latency_ms=0)
    reset = http.post(f"{sandbox_url}/_sandbox/stats", json={"reset_gauge": True}).json()
    assert reset["max_in_flight"] == 0 and reset["requests"] == counts["requests"]
    call(requests, sandbox_url, "GET", f"/payments/{payment_id}")
    assert stats(requests, sandbox_url)["max_in_flight"] == 1


# ---------------------------------------------------------------- control endpoints


def test_create_with_explicit_fields_and_duplicate_ids(sandbox_url, http):
    payment = create(
        http,
        sandbox_url,
        id="pay_XdXi-T0AAFQA3JEn",
        amount=9999,
        test=False,
        created_at="2024-01-31T15:00:00+09:00",
    )
    assert (payment["id"], payment["amount"], payment["test"]) == (
        "pay_XdXi-T0AAFQA3JEn",
        9999,
        False,
    )
    assert payment["created_at"] == "2024-01-31T06:00:00.000Z"
    assert payment["expires_at"] == "2024-03-01T06:00:00.000Z"
    duplicate = http.post(f"{sandbox_url}/_sandbox/payments", json={"id": payment["id"]})
    assert_error(duplicate, 409, "payment.duplicate")
    bad = http.post(f"{sandbox_url}/_sandbox/payments", json={"status": "captured"})
    assert_error(bad, 400, "request_content.malformed")


def test_bulk_creates_every_state_and_lists_them(sandbox_url, http):
    states = ["authorized", "captured", "partially_refunded", "refunded", "closed"]
    specs = [
        {"state": state, "order": {"items": [{"unit_price": 1000, "quantity": 2}]}}
        for state in states
    ]
    specs[2]["refund_amount"] = 300
    specs.append({"status": "rejected"})
    response = http.post(f"{sandbox_url}/_sandbox/payments/bulk", json={"payments": specs})
    ids = response.json()["ids"]
    assert len(ids) == 6 and all(ID.match(i) for i in ids)
    listed = http.get(f"{sandbox_url}/_sandbox/payments", params={"limit": 10}).json()
    assert listed["total"] == 6
    assert [p["id"] for p in listed["payments"]] == ids
    summary = [
        (p["status"], len(p["captures"]), sum(r["amount"] for r in p["refunds"]))
        for p in listed["payments"]
    ]
    assert summary == [
        ("authorized", 0, 0),
        ("closed", 1, 0),
        ("closed", 1, 300),
        ("closed", 1, 2000),
        ("closed", 0, 0),
        ("rejected", 0, 0),
    ]
    page = http.get(f"{sandbox_url}/_sandbox/payments", params={"limit": 2, "offset": 4}).json()
    assert [p["id"] for p in page["payments"]] == ids[4:]


def test_bulk_is_all_or_nothing(sandbox_url, http):
    specs = [{"state": "captured"}, {"state": "captured", "status": "rejected"}]
    response = http.post(f"{sandbox_url}/_sandbox/payments/bulk", json={"payments": specs})
    assert_error(response, 409, "payment.state_invalid")
    assert response.json()["description"].startswith("payments[1]: ")
    assert http.get(f"{sandbox_url}/_sandbox/payments").json()["total"] == 0
    assert_error(
        http.post(f"{sandbox_url}/_sandbox/payments/bulk", json={}),
        400,
        "request_content.malformed",
    )


def test_bulk_of_ten_thousand(sandbox_url, http):
    """One request makes them all (how fast: bench/ seeds its 1M dataset through it)."""
    specs = [{"state": "captured"}] * 10_000
    response = http.post(f"{sandbox_url}/_sandbox/payments/bulk", json={"payments": specs})
    assert len(response.json()["ids"]) == 10_000
    assert http.get(f"{sandbox_url}/_sandbox/payments?limit=0").json()["total"] == 10_000


def test_clock_set_advance_freeze(sandbox_url, http):
    clock = f"{sandbox_url}/_sandbox/clock"
    frozen = http.post(clock, json={"now": "2030-01-01T00:00:00Z", "frozen": True}).json()
    assert (frozen["now"], frozen["frozen"]) == ("2030-01-01T00:00:00.000Z", True)
    assert http.post(clock, json={"advance_seconds": 90.5}).json()["now"] == (
        "2030-01-01T00:01:30.500Z"
    )
    assert http.get(clock).json()["now"] == "2030-01-01T00:01:30.500Z"
    assert create(http, sandbox_url)["created_at"] == "2030-01-01T00:01:30.500Z"
    assert http.post(clock, json={"frozen": False}).json()["frozen"] is False
    assert_error(http.post(clock, json={"now": "soon"}), 400, "request_content.malformed")
    assert_error(http.post(clock, json={"advance_seconds": "1"}), 400, "request_content.malformed")


def test_reset_clears_payments_faults_clock_and_stats(sandbox_url, http):
    payment = create(http, sandbox_url)
    capture(http, sandbox_url, payment["id"])
    set_faults(http, sandbox_url, latency_ms=5, next=[{"kind": "error_500"}])
    http.post(f"{sandbox_url}/_sandbox/clock", json={"advance_seconds": 86400})
    assert http.post(f"{sandbox_url}/_sandbox/reset").json() == {"reset": True}
    assert http.get(f"{sandbox_url}/_sandbox/payments").json() == {"payments": [], "total": 0}
    faults = http.get(f"{sandbox_url}/_sandbox/faults").json()
    assert (faults["latency_ms"], faults["next"]) == (0, [])
    assert abs(http.get(f"{sandbox_url}/_sandbox/clock").json()["offset_seconds"]) < 1
    assert stats(http, sandbox_url)["requests"] == 0


def test_fault_settings_round_trip_and_validation(sandbox_url, http):
    changed = set_faults(http, sandbox_url, jitter_ms=3, mix={"html_502": 2})
    assert (changed["jitter_ms"], changed["mix"], changed["latency_ms"]) == (3, {"html_502": 2}, 0)
    bad = http.post(f"{sandbox_url}/_sandbox/faults", json={"next": [{"kind": "meteor"}]})
    assert_error(bad, 400, "request_content.malformed")
    assert http.get(f"{sandbox_url}/_sandbox/faults").json() == changed


# ---------------------------------------------------------------- faults


def observe(http, url, payment_id) -> object:
    """What the client sees for one capture: a status code or an exception name."""
    try:
        response = capture(http, url, payment_id, timeout=(1, 0.2))
    except requests.ReadTimeout:
        return "read timeout"
    except requests.ConnectionError:
        return "connection dropped"
    try:
        response.json()
    except ValueError:
        return (response.status_code, response.headers["Content-Type"], "not json")
    return response.status_code


@pytest.mark.parametrize(
    ("kind", "seen", "applied"),
    [
        ("error_500", 500, False),
        ("html_502", (502, "text/html", "not json"), False),
        ("rate_limited", 429, False),
        ("timeout", "read timeout", False),
        ("applied_timeout", "read timeout", True),
        ("applied_500", 500, True),
        ("applied_drop", "connection dropped", True),
        ("truncated", (200, "application/json", "not json"), True),
    ],
)
def test_each_fault_kind(sandbox_url, http, kind, seen, applied):
    payment = create(http, sandbox_url)
    set_faults(
        http, sandbox_url, next=[{"kind": kind, "method": "POST", "path_contains": "/captures"}]
    )
    assert call(http, sandbox_url, "GET", f"/payments/{payment['id']}").ok  # not consumed
    assert observe(http, sandbox_url, payment["id"]) == seen
    with requests.Session() as fresh:
        assert status_of(fresh, sandbox_url, payment["id"]) == (
            "closed" if applied else "authorized"
        )
        counts = stats(fresh, sandbox_url)
    assert counts["captures_applied"] == int(applied)
    assert counts["faults_injected"] == {kind: 1}
    assert counts["by_route"] == {"GET /payments": 2, "POST /captures": 1}


def test_500_faults_use_the_recorded_service_exception(sandbox_url, http):
    payment = create(http, sandbox_url)
    set_faults(http, sandbox_url, next=[{"kind": "error_500"}])
    body = capture(http, sandbox_url, payment["id"]).json()
    assert body == {
        "reference": "",
        "status": "500",
        "code": "service.exception",
        "title": "Internal service exception",
        "description": "Something went wrong",
    }


def test_api_error_answers_with_the_chosen_envelope_and_applies_nothing(sandbox_url, http):
    payment = create(http, sandbox_url)
    chosen = {
        "kind": "api_error",
        "status": 409,
        "code": "payment.state_invalid",
        "title": "Invalid payment state",
        "description": "[click me](https://evil.example) https://evil.example/bare",
        "method": "POST",
    }
    set_faults(http, sandbox_url, next=[chosen])
    response = capture(http, sandbox_url, payment["id"])
    assert response.status_code == 409
    assert response.json() == {
        "reference": "",
        "status": "409",
        "code": "payment.state_invalid",
        "title": "Invalid payment state",
        "description": "[click me](https://evil.example) https://evil.example/bare",
    }
    assert status_of(http, sandbox_url, payment["id"]) == "authorized"
    assert stats(http, sandbox_url)["faults_injected"] == {"api_error": 1}
    for bad in ({"kind": "api_error", "status": 200}, {"kind": "api_error", "description": 5}):
        assert http.post(f"{sandbox_url}/_sandbox/faults", json={"next": [bad]}).status_code == 400
    bad_mix = http.post(f"{sandbox_url}/_sandbox/faults", json={"mix": {"api_error": 1}})
    assert bad_mix.status_code == 400  # only ever queued on purpose, never drawn at random


def test_control_endpoints_are_never_faulted(sandbox_url, http):
    set_faults(http, sandbox_url, fault_rate=1.0, mix={"error_500": 1})
    assert create(http, sandbox_url)["status"] == "authorized"
    assert call(http, sandbox_url, "GET", "/payments/pay_any").status_code == 500


class _WatchedWait:
    """Stands in for the sandbox's ``stopping`` event: each latency wait records which of
    the sandbox's locks are held at that moment, and returns at once (no real sleep)."""

    def __init__(self, event, locks: dict[str, object]) -> None:
        self._event, self._locks = event, locks
        self.held: list[list[str]] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.held.append([name for name, lock in self._locks.items() if lock.locked()])
        return self._event.is_set()

    def __getattr__(self, name: str):
        return getattr(self._event, name)


def _sandbox_locks(sandbox) -> dict[str, object]:
    """Every lock the sandbox and its parts (store, faults, clock, stats, ...) hold."""
    lock_type = type(threading.Lock())
    found = {}
    for owner_name, owner in [("sandbox", sandbox), *vars(sandbox).items()]:
        for name, value in getattr(owner, "__dict__", {}).items():
            if isinstance(value, lock_type):
                found[f"{owner_name}.{name}"] = value
    return found


def test_latency_sleeps_outside_the_lock():
    """Latency is waited out holding no lock, so slow answers overlap instead of queueing.
    Counted, not timed: every wait is seen, with the locks held at that moment."""
    with start_sandbox() as running, requests.Session() as http:
        payment_id = create(http, running.url)["id"]
        set_faults(http, running.url, latency_ms=200)
        locks = _sandbox_locks(running.sandbox)
        assert any(name.startswith("store.") for name in locks), locks
        watch = _WatchedWait(running.sandbox.stopping, locks)
        running.sandbox.stopping = watch
        try:
            codes = [status_of(http, running.url, payment_id) for _ in range(8)]
        finally:
            running.sandbox.stopping = watch._event
    assert codes == ["authorized"] * 8
    assert watch.held == [[]] * 8  # eight waits, none under a lock


# ---------------------------------------------------------------- lifecycle


def test_seed_makes_ids_and_random_faults_reproducible():
    def run() -> tuple[list, list]:
        with start_sandbox(seed=99, fault_rate=0.5) as running, requests.Session() as http:
            set_faults(http, running.url, mix={"error_500": 1, "html_502": 1, "rate_limited": 1})
            ids = [create(http, running.url)["id"] for _ in range(3)]
            seen = [
                call(http, running.url, "GET", f"/payments/{ids[0]}").status_code for _ in range(30)
            ]
            return ids, seen

    first, second = run(), run()
    assert first == second
    assert {200, 500, 502, 429} & set(first[1]) == {200, 500, 502, 429}


def test_stop_does_not_wait_out_a_held_connection():
    """A timeout fault holds its connection for an hour; stop ends it instead of waiting
    (the bound below is a tenth of the hold: only that regression can cross it)."""
    hold_s = 3600
    running = start_sandbox(timeout_hold_s=hold_s)
    payment = create(requests, running.url)
    set_faults(requests, running.url, next=[{"kind": "timeout"}])
    with pytest.raises(requests.ReadTimeout):
        capture(requests, running.url, payment["id"], timeout=(1, 0.2))
    stopper = threading.Thread(target=running.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=hold_s / 10)
    assert not stopper.is_alive(), "stop waited for the held connection"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{running.url}/_sandbox/stats", timeout=1)


def test_file_database_survives_a_restart(tmp_path):
    db = str(tmp_path / "sandbox.db")
    with start_sandbox(db_path=db, seed=1) as first:
        payment = create(requests, first.url)
        capture(requests, first.url, payment["id"])
    with start_sandbox(db_path=db, seed=1) as second:
        assert status_of(requests, second.url, payment["id"]) == "closed"
        assert create(requests, second.url)["id"] != payment["id"]
        assert second.store.count() == 2


def start_cli(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from core.paidy.sandbox.cli import main; sys.exit(main(sys.argv[1:]))",
            *args,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    match = re.fullmatch(r"Paidy sandbox listening on (http://127\.0\.0\.1:\d+)", line)
    assert match, line
    return process, match[1]


def stop_cli(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=10)  # also closes the pipe
    return process.returncode


def test_cli_serves_until_ctrl_c_and_keeps_the_db(tmp_path):
    db = str(tmp_path / "cli.db")
    process, url = start_cli("--port", "0", "--seed", "5", "--db", db, "--latency-ms", "1")
    try:
        payment = create(requests, url)
        assert requests.get(f"{url}/_sandbox/faults").json()["latency_ms"] == 1
    finally:
        assert stop_cli(process) == 0
    process, url = start_cli("--port", "0", "--db", db)
    try:
        assert status_of(requests, url, payment["id"]) == "authorized"
    finally:
        assert stop_cli(process) == 0


@pytest.mark.parametrize("argv", [["--port", "x"], ["--fault-rate", "2"], ["--nope"]])
def test_cli_refuses_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err


def test_config_object_and_overrides():
    with start_sandbox(SandboxConfig(latency_ms=7), jitter_ms=2) as running:
        assert running.url.startswith("http://127.0.0.1:")
        settings = requests.get(f"{running.url}/_sandbox/faults").json()
        assert (settings["latency_ms"], settings["jitter_ms"]) == (7, 2)


def test_a_request_stops_counting_before_its_answer_is_written(sandbox, monkeypatch):
    """The gauge must never count a request whose client already has its answer: that
    client may free its cluster slot at once and another process send the next call (a
    false "5 in flight" under a cap of 4). So the answer is written after the count drops."""
    from core.paidy.sandbox.server import Handler

    seen: list[int] = []
    send = Handler.send

    def watching_send(self, *args, **kwargs):
        seen.append(sandbox.sandbox.stats.snapshot()["in_flight"])
        return send(self, *args, **kwargs)

    monkeypatch.setattr(Handler, "send", watching_send)
    payment_id = create(requests, sandbox.url)["id"]
    assert call(requests, sandbox.url, "GET", f"/payments/{payment_id}").status_code == 200
    assert seen and set(seen) == {0}
