"""The /_sandbox/ control endpoints: create payments (one or in bulk), list them, move the
clock, set faults, reset, read the counters, apply late writes, and act as Paidy's own
merchant screens would."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import unquote

from . import rules
from .api import ACTIONS, apply_rule
from .clock import parse_iso
from .replies import Reply, Request, json_reply
from .rules import Context, SandboxError, malformed, not_found
from .store import DuplicatePayment

if TYPE_CHECKING:
    from .state import Sandbox

SCREEN_PATH = re.compile(r"^/_sandbox/payments/([^/]+)/(captures|refunds|close)/?$")
LIST_LIMIT_MAX = 1000


def create_one(sandbox: Sandbox, spec: dict, ctx: Context) -> tuple[dict, int]:
    """A new payment from a control spec, moved to its `state`; (payment, original amount)."""
    payment = rules.new_payment(spec, ctx)
    original = payment["amount"]
    return rules.apply_state(payment, spec, replace(ctx, original_amount=original)), original


def control_create(sandbox: Sandbox, request: Request) -> Reply:
    spec = request.json()
    payment, original = create_one(sandbox, spec, sandbox.context())
    while "id" not in spec and sandbox.store.exists(payment["id"]):
        payment = {**payment, "id": sandbox.ids.make("pay")}
    insert(sandbox, [(payment, original)])
    return json_reply(payment)


def insert(sandbox: Sandbox, rows) -> None:
    try:
        sandbox.store.insert_many(rows)
    except DuplicatePayment as exc:
        raise SandboxError(
            409, "payment.duplicate", "Duplicate payment", "A payment with this id exists"
        ) from exc


def control_bulk(sandbox: Sandbox, request: Request) -> Reply:
    specs = request.json().get("payments")
    if not isinstance(specs, list):
        raise malformed("payments must be a list of payment specs")
    ctx, ids = sandbox.context(), []

    def rows():
        for index, spec in enumerate(specs):
            try:
                payment, original = create_one(sandbox, spec, ctx)
            except SandboxError as exc:
                raise SandboxError(
                    exc.http_status, exc.code, exc.title, f"payments[{index}]: {exc.description}"
                ) from exc
            ids.append(payment["id"])
            yield payment, original

    insert(sandbox, rows())
    return json_reply({"ids": ids})


def query_int(request: Request, key: str, default: int, upper: int) -> int:
    try:
        value = int(request.query.get(key, [default])[0])
    except ValueError as exc:
        raise malformed(f"{key} must be a whole number") from exc
    if not 0 <= value <= upper:
        raise malformed(f"{key} must be between 0 and {upper}")
    return value


def control_list(sandbox: Sandbox, request: Request) -> Reply:
    limit = query_int(request, "limit", 100, LIST_LIMIT_MAX)
    offset = query_int(request, "offset", 0, sys.maxsize)
    return json_reply(
        {"payments": sandbox.store.page(limit, offset), "total": sandbox.store.count()}
    )


def control_clock(sandbox: Sandbox, request: Request) -> Reply:
    """{"now": iso} jumps, {"advance_seconds": n} moves on, {"frozen": bool} stops/starts."""
    body = request.json() if request.method == "POST" else {}
    try:
        moment = parse_iso(body["now"]) if "now" in body else None
    except ValueError as exc:
        raise malformed("now must be an ISO-8601 timestamp") from exc
    step = body.get("advance_seconds", 0)
    frozen = body.get("frozen")
    if not rules.is_int(step) and not isinstance(step, float):
        raise malformed("advance_seconds must be a number")
    if frozen is not None and not isinstance(frozen, bool):
        raise malformed("frozen must be true or false")
    if frozen is not None:
        sandbox.clock.freeze(frozen)
    if moment is not None:
        sandbox.clock.set(moment)
    sandbox.clock.advance(step)
    return json_reply(sandbox.clock.snapshot())


def control_faults(sandbox: Sandbox, request: Request) -> Reply:
    if request.method == "GET":
        return json_reply(sandbox.faults.snapshot())
    try:
        return json_reply(sandbox.faults.update(request.json()))
    except ValueError as exc:
        raise malformed(str(exc)) from exc


def control_reset(sandbox: Sandbox, request: Request) -> Reply:
    sandbox.reset()
    return json_reply({"reset": True})


def control_stats(sandbox: Sandbox, request: Request) -> Reply:
    if request.method == "POST":  # {"reset_gauge": true}: a new max_in_flight window
        if request.json().get("reset_gauge"):
            sandbox.stats.reset_gauge()
    return json_reply(sandbox.stats.snapshot())


def control_late(sandbox: Sandbox, request: Request) -> Reply:
    """GET: how many late writes wait; POST: apply them all now."""
    if request.method == "GET":
        return json_reply({"pending": sandbox.late.pending()})
    return json_reply({"applied": sandbox.late.flush()})


def control_screen(sandbox: Sandbox, request: Request, payment_id: str, tail: str) -> Reply:
    """An action taken on Paidy's own merchant screens: no auth, no faults, no latency, no
    metadata of ours; counted apart from the API's *_applied counters."""
    payment_id = rules.check_payment_id(unquote(payment_id))
    body = request.json()
    rule, _ = ACTIONS[("POST", tail)]
    payment = apply_rule(sandbox, payment_id, rule, body)
    if payment is None:
        raise not_found(f"Payment {payment_id} does not exist")
    sandbox.stats.applied("screen_actions")
    return json_reply(payment)


CONTROL: dict[tuple[str, str], Callable[[Sandbox, Request], Reply]] = {
    ("POST", "/_sandbox/payments"): control_create,
    ("POST", "/_sandbox/payments/bulk"): control_bulk,
    ("GET", "/_sandbox/payments"): control_list,
    ("GET", "/_sandbox/clock"): control_clock,
    ("POST", "/_sandbox/clock"): control_clock,
    ("GET", "/_sandbox/faults"): control_faults,
    ("POST", "/_sandbox/faults"): control_faults,
    ("POST", "/_sandbox/reset"): control_reset,
    ("GET", "/_sandbox/stats"): control_stats,
    ("GET", "/_sandbox/late"): control_late,
    ("POST", "/_sandbox/late"): control_late,
    ("POST", "/_sandbox/stats"): control_stats,
}
