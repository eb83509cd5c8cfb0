"""The sandbox's HTTP server: Paidy's payment API plus /_sandbox/ control endpoints."""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import faults, rules
from .clock import SandboxClock, parse_iso
from .faults import FaultConfig, Faults
from .rules import Context, SandboxError, malformed, not_found
from .store import DuplicatePayment, PaymentStore

JSON = "application/json"
AUTH = re.compile(r"^Bearer sk_(test|live)_\S+$", re.IGNORECASE)
PAYMENT_PATH = re.compile(r"^/payments/([^/]+)(?:/(captures|refunds|close))?/?$")
SCREEN_PATH = re.compile(r"^/_sandbox/payments/([^/]+)/(captures|refunds|close)/?$")
LIST_LIMIT_MAX = 1000
HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
AUTH_FAILED = SandboxError(
    401, "authentication.failed", "Authentication invalid", "The supplied authentication is invalid"
)
SERVICE_EXCEPTION = SandboxError(
    500, "service.exception", "Internal service exception", "Something went wrong"
)
RATE_LIMITED = SandboxError(
    429, "request.rate_limited", "Too many requests", "Slow down and retry later"
)
# (method, path tail) -> (rule, stats counter)
ACTIONS: dict[tuple[str, str | None], tuple[Callable, str]] = {
    ("PUT", None): (rules.update, "updates_applied"),
    ("POST", "captures"): (rules.capture, "captures_applied"),
    ("POST", "refunds"): (rules.refund, "refunds_applied"),
    ("POST", "close"): (rules.close, "closes_applied"),
}
APPLIED_COUNTERS = ("captures_applied", "refunds_applied", "closes_applied", "updates_applied")
TAMPERED_AMOUNT = -100_000  # what a negative_amount fault puts into the answer


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = a free port
    seed: int | None = None
    db_path: str | None = None  # None = a private temporary SQLite database
    latency_ms: int = 0
    jitter_ms: int = 0
    fault_rate: float = 0.0  # chance per payment API request of a random fault
    timeout_hold_s: float = 5.0  # how long a "timeout" fault holds the connection


# ---------------------------------------------------------------- ids and stats


class IdMaker:
    """`prefix_` + 16 chars of [A-Za-z0-9_-] (96 random bits, URL-safe base64).

    One stream per prefix, so with a seed the pay_ ids do not depend on how many
    requests (req_ ids) came in between.
    """

    def __init__(self, seed: int | None, salt: int = 0) -> None:
        self._seed = seed
        self._salt = salt
        self._lock = threading.Lock()
        self._streams: dict[str, random.Random] = {}

    def make(self, prefix: str) -> str:
        with self._lock:
            stream = self._streams.get(prefix)
            if stream is None:
                seed = None if self._seed is None else f"{self._seed}:{self._salt}:{prefix}"
                stream = self._streams[prefix] = random.Random(seed)
            bits = stream.getrandbits(96).to_bytes(12, "big")
        return f"{prefix}_{base64.urlsafe_b64encode(bits).decode('ascii')}"


class Stats:
    """Request and outcome counters, so tests can prove how often money moved, and a gauge
    of payment API requests in flight (``max_in_flight``: the most at once since the last
    reset), so tests can prove a concurrency cap held across processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._routes: Counter[str] = Counter()
            self._applied: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._in_flight = 0
            self._max_in_flight = 0

    def reset_gauge(self) -> None:
        """Start the high-water mark again from the requests in flight now."""
        with self._lock:
            self._max_in_flight = self._in_flight

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count one payment API request from its arrival until its reply is written."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def request(self, route: str) -> None:
        with self._lock:
            self._routes[route] += 1

    def applied(self, counter: str) -> None:
        with self._lock:
            self._applied[counter] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests": sum(self._routes.values()),
                "by_route": dict(self._routes),
                **{name: self._applied[name] for name in APPLIED_COUNTERS},
                "late_applied": self._applied["late_applied"],
                "screen_actions": self._applied["screen_actions"],
                "faults_injected": dict(self._faults),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
            }


# ---------------------------------------------------------------- the sandbox's state


class Sandbox:
    """Everything a request handler needs: store, clock, faults, ids, stats."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = PaymentStore(config.db_path)
        self.clock = SandboxClock()
        self.faults = Faults(
            FaultConfig(
                latency_ms=config.latency_ms,
                jitter_ms=config.jitter_ms,
                fault_rate=config.fault_rate,
                timeout_hold_s=config.timeout_hold_s,
            ),
            config.seed,
        )
        # the salt keeps a seeded restart on an existing --db file from reusing ids
        self.ids = IdMaker(config.seed, salt=self.store.count())
        self.stats = Stats()
        self.stopping = threading.Event()
        self.history = History()
        self.late = LateWrites(self)

    def reset(self) -> None:
        """Delete all payments, clear faults, real time again, zero stats, re-seed ids."""
        self.late.cancel_all()
        self.history.clear()
        self.store.clear()
        self.faults.reset()
        self.clock.reset()
        self.stats.reset()
        self.ids = IdMaker(self.config.seed)

    def context(self, original_amount: int = 0) -> Context:
        return Context(self.clock.now(), self.ids.make, original_amount)


