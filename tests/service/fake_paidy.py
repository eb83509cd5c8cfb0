"""An in-memory Paidy for the service tier: implements core.paidy.port.PaidyPort with no
HTTP, no threads, no sockets.

Paidy's behaviour is not re-invented here: each call runs the sandbox's own rules
(core.paidy.sandbox.rules: what a capture, refund, update or close does to a payment, and
which ones Paidy refuses) on a dict, and the answer is parsed by the same pydantic model
the client uses. What the network can do is scripted per call (:meth:`FakePaidy.next`):
Paidy refuses, the write lands but the answer is lost, the write never arrives, a read
fails. Counters say how often each call was made and how often money moved.
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from core.paidy.client import PaidyResult
from core.paidy.errors import PaidyAPIError, PaidyUnavailable, PaidyUnknownOutcome
from core.paidy.models import Payment
from core.paidy.sandbox import rules
from core.timeutil import iso_z, utcnow

#: what the network does to the next matching call (see FakePaidy.next)
OUTCOMES = ("refused", "lost_answer", "never_arrived", "unavailable")


class FakePaidy:
    api_base = "fake://paidy"

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self.timeout = (1.0, 1.0)
        self.payments: dict[str, dict] = {}
        self._original: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._script: list[tuple[str, str]] = []  # (call, outcome), first match wins
        self.calls: Counter[str] = Counter()  # get_payment, capture, refund, update, close
        self.applied: Counter[str] = Counter()  # writes that changed a payment

    # --- PaidyPort ------------------------------------------------------------------------
    @property
    def limited(self) -> bool:
        return True  # nothing to bound: no connections

    def use_slots(self, slots: Any) -> None:
        raise AssertionError("the fake needs no slots")

    def get_payment(self, payment_id: str) -> PaidyResult:
        self.calls["get_payment"] += 1
        outcome = self._scripted("get_payment")
        if outcome is not None:
            raise PaidyUnavailable("timeout")
        payment = self.payments.get(payment_id)
        if payment is None:
            raise PaidyAPIError(404, "resource.not_found", "Resource not found")
        return self._answer(payment)

    def capture(self, payment_id: str, metadata: dict | None = None) -> PaidyResult:
        body = {"metadata": metadata} if metadata else {}
        return self._write("capture", rules.capture, payment_id, body)

    def refund(
        self,
        payment_id: str,
        capture_id: str,
        amount: int | None = None,
        reason: str | None = None,
        metadata: dict | None = None,
    ) -> PaidyResult:
        body: dict[str, Any] = {"capture_id": capture_id}
        if amount is not None:
            body["amount"] = int(amount)
        if reason:
            body["reason"] = reason
        if metadata:
            body["metadata"] = metadata
        return self._write("refund", rules.refund, payment_id, body)

    def update(
        self,
        payment_id: str,
        *,
        order: dict | None = None,
        order_ref: str | None = None,
        description: str | None = None,
        metadata: dict | None = None,
    ) -> PaidyResult:
        body: dict[str, Any] = {}
        for key, value in (
            ("order", order),
            ("order_ref", order_ref),
            ("description", description),
            ("metadata", metadata),
        ):
            if value is not None:
                body[key] = value
        return self._write("update", rules.update, payment_id, body)

    def close(self, payment_id: str) -> PaidyResult:
        return self._write("close", rules.close, payment_id, {})

    # --- the test's side ------------------------------------------------------------------
    def add(
        self,
        state: str = "authorized",
        *,
        price: int = 1380,
        qty: int = 1,
        expires_in_days: float = 29,
        **spec: Any,
    ) -> str:
        """A new payment in ``state`` (authorized, captured, partially_refunded, refunded,
        closed; ``status="rejected"`` too), created a day ago, expiring in ``expires_in_days``."""
        now = self.clock()
        n = next(self._ids)
        full = {
            "order": {
                "items": [
                    {"id": f"SKU{n}", "title": "Paidyスニーカー", "description": "",
                     "unit_price": price, "quantity": qty}
                ],
                "tax": 0,
                "shipping": 0,
                "order_ref": str(1000 + n),
            },
            "buyer": {"name1": f"山田 太郎{n}", "name2": "ヤマダ タロウ",
                      "email": f"t{n}@example.jp", "phone": "08000000001"},
            "created_at": iso_z(now - timedelta(days=1)),
            "expires_at": iso_z(now + timedelta(days=expires_in_days)),
            "state": state,
            **spec,
        }  # fmt: skip
        payment = rules.new_payment(full, self._context(0))
        payment = rules.apply_state(payment, full, self._context(payment["amount"]))
        self.payments[payment["id"]] = payment
        self._original[payment["id"]] = payment["amount"]
        return payment["id"]

    def next(self, call: str, outcome: str, times: int = 1) -> None:
        """Script the next ``times`` calls named ``call`` (capture, refund, update, close,
        get_payment): "refused" (Paidy says 409, nothing applied), "lost_answer" (applied,
        the answer never comes back), "never_arrived" (not applied, no answer),
        "unavailable" (a read that fails)."""
        assert outcome in OUTCOMES, outcome
        self._script.extend([(call, outcome)] * times)

    def on_paidys_screens(self, payment_id: str, action: str, **body: Any) -> None:
        """A change made on Paidy's own merchant screens (no tag of ours)."""
        rule = {"capture": rules.capture, "refund": rules.refund, "close": rules.close}[action]
        self._apply(rule, payment_id, body)

    @property
    def money_moved(self) -> int:
        return self.applied["capture"] + self.applied["refund"]

    # --- inside ---------------------------------------------------------------------------
    def _context(self, original: int) -> rules.Context:
        return rules.Context(self.clock(), self._new_id, original)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):08d}"

    def _scripted(self, call: str) -> str | None:
        for i, (name, outcome) in enumerate(self._script):
            if name == call:
                del self._script[i]
                return outcome
        return None

    def _apply(self, rule, payment_id: str, body: dict) -> dict:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise rules.not_found(f"Payment {payment_id} does not exist")
        changed = rule(copy.deepcopy(payment), body, self._context(self._original[payment_id]))
        self.payments[payment_id] = changed
        return changed

    def _write(self, call: str, rule, payment_id: str, body: dict) -> PaidyResult:
        self.calls[call] += 1
        path = f"/payments/{payment_id}"
        outcome = self._scripted(call)
        if outcome == "never_arrived":
            raise PaidyUnknownOutcome("POST", path, "connection")
        if outcome == "refused":
            raise PaidyAPIError(409, "payment.state_invalid", "Invalid payment state")
        try:
            changed = self._apply(rule, payment_id, body)
        except rules.SandboxError as exc:
            raise PaidyAPIError(exc.http_status, exc.code, exc.title, exc.description) from None
        self.applied[call] += 1
        if outcome == "lost_answer":
            raise PaidyUnknownOutcome("POST", path, "timeout")
        return self._answer(changed)

    def _answer(self, payment: dict) -> PaidyResult:
        return PaidyResult(Payment.model_validate(copy.deepcopy(payment)), "req_fake", 200)
