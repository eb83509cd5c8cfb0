"""Paidy's payment API: auth, routing and the rules for /payments/..., without faults or
latency (those wrap it in :mod:`.api_faults`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote

from . import rules
from .replies import AUTH_FAILED, Reply, Request, json_reply
from .rules import Context, not_found

if TYPE_CHECKING:
    from .state import Sandbox

AUTH = re.compile(r"^Bearer sk_(test|live)_\S+$", re.IGNORECASE)
PAYMENT_PATH = re.compile(r"^/payments/([^/]+)(?:/(captures|refunds|close))?/?$")
# (method, path tail) -> (rule, stats counter)
ACTIONS: dict[tuple[str, str | None], tuple[Callable, str]] = {
    ("PUT", None): (rules.update, "updates_applied"),
    ("POST", "captures"): (rules.capture, "captures_applied"),
    ("POST", "refunds"): (rules.refund, "refunds_applied"),
    ("POST", "close"): (rules.close, "closes_applied"),
}


def is_payment_api(path: str) -> bool:
    return path == "/payments" or path.startswith("/payments/")


def route_name(method: str, path: str) -> str:
    """Stats key: "POST /captures", "GET /payments", ..."""
    match = PAYMENT_PATH.match(path)
    return f"{method} /{(match and match[2]) or 'payments'}"


def check_auth(headers: dict[str, str]) -> None:
    if not AUTH.match(headers.get("authorization", "").strip()):
        raise AUTH_FAILED


def payment_api(sandbox: Sandbox, request: Request) -> Reply:
    """Auth, routing and rules for /payments/..., without faults or latency."""
    check_auth(request.headers)
    match = PAYMENT_PATH.match(request.path)
    if not match:
        raise not_found(f"No endpoint {request.method} {request.path}")
    payment_id = rules.check_payment_id(unquote(match[1]))
    if (request.method, match[2]) == ("GET", None):
        payment = sandbox.store.get(payment_id)
    else:
        payment = apply_action(sandbox, request, payment_id, match[2])
    if payment is None:
        raise not_found(f"Payment {payment_id} does not exist")
    return json_reply(payment)


def apply_action(
    sandbox: Sandbox, request: Request, payment_id: str, tail: str | None
) -> dict | None:
    """Run one rule atomically on the stored payment; None if it does not exist."""
    action = ACTIONS.get((request.method, tail))
    if action is None:
        raise not_found(f"No endpoint {request.method} {request.path}")
    rule, counter = action
    payment = apply_rule(sandbox, payment_id, rule, request.json())
    if payment is not None:
        sandbox.stats.applied(counter)
    return payment


def apply_rule(sandbox: Sandbox, payment_id: str, rule: Callable, body: dict) -> dict | None:
    """``rule`` applied atomically to the stored payment, the one before remembered (for
    stale reads); None if it does not exist."""
    now = sandbox.clock.now()

    def change(payment: dict, original: int) -> dict:
        changed = rule(payment, body, Context(now, sandbox.ids.make, original))
        sandbox.history.remember(payment)
        return changed

    return sandbox.store.mutate(payment_id, change)
