"""The Paidy HTTP client: one requests Session per direction, strict answer classification.

Every successful call returns :class:`PaidyResult` (the whole payment and Paidy's
``Request-Id``). Anything else raises a :mod:`core.paidy.errors` type: a failure can never be
mistaken for success, and a write whose answer is lost is an *unknown outcome*.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import requests
from pydantic import ValidationError
from requests.adapters import HTTPAdapter

from core.paidy import retry
from core.paidy.errors import (
    InvalidPaymentId,
    PaidyAPIError,
    PaidyUnavailable,
    PaidyUnknownOutcome,
)
from core.paidy.models import ErrorEnvelope, Payment, is_payment_id

log = logging.getLogger("core.paidy")

USER_AGENT = "paidy-ops-dashboard/0.1"
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class PaidyResult:
    payment: Payment
    request_id: str | None
    http_status: int


class PaidyClient:
    def __init__(
        self,
        api_base: str,
        secret_key: str,
        *,
        api_version: str = "2018-04-10",
        timeout_s: float = 30.0,
        connect_timeout_s: float | None = None,
        read_retries: int = 3,
        backoff_factor: float = 0.3,
        pool_size: int = 32,
        max_in_flight: int | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.read_retries = read_retries
        self._slots: Any = None  # threading.BoundedSemaphore or use_slots()'s
        if max_in_flight:
            self.limit_in_flight(max_in_flight)
        self._headers = {
            "Authorization": f"Bearer {secret_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Paidy-Version": api_version,
            "User-Agent": USER_AGENT,
        }
        self.timeout = (min(connect_timeout_s or CONNECT_TIMEOUT_S, timeout_s), timeout_s)
        self._reads = _session(retry.read_retry(read_retries, backoff_factor), pool_size)
        self._writes = _session(retry.no_retry(), pool_size)

    def __repr__(self) -> str:  # never show the key
        return f"PaidyClient({self.api_base!r})"

    @classmethod
    def from_settings(cls, settings: Any, api_base: str | None = None) -> PaidyClient:
        return cls(
            api_base or settings.api_base,
            settings.secret_key() or "",
            api_version=settings.paidy_api_version,
            timeout_s=settings.paidy_timeout_s,
            pool_size=max(8, settings.paidy_concurrency * 2),
            max_in_flight=settings.paidy_concurrency,
        )

    def limit_in_flight(self, n: int) -> None:
        """At most ``n`` requests to Paidy at once from this process (PAIDY_CONCURRENCY),
        however many threads use the client."""
        self._slots = threading.BoundedSemaphore(max(1, n))
        self.max_in_flight = max(1, n)

    def use_slots(self, slots: Any) -> None:
        """Hold one of ``slots`` (a context manager with a ``capacity``) for each request
        instead of this process's semaphore: e.g. a cluster-wide limit shared by every
        process (core.operations.slots)."""
        self._slots = slots
        self.max_in_flight = slots.capacity

    @property
    def limited(self) -> bool:
        return self._slots is not None

    def close_sessions(self) -> None:
        self._reads.close()
        self._writes.close()

    # --- the API ------------------------------------------------------------------------------
    def get_payment(self, payment_id: str) -> PaidyResult:
        """A read: retried by the session on connection errors, 429 and 5xx, and here when a
        2xx body is not a payment (truncated, a proxy's page)."""
        path = _payment_path(payment_id)
        for attempt in range(self.read_retries + 1):
            try:
                return self._call("GET", path)
            except PaidyUnavailable as exc:
                if exc.reason != "invalid_body" or attempt == self.read_retries:
                    raise
        raise AssertionError("unreachable")

    def capture(self, payment_id: str, metadata: dict | None = None) -> PaidyResult:
        body = {"metadata": metadata} if metadata else {}
        return self._call("POST", _payment_path(payment_id) + "/captures", body)

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
        return self._call("POST", _payment_path(payment_id) + "/refunds", body)

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
        if order is not None:
            body["order"] = order
        if order_ref is not None:
            body["order_ref"] = order_ref
        if description is not None:
            body["description"] = description
        if metadata is not None:
            body["metadata"] = metadata
        return self._call("PUT", _payment_path(payment_id), body)

    def close(self, payment_id: str) -> PaidyResult:
        return self._call("POST", _payment_path(payment_id) + "/close", {})

    # --- transport ----------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict | None = None) -> PaidyResult:
        session = self._reads if method == "GET" else self._writes
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            with self._slots or nullcontext():
                resp = session.request(
                    method,
                    self.api_base + path,
                    data=data,
                    headers=self._headers,
                    timeout=self.timeout,
                )
        except requests.RequestException as exc:
            reason = _transport_reason(exc)
            log.warning("paidy %s %s failed: %s", method, path, reason)
            if method == "GET":
                raise PaidyUnavailable(reason) from None
            raise PaidyUnknownOutcome(method, path, reason) from None
        request_id = resp.headers.get("Request-Id")
        log.info("paidy %s %s -> %s (%s)", method, path, resp.status_code, request_id)
        return classify_response(method, path, resp.status_code, resp.content, request_id)


def classify_response(
    method: str, path: str, status: int, content: bytes, request_id: str | None
) -> PaidyResult:
    """Turn an HTTP answer into a result or the right exception (pure; tested directly)."""
    mutating = method != "GET"
    if 200 <= status < 300:
        payment = _parse_payment(content)
        if payment is not None:
            return PaidyResult(payment, request_id, status)
        if mutating:
            raise PaidyUnknownOutcome(method, path, "invalid_body", status, request_id)
        raise PaidyUnavailable("invalid_body", status, request_id)
    api_error = _parse_error(status, content, request_id)
    if status >= 500 or api_error is None:
        if mutating:
            raise PaidyUnknownOutcome(method, path, "server_error", status, request_id, api_error)
        raise PaidyUnavailable("server_error", status, request_id)
    raise api_error


def _parse_payment(content: bytes) -> Payment | None:
    try:
        return Payment.model_validate_json(content)
    except (ValidationError, ValueError):
        return None


def _parse_error(status: int, content: bytes, request_id: str | None) -> PaidyAPIError | None:
    try:
        env = ErrorEnvelope.model_validate_json(content)
    except (ValidationError, ValueError):
        return None
    if not (env.code or env.title):
        return None
    return PaidyAPIError(
        status, env.code, env.title, env.description, env.reference, request_id, env.details
    )


def _payment_path(payment_id: str) -> str:
    if not is_payment_id(payment_id):
        raise InvalidPaymentId(payment_id)
    return f"/payments/{payment_id}"


def _transport_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.RetryError):
        return "server_error"
    if isinstance(exc, requests.ConnectionError):
        return "connection"
    return "connection"


def _session(policy: retry.Retry, pool_size: int) -> requests.Session:
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=policy, pool_connections=4, pool_maxsize=pool_size)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.trust_env = False  # no proxies from the environment for money calls
    return s