class History:
    """Each payment as it was before its last write (what a stale_read answers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._before: dict[str, dict] = {}

    def remember(self, payment: dict) -> None:
        with self._lock:
            self._before[payment["id"]] = payment

    def before(self, payment_id: str) -> dict | None:
        with self._lock:
            return self._before.get(payment_id)

    def clear(self) -> None:
        with self._lock:
            self._before.clear()


class LateWrites:
    """Writes whose request "reached Paidy" after the client gave up (apply_late): applied
    on a timer, or all at once by POST /_sandbox/late (deterministic tests)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[threading.Timer, Request]] = {}
        self._n = 0

    def schedule(self, request: Request, after_s: float) -> None:
        with self._lock:
            self._n += 1
            key = self._n
            timer = threading.Timer(after_s, self._apply, args=(key,))
            timer.daemon = True
            self._pending[key] = (timer, request)
        timer.start()

    def _apply(self, key: int) -> Reply | None:
        with self._lock:
            entry = self._pending.pop(key, None)
        if entry is None or self._sandbox.stopping.is_set():
            return None
        reply = guarded(self._sandbox, lambda: payment_api(self._sandbox, entry[1]))
        if reply.status == 200:
            self._sandbox.stats.applied("late_applied")
        return reply

    def flush(self) -> list[int]:
        """Apply every pending late write now; their HTTP statuses."""
        with self._lock:
            keys = sorted(self._pending)
            for key in keys:
                self._pending[key][0].cancel()
        return [r.status for k in keys if (r := self._apply(k)) is not None]

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def cancel_all(self) -> None:
        with self._lock:
            for timer, _ in self._pending.values():
                timer.cancel()
            self._pending.clear()


