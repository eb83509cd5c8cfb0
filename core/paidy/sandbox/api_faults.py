"""The payment API as served: latency, then at most one fault around the real answer
(dropped, held, late, stale, redirected, or the answer tampered with)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import faults
from .api import payment_api, route_name
from .replies import Reply, Request, fault_reply, guarded, json_reply

if TYPE_CHECKING:
    from .state import Sandbox

TAMPERED_AMOUNT = -100_000  # what a negative_amount fault puts into the answer


def serve_payment_api(sandbox: Sandbox, request: Request) -> Reply:
    """Latency, then at most one fault around the real answer."""
    sandbox.stats.request(route_name(request.method, request.path))
    delay = sandbox.faults.delay_s()
    if delay > 0 and sandbox.stopping.wait(delay):
        return Reply(drop=True)  # stopped while waiting: the store may be closed
    entry = sandbox.faults.decide_entry(request.method, request.path)
    kind = None if entry is None else entry["kind"]
    if kind is not None and not faults.applies_to(kind, request.method):
        kind = None
    if kind is not None:
        sandbox.stats.fault(kind)
    hold_s = sandbox.faults.timeout_hold_s
    if kind in faults.LATE:
        sandbox.late.schedule(request, hold_s + sandbox.faults.setting("apply_late_s"))
        return Reply(hold_s=hold_s, drop=True)
    if kind == "stale_read":
        return guarded(sandbox, lambda: stale_answer(sandbox, request))
    if kind == "redirect":
        location = sandbox.faults.setting("redirect_location")
        host = request.headers.get("host", "127.0.0.1")
        return Reply(307, b"", headers={"Location": location or f"http://{host}{request.path}"})
    if kind is not None and not faults.is_applied(kind):
        return fault_reply(kind, Reply(), hold_s, entry)
    reply = guarded(sandbox, lambda: payment_api(sandbox, request))
    if kind is None or (kind in TAMPERING and reply.status != 200):
        return reply
    if kind in TAMPERING:
        return TAMPERING[kind](sandbox, json.loads(reply.body))
    return fault_reply(kind, reply, hold_s)


def stale_answer(sandbox: Sandbox, request: Request) -> Reply:
    """The payment as it was before its last write (a read that began before it)."""
    reply = payment_api(sandbox, request)
    if reply.status != 200:
        return reply
    before = sandbox.history.before(json.loads(reply.body)["id"])
    return reply if before is None else json_reply(before)


def _wrong_payment(sandbox: Sandbox, payment: dict) -> Reply:
    others = [p for p in sandbox.store.page(2, 0) if p["id"] != payment["id"]]
    other = others[0] if others else {**payment, "id": "pay_" + "Z" * 16}
    return json_reply(other)


def _negative_amount(sandbox: Sandbox, payment: dict) -> Reply:
    for key in ("refunds", "captures"):
        if payment.get(key):
            payment[key][-1] = {**payment[key][-1], "amount": TAMPERED_AMOUNT}
            return json_reply(payment)
    return json_reply({**payment, "amount": TAMPERED_AMOUNT})


def _huge_body(sandbox: Sandbox, payment: dict) -> Reply:
    size = sandbox.faults.setting("huge_body_bytes")
    return json_reply({**payment, "padding": "x" * size})


#: faults that apply the write, then tamper with the answer
TAMPERING: dict[str, Callable[[Sandbox, dict], Reply]] = {
    "wrong_payment": _wrong_payment,
    "negative_amount": _negative_amount,
    "huge_body": _huge_body,
}
