"""The sandbox's HTTP server: a request goes to Paidy's payment API (:mod:`.api_faults`) or
to a /_sandbox/ control endpoint (:mod:`.control`)."""

from __future__ import annotations

import socket
import sys
import threading
from contextlib import nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .api import is_payment_api
from .api_faults import serve_payment_api
from .control import CONTROL, SCREEN_PATH, control_screen
from .replies import Reply, Request, guarded
from .rules import not_found
from .state import Sandbox


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
        # The request stops counting *before* its answer is written: a client may send its
        # next request (or free its cluster slot for another process) the moment it has
        # the answer, and that one must never find this one still counted (a false "5").
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