# ---------------------------------------------------------------- requests and replies


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        """The body as a JSON object; empty = {}; anything else is a 400."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise malformed("The request body is not valid JSON") from exc
        if not isinstance(value, dict):
            raise malformed("The request body must be a JSON object")
        return value


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    hold_s: float = 0.0  # hold the connection this long before answering (or dropping)
    drop: bool = False  # close the connection without any response


def encode(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_reply(payload: object, status: int = 200) -> Reply:
    return Reply(status, encode(payload))


def error_reply(error: SandboxError, reference: str) -> Reply:
    reply = json_reply(error.envelope(reference), error.http_status)
    if error.http_status == 401:
        reply.headers["WWW-Authenticate"] = 'Bearer realm="Paidy"'
    return reply


# ---------------------------------------------------------------- faults


def fault_reply(kind: str, reply: Reply, hold_s: float, entry: dict | None = None) -> Reply:
    """What the client gets under fault `kind`; `reply` is the normal answer."""
    if kind == "api_error":
        e = entry or {}
        error = SandboxError(
            e.get("status", 400),
            e.get("code", "request_content.malformed"),
            e.get("title", "Malformed request content"),
            e.get("description", ""),
        )
        return error_reply(error, e.get("reference", ""))
    if kind in ("error_500", "applied_500"):
        return error_reply(SERVICE_EXCEPTION, "")
    if kind == "html_502":
        return Reply(502, HTML_502, "text/html")
    if kind == "rate_limited":
        limited = error_reply(RATE_LIMITED, "")
        limited.headers["Retry-After"] = "1"
        return limited
    if kind in ("timeout", "applied_timeout"):
        return Reply(hold_s=hold_s, drop=True)
    if kind == "applied_drop":
        return Reply(drop=True)
    if kind == "truncated":
        return replace(reply, body=reply.body[: len(reply.body) // 2])
    raise ValueError(f"unknown fault kind {kind}")


# ---------------------------------------------------------------- the payment API


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


def apply_action(sandbox: Sandbox, request: Request, payment_id: str, tail: str | None):
    """Run one rule atomically on the stored payment; None if it does not exist."""
    action = ACTIONS.get((request.method, tail))
    if action is None:
        raise not_found(f"No endpoint {request.method} {request.path}")
    rule, counter = action
    body = request.json()
    now = sandbox.clock.now()

    def change(payment: dict, original: int) -> dict:
        changed = rule(payment, body, Context(now, sandbox.ids.make, original))
        sandbox.history.remember(payment)
        return changed

    payment = sandbox.store.mutate(payment_id, change)
    if payment is not None:
        sandbox.stats.applied(counter)
    return payment


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
    if not faults.is_applied(kind):
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


# ---------------------------------------------------------------- control endpoints


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
    now = sandbox.clock.now()

    def change(payment: dict, original: int) -> dict:
        changed = rule(payment, body, Context(now, sandbox.ids.make, original))
        sandbox.history.remember(payment)
        return changed

    payment = sandbox.store.mutate(payment_id, change)
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


# ---------------------------------------------------------------- dispatch


def guarded(sandbox: Sandbox, answer: Callable[[], Reply]) -> Reply:
    """Run `answer`; refusals become error envelopes, bugs a 500 (and a traceback)."""
    try:
        return answer()
    except SandboxError as error:
        return error_reply(error, sandbox.ids.make("err"))
    except Exception:
        if not sandbox.stopping.is_set():  # after stop() the store is closed: expected
            traceback.print_exc()
        return error_reply(SERVICE_EXCEPTION, sandbox.ids.make("err"))


def is_payment_api(path: str) -> bool:
    return path == "/payments" or path.startswith("/payments/")


def dispatch(sandbox: Sandbox, request: Request) -> Reply:
    if is_payment_api(request.path):
        return serve_payment_api(sandbox, request)
    screen = SCREEN_PATH.match(request.path) if request.method == "POST" else None
    if screen:
        return guarded(sandbox, lambda: control_screen(sandbox, request, screen[1], screen[2]))
    control = CONTROL.get((request.method, request.path.rstrip("/")))
    if control is None:
        return guarded(sandbox, lambda: _no_route(request))
    return guarded(sandbox, lambda: control(sandbox, request))


def _no_route(request: Request) -> Reply:
    raise not_found(f"No endpoint {request.method} {request.path}")


# ---------------------------------------------------------------- HTTP plumbing


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PaidySandbox/1.0"
    timeout = 60  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stall
    server: SandboxServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default per-request stderr line."""

    def do_GET(self) -> None:
        self.serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def read_request(self) -> Request:
        url = urlsplit(self.path)
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise ValueError("chunked request bodies are not supported")
        length = int(self.headers.get("Content-Length") or 0)
        return Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=self.rfile.read(length) if length > 0 else b"",
        )

    def serve(self) -> None:
        sandbox = self.server.sandbox
        try:
            request = self.read_request()
        except ValueError as exc:
            self.send_error(400, "Bad request body", str(exc))
            return
        gauge = sandbox.stats.in_flight() if is_payment_api(request.path) else nullcontext()
        with gauge:
            reply = dispatch(sandbox, request)
            if reply.hold_s > 0:
                sandbox.stopping.wait(reply.hold_s)
            if reply.drop:
                self.close_connection = True
                return
            self.send(reply, request.headers.get("paidy-version"), sandbox.ids.make("req"))

    def send(self, reply: Reply, version: str | None, request_id: str) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Request-Id", request_id)
        if version:
            self.send_header("Paidy-Version", version)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)


class SandboxServer(ThreadingHTTPServer):
    """Threaded HTTP/1.1 server that can cut its open connections on stop."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request, client_address) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """A client that went away is normal here (timeouts, faults); report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def cut_open_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# ---------------------------------------------------------------- starting and stopping


class RunningSandbox:
    """A sandbox serving on a daemon thread; a context manager that stops it."""

    def __init__(self, server: SandboxServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.sandbox = server.sandbox
        self.store = server.sandbox.store
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def reset(self) -> None:
        """Same as POST /_sandbox/reset."""
        self.sandbox.reset()

    def stop(self) -> None:
        """Stop serving, end held connections, close the store. Safe to call twice."""
        if self.sandbox.stopping.is_set():
            return
        self.sandbox.stopping.set()
        self.sandbox.late.cancel_all()
        self._server.shutdown()
        self._server.cut_open_connections()
        self._server.server_close()
        self._thread.join(timeout=2)
        self.store.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(config: SandboxConfig | None = None, **overrides: object) -> RunningSandbox:
    """Start a sandbox on a daemon thread; it accepts connections when this returns."""
    config = replace(config or SandboxConfig(), **overrides)
    sandbox = Sandbox(config)
    try:
        server = SandboxServer((config.host, config.port), sandbox)
    except OSError:
        sandbox.store.close()
        raise
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"paidy-sandbox-{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return RunningSandbox(server, thread)
