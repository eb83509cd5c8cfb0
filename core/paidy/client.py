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
    PaidyBadAnswer,
    PaidyUnavailable,
    PaidyUnknownOutcome,
)
from core.paidy.models import ErrorEnvelope, Payment, is_payment_id

log = logging.getLogger(__name__)

USER_AGENT = "paidy-ops-dashboard/0.1"
CONNECT_TIMEOUT_S = 5.0
#: An answer larger than this is not a payment: unreadable (a write's outcome is unknown).
MAX_ANSWER_BYTES = 1024 * 1024


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
        2xx body is not a payment (truncated, a proxy's page) or cannot be this payment's."""
        path = _payment_path(payment_id)
        for attempt in range(self.read_retries + 1):
            try:
                return self._call("GET", path)
            except PaidyBadAnswer:
                if attempt == self.read_retries:
                    raise
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
            with self._slot():
                # No redirects, ever: a 3xx to a write is an unknown outcome (settled by its
                # tag), and following one could carry our key to another host.
                resp = session.request(
                    method,
                    self.api_base + path,
                    data=data,
                    headers=self._headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                )
                try:
                    content = read_capped(resp)
                finally:
                    resp.close()
        except requests.RequestException as exc:
            reason = _transport_reason(exc)
            log.warning("paidy %s %s failed: %s", method, path, reason)
            if method == "GET":
                raise PaidyUnavailable(reason) from None
            raise PaidyUnknownOutcome(method, path, reason) from None
        request_id = resp.headers.get("Request-Id")
        log.info("paidy %s %s -> %s (%s)", method, path, resp.status_code, request_id)
        if content is None:
            log.warning("paidy %s %s: answer over %s bytes", method, path, MAX_ANSWER_BYTES)
            return _untrusted(method, path, "too_large", resp.status_code, request_id)
        return classify_response(method, path, resp.status_code, content, request_id)

    def _slot(self):
        """A slot for one call: this process's semaphore (``limit_in_flight``), or the slots
        given to ``use_slots`` (which bound their own wait). Waiting is bounded by the request
        timeout; past it nothing is sent (Paidy 'unavailable': a definite failure)."""
        if self._slots is None:
            return nullcontext()
        if not isinstance(self._slots, threading.BoundedSemaphore):
            return self._slots
        if not self._slots.acquire(timeout=self.timeout[1]):
            raise PaidyUnavailable("no_slot")  # nothing was sent
        return _Release(self._slots)


class _Release:
    def __init__(self, sem: threading.BoundedSemaphore) -> None:
        self._sem = sem

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self._sem.release()


def read_capped(resp: requests.Response, cap: int | None = None) -> bytes | None:
    """The body, or None when it is larger than ``cap`` (default MAX_ANSWER_BYTES): an
    answer that big is not a payment, and is never held in memory whole."""
    cap = MAX_ANSWER_BYTES if cap is None else cap
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    chunks, size = [], 0
    for chunk in resp.iter_content(64 * 1024):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def classify_response(
    method: str, path: str, status: int, content: bytes, request_id: str | None
) -> PaidyResult:
    """Turn an HTTP answer into a result or the right exception (pure; tested directly).

    A 2xx is a success only when its body is a payment that can be the one in ``path``
    (same id, whole non-negative yen, refunds within their capture); anything else is
    untrusted: an unknown outcome for a write, :class:`PaidyBadAnswer` for a read."""
    mutating = method != "GET"
    if 300 <= status < 400:
        return _untrusted(method, path, "redirect", status, request_id)
    if 200 <= status < 300:
        payment, problem = _parse_payment(content, _path_payment_id(path))
        if payment is not None:
            return PaidyResult(payment, request_id, status)
        return _untrusted(method, path, problem, status, request_id)
    api_error = _parse_error(status, content, request_id)
    if status >= 500 or api_error is None:
        if mutating:
            raise PaidyUnknownOutcome(method, path, "server_error", status, request_id, api_error)
        raise PaidyUnavailable("server_error", status, request_id)
    raise api_error


def _untrusted(method: str, path: str, reason: str, status: int, request_id: str | None):
    if method != "GET":
        raise PaidyUnknownOutcome(method, path, reason, status, request_id)
    if reason == "invalid_body":
        raise PaidyUnavailable("invalid_body", status, request_id)
    raise PaidyBadAnswer(reason, status, request_id)


def _parse_payment(content: bytes, expected_id: str | None) -> tuple[Payment | None, str]:
    """(payment, "") or (None, why): invalid_body when it is not a payment at all,
    bad_amount when its money fields are not whole non-negative yen, else Payment.problem."""
    try:
        payment = Payment.model_validate_json(content)
    except ValidationError as exc:
        money = any(
            e["loc"] and e["loc"][-1] == "amount" and e["type"] != "missing" for e in exc.errors()
        )
        return None, "bad_amount" if money else "invalid_body"
    except ValueError:
        return None, "invalid_body"
    problem = payment.problem(expected_id)
    return (None, problem) if problem else (payment, "")


def _path_payment_id(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "payments" else None


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
