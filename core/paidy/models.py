"""Pydantic models of what Paidy sends: the payment object, the error envelope, webhooks.

Tolerant by design (docs/paidy.md): unknown fields are kept, unknown status values accepted,
``status`` in an error body may be a string or a number, ``reference`` may be empty.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from core.domain.states import PaymentSnapshot
from core.timeutil import as_utc

PAYMENT_ID_RE = re.compile(r"^pay_[A-Za-z0-9_-]+$")
#: Paidy's money fields: whole yen, never negative (a string, a float or -100000 is refused)
Yen = Annotated[StrictInt, Field(ge=0)]
#: the metadata key that tags a capture or refund with the intent that sent it
INTENT_KEY = "ops_intent"


def is_payment_id(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 64 and bool(PAYMENT_ID_RE.fullmatch(value))


class PaidyModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Buyer(PaidyModel):
    name1: str | None = None  # name in kanji
    name2: str | None = None  # name in kana
    email: str | None = None
    phone: str | None = None


class OrderItem(PaidyModel):
    id: str | None = None
    title: str | None = None
    description: str | None = None
    unit_price: int = 0
    quantity: int = 1


class PaidyOrder(PaidyModel):
    items: list[OrderItem] = Field(default_factory=list)
    tax: int = 0
    shipping: int = 0
    order_ref: str | None = None
    updated_at: datetime | None = None


class ShippingAddress(PaidyModel):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None


class Capture(PaidyModel):
    id: str
    created_at: datetime | None = None
    amount: Yen = 0
    tax: int | None = None
    shipping: int | None = None
    items: list[OrderItem] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def intent(self) -> str | None:
        return intent_of(self.metadata)


class Refund(PaidyModel):
    id: str
    created_at: datetime | None = None
    capture_id: str | None = None
    amount: Yen = 0
    reason: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def intent(self) -> str | None:
        return intent_of(self.metadata)


class Payment(PaidyModel):
    id: str
    created_at: datetime | None = None
    expires_at: datetime | None = None
    amount: Yen
    currency: str = "JPY"
    description: str | None = None
    store_name: str | None = None
    test: bool = False
    status: str
    tier: str | None = None
    buyer: Buyer | None = None
    order: PaidyOrder | None = None
    shipping_address: ShippingAddress | None = None
    captures: list[Capture] = Field(default_factory=list)
    refunds: list[Refund] = Field(default_factory=list)
    metadata: dict[str, Any] | None = Field(default_factory=dict)

    @field_validator("status")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.strip().lower()

    @field_validator("created_at", "expires_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return as_utc(v)

    @property
    def captured_amount(self) -> int:
        return sum(c.amount for c in self.captures)

    @property
    def refunded_amount(self) -> int:
        return sum(r.amount for r in self.refunds)

    @property
    def capture_id(self) -> str | None:
        return self.captures[0].id if self.captures else None

    def snapshot(self) -> PaymentSnapshot:
        return PaymentSnapshot(
            status=self.status,
            amount=self.amount,
            captured=self.captured_amount,
            refunded=self.refunded_amount,
            expires_at=self.expires_at,
        )

    def problem(self, expected_id: str | None = None) -> str | None:
        """Why this answer cannot be Paidy's record of ``expected_id`` (None: it can).
        Codes: wrong_payment, refund_over_capture, foreign_capture."""
        if expected_id is not None and self.id != expected_id:
            return "wrong_payment"
        capture_ids = {c.id for c in self.captures}
        per_capture: dict[str | None, int] = {}
        for r in self.refunds:
            if r.capture_id is not None and r.capture_id not in capture_ids:
                return "foreign_capture"
            per_capture[r.capture_id] = per_capture.get(r.capture_id, 0) + r.amount
        if self.refunded_amount > self.captured_amount:
            return "refund_over_capture"
        by_id = {c.id: c.amount for c in self.captures}
        if any(cid in by_id and total > by_id[cid] for cid, total in per_capture.items()):
            return "refund_over_capture"
        return None


def intent_of(metadata: dict[str, Any] | None) -> str | None:
    """Our intent tag in a capture's or refund's metadata, if any."""
    value = (metadata or {}).get(INTENT_KEY)
    return value if isinstance(value, str) and value else None


class ErrorDetail(PaidyModel):
    kind: str | None = None
    field: str | None = None
    message: str | None = None


class ErrorEnvelope(PaidyModel):
    reference: str | None = ""
    status: str | None = None
    code: str | None = None
    title: str | None = None
    description: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)

    @field_validator("status", mode="before")
    @classmethod
    def _status_as_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class WebhookEvent(PaidyModel):
    """Paidy's webhook payload: a hint only (unsigned); the payment is always re-read."""

    payment_id: str
    capture_id: str | None = None
    event_type: str | None = None
    status: str | None = None
    order_ref: str | None = None
    reason: str | None = None
    timestamp: datetime | None = None
