"""The Paidy client surface the service layer (core.operations) uses, as a Protocol.

:class:`core.paidy.client.PaidyClient` is the one implementation in production; the service
test tier passes an in-memory fake (tests/service/fake_paidy.py) as ``Ops(db, client=...)``.
Writes raise the errors of :mod:`core.paidy.errors` exactly as the client does:
``PaidyAPIError`` (refused, nothing applied), ``PaidyUnknownOutcome`` (maybe applied),
``PaidyUnavailable`` (a read that failed).
"""

from __future__ import annotations

from typing import Any, Protocol

from core.paidy.client import PaidyResult


class PaidyPort(Protocol):
    api_base: str
    #: (connect, read) seconds: the read timeout bounds a slot's wait and the settle delay
    timeout: tuple[float, float]

    @property
    def limited(self) -> bool:
        """Whether calls already hold a slot (a semaphore or cluster-wide slots)."""
        ...

    def use_slots(self, slots: Any) -> None: ...

    def get_payment(self, payment_id: str) -> PaidyResult: ...

    def capture(self, payment_id: str, metadata: dict | None = None) -> PaidyResult: ...

    def refund(
        self,
        payment_id: str,
        capture_id: str,
        amount: int | None = None,
        reason: str | None = None,
        metadata: dict | None = None,
    ) -> PaidyResult: ...

    def update(
        self,
        payment_id: str,
        *,
        order: dict | None = None,
        order_ref: str | None = None,
        description: str | None = None,
        metadata: dict | None = None,
    ) -> PaidyResult: ...

    def close(self, payment_id: str) -> PaidyResult: ...
