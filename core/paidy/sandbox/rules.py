"""Paidy's payment rules as pure functions over payment dicts.

Each action takes (payment, body, ctx) and returns a new payment dict, or raises
`SandboxError` with the HTTP status and error envelope Paidy would send.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeGuard, TypeVar, overload

from .clock import iso, parse_iso

PAYMENT_ID = re.compile(r"^pay_[A-Za-z0-9_-]+$")
AUTHORIZATION_DAYS = 30
UPDATE_LIMIT_PERCENT = 110  # an update may raise the amount to 110 % of the authorized amount
STATES = ("authorized", "captured", "partially_refunded", "refunded", "closed")


class SandboxError(Exception):
    """A refusal, sent as Paidy's error envelope."""

    def __init__(self, http_status: int, code: str, title: str, description: str) -> None:
        super().__init__(f"{http_status} {code}: {description}")
        self.http_status = http_status
        self.code = code
        self.title = title
        self.description = description

    def envelope(self, reference: str) -> dict:
        """The body, keys in Paidy's order; `status` is a string as in real responses."""
        return {
            "reference": reference,
            "status": str(self.http_status),
            "code": self.code,
            "title": self.title,
            "description": self.description,
        }


def malformed(description: str) -> SandboxError:
    return SandboxError(400, "request_content.malformed", "Malformed request content", description)


def not_found(description: str) -> SandboxError:
    return SandboxError(404, "resource.not_found", "Resource not found", description)


def state_invalid(description: str) -> SandboxError:
    return SandboxError(409, "payment.state_invalid", "Invalid payment state", description)


@dataclass(frozen=True)
class Context:
    """What an action may depend on besides the payment and the request body."""

    now: datetime
    new_id: Callable[[str], str]  # prefix ("cap") -> "cap_..."
    original_amount: int = 0  # the amount first authorized (hidden from the API)


# ---------------------------------------------------------------- field checks


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def check_payment_id(payment_id: str) -> str:
    if not PAYMENT_ID.match(payment_id):
        raise not_found(f"{payment_id!r} is not a payment id (pay_...)")
    return payment_id


T = TypeVar("T")


@overload
def _field(body: dict, key: str, kind: type[T]) -> T | None: ...
@overload
def _field(body: dict, key: str, kind: type[T], default: T) -> T: ...
def _field(body: dict, key: str, kind: type[T], default: T | None = None) -> T | None:
    """body[key] if present and of `kind`, else `default`; the wrong type is a 400."""
    if key not in body:
        return default
    value = body[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise malformed(f"{key} has the wrong type")
    return value


def _metadata(body: dict) -> dict:
    return _field(body, "metadata", dict, {})


def _int(body: dict, key: str, default: int | None, minimum: int) -> int:
    value = body.get(key, default)
    if not is_int(value) or value < minimum:
        raise malformed(f"{key} must be a whole number >= {minimum}")
    return value


# ---------------------------------------------------------------- orders and amounts


def _item(raw: object) -> dict:
    if not isinstance(raw, dict):
        raise malformed("each order item must be an object")
    return {
        "id": _field(raw, "id", str, ""),
        "title": _field(raw, "title", str, ""),
        "description": _field(raw, "description", str, ""),
        "unit_price": _int(raw, "unit_price", None, -(10**12)),
        "quantity": _int(raw, "quantity", None, 1),
    }


def build_order(raw: dict, base: dict, updated_at: str | None) -> dict:
    """An order object from a request, missing keys taken from `base`."""
    items = raw.get("items", base.get("items", []))
    if not isinstance(items, list):
        raise malformed("order.items must be a list")
    return {
        "tax": _int(raw, "tax", base.get("tax", 0), 0),
        "shipping": _int(raw, "shipping", base.get("shipping", 0), 0),
        "order_ref": _field(raw, "order_ref", str, base.get("order_ref", "")),
        "items": [_item(item) for item in items],
        "updated_at": updated_at,
    }


def order_amount(order: dict) -> int:
    """sum(unit_price x quantity) + tax + shipping, in yen."""
    items = sum(item["unit_price"] * item["quantity"] for item in order["items"])
    return items + order["tax"] + order["shipping"]


def update_limit(original_amount: int) -> int:
    """floor(original x 1.10), in integers."""
    return original_amount * UPDATE_LIMIT_PERCENT // 100


def captured(payment: dict) -> int:
    return sum(capture["amount"] for capture in payment["captures"])


def refunded(payment: dict, capture_id: str | None = None) -> int:
    return sum(
        refund["amount"]
        for refund in payment["refunds"]
        if capture_id is None or refund["capture_id"] == capture_id
    )


# ---------------------------------------------------------------- state checks


def _require_status(payment: dict, allowed: tuple[str, ...], action: str) -> None:
    if payment["status"] not in allowed:
        raise state_invalid(
            f"Cannot {action} payment {payment['id']}: status is {payment['status']}, "
            f"needs {' or '.join(allowed)}"
        )


def is_expired(payment: dict, now: datetime) -> bool:
    return now >= parse_iso(payment["expires_at"])


def _require_not_expired(payment: dict, now: datetime) -> None:
    if is_expired(payment, now):
        raise SandboxError(
            400,
            "payment.expired",
            "Payment expired",
            f"The authorization of {payment['id']} expired at {payment['expires_at']}",
        )


# ---------------------------------------------------------------- actions


def capture(payment: dict, body: dict, ctx: Context) -> dict:
    """Capture the whole amount once; the payment becomes closed."""
    metadata = _metadata(body)
    _require_status(payment, ("authorized",), "capture")
    _require_not_expired(payment, ctx.now)
    order = payment["order"]
    entry = {
        "id": ctx.new_id("cap"),
        "created_at": iso(ctx.now),
        "amount": payment["amount"],
        "tax": order["tax"],
        "shipping": order["shipping"],
        "items": order["items"],
        "metadata": metadata,
    }
    return {**payment, "status": "closed", "captures": [*payment["captures"], entry]}


def close(payment: dict, body: dict, ctx: Context) -> dict:
    """Close an authorized payment (expired too) without capturing."""
    _require_status(payment, ("authorized",), "close")
    return {**payment, "status": "closed"}


def _capture_for(payment: dict, capture_id: str) -> dict:
    if not payment["captures"]:
        raise state_invalid(f"Cannot refund payment {payment['id']}: it was never captured")
    for entry in payment["captures"]:
        if entry["id"] == capture_id:
            return entry
    raise SandboxError(
        400,
        "capture.not_found",
        "Capture not found",
        f"{capture_id} is not a capture of payment {payment['id']}",
    )


def _refund_amount(requested: int | None, remaining: int) -> int:
    """The amount to refund: `requested`, or all that is left; 1..remaining."""
    if requested is not None and requested < 1:
        raise SandboxError(
            400, "refund.amount_invalid", "Invalid refund amount", "The refund amount must be >= 1"
        )
    amount = remaining if requested is None else requested
    if amount > remaining or amount < 1:
        raise SandboxError(
            400,
            "refund.amount_exceeded",
            "Refund amount exceeded",
            f"The refund amount {amount} exceeds the refundable amount {remaining}",
        )
    return amount


def refund(payment: dict, body: dict, ctx: Context) -> dict:
    """Refund part or all of what is left of a capture; the payment stays closed."""
    capture_id = _field(body, "capture_id", str)
    if capture_id is None:
        raise malformed("capture_id is required")
    requested = _field(body, "amount", int)
    reason = _field(body, "reason", str, "unknown")
    metadata = _metadata(body)
    _require_status(payment, ("closed",), "refund")
    entry = _capture_for(payment, capture_id)
    amount = _refund_amount(requested, entry["amount"] - refunded(payment, capture_id))
    new_refund = {
        "id": ctx.new_id("ref"),
        "created_at": iso(ctx.now),
        "capture_id": capture_id,
        "amount": amount,
        "reason": reason,
        "metadata": metadata,
    }
    return {**payment, "refunds": [*payment["refunds"], new_refund]}


def _check_update_amount(amount: int, original_amount: int) -> None:
    limit = update_limit(original_amount)
    if amount <= 0 or amount > limit:
        raise SandboxError(
            400,
            "payment.amount_invalid",
            "Invalid payment amount",
            f"The new amount {amount} must be between 1 and {limit} "
            f"(110 % of the authorized {original_amount})",
        )


def _apply_order(payment: dict, raw: object, ctx: Context) -> dict:
    if not isinstance(raw, dict):
        raise malformed("order must be an object")
    if payment["status"] != "authorized":
        raise state_invalid(
            f"Cannot change the order of payment {payment['id']}: status is {payment['status']}"
        )
    order = build_order(raw, payment["order"], iso(ctx.now))
    amount = order_amount(order)
    _check_update_amount(amount, ctx.original_amount)
    return {**payment, "amount": amount, "order": order}


def update(payment: dict, body: dict, ctx: Context) -> dict:
    """PUT: description, order_ref, metadata (replaced whole); `order` only while authorized."""
    _require_status(payment, ("authorized", "closed"), "update")
    description = _field(body, "description", str, payment["description"])
    metadata = _field(body, "metadata", dict, payment["metadata"])
    order_ref = _field(body, "order_ref", str)
    result = {**payment, "description": description, "metadata": metadata}
    if "order" in body:
        result = _apply_order(result, body["order"], ctx)
    if order_ref is not None:
        result = {**result, "order": {**result["order"], "order_ref": order_ref}}
    return result


# ---------------------------------------------------------------- creation (control API)

DEFAULT_BUYER = {
    "name1": "山田　太郎",
    "name2": "ヤマダ　タロウ",
    "email": "successful.payment@paidy.com",
    "phone": "818000000001",
}
DEFAULT_ORDER = {
    "tax": 300,
    "shipping": 200,
    "order_ref": "",
    "items": [
        {
            "id": "PDI001",
            "title": "Paidyスニーカー",
            "description": "Paidyスニーカー",
            "unit_price": 12000,
            "quantity": 1,
        }
    ],
}
DEFAULT_ADDRESS = {"line1": "", "line2": "", "city": "", "state": "", "zip": ""}


def _strings(raw: object, defaults: dict, name: str) -> dict:
    if not isinstance(raw, dict):
        raise malformed(f"{name} must be an object")
    return {key: _field(raw, key, str, default) for key, default in defaults.items()}


def _timestamp(spec: dict, key: str, default: datetime) -> datetime:
    if key not in spec:
        return default
    try:
        return parse_iso(spec[key])
    except ValueError as exc:
        raise malformed(f"{key} is not an ISO-8601 timestamp") from exc


def _new_id(spec: dict, ctx: Context) -> str:
    if "id" not in spec:
        return ctx.new_id("pay")
    if not isinstance(spec["id"], str) or not PAYMENT_ID.match(spec["id"]):
        raise malformed("id must match ^pay_[A-Za-z0-9_-]+$")
    return spec["id"]


def new_payment(spec: dict, ctx: Context) -> dict:
    """An authorized (or rejected) payment as Paidy Checkout would create it."""
    if not isinstance(spec, dict):
        raise malformed("a payment spec must be an object")
    order = build_order(_field(spec, "order", dict, DEFAULT_ORDER), {}, None)
    created = _timestamp(spec, "created_at", ctx.now)
    status = _field(spec, "status", str, "authorized")
    if status not in ("authorized", "rejected"):
        raise malformed("status must be authorized or rejected")
    amount = _int(spec, "amount", order_amount(order), 1)
    return {
        "id": _new_id(spec, ctx),
        "created_at": iso(created),
        "expires_at": iso(_timestamp(spec, "expires_at", created + timedelta(AUTHORIZATION_DAYS))),
        "amount": amount,
        "currency": "JPY",
        "description": _field(spec, "description", str, ""),
        "store_name": _field(spec, "store_name", str, "Paidy sandbox store"),
        "test": _field(spec, "test", bool, True),
        "status": status,
        "tier": "classic",
        "buyer": _strings(spec.get("buyer", DEFAULT_BUYER), DEFAULT_BUYER, "buyer"),
        "order": order,
        "shipping_address": _strings(
            spec.get("shipping_address", DEFAULT_ADDRESS), DEFAULT_ADDRESS, "shipping_address"
        ),
        "captures": [],
        "refunds": [],
        "metadata": _metadata(spec),
    }


def _event_time(payment: dict, now: datetime) -> datetime:
    """When a seeded capture/refund happened: a minute after creation, never after now."""
    created = parse_iso(payment["created_at"])
    return max(created, min(created + timedelta(minutes=1), now))


def apply_state(payment: dict, spec: dict, ctx: Context) -> dict:
    """Move a new payment into spec["state"] (authorized, captured, refunded, ...)."""
    state = _field(spec, "state", str, "authorized")
    if state not in STATES:
        raise malformed(f"state must be one of {', '.join(STATES)}")
    if state == "authorized":
        return payment
    at = Context(_event_time(payment, ctx.now), ctx.new_id, ctx.original_amount)
    if state == "closed":
        return close(payment, {}, at)
    payment = capture(payment, {}, at)
    if state == "captured":
        return payment
    refund_body = {"capture_id": payment["captures"][0]["id"]}
    if state == "partially_refunded":
        refund_body["amount"] = _int(spec, "refund_amount", max(1, payment["amount"] // 2), 1)
    return refund(payment, refund_body, at)
