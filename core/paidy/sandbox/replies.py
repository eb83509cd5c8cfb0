"""Requests and replies as the handlers see them, the error envelopes, and the replies a
fault puts in place of the real answer."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .rules import SandboxError, malformed

if TYPE_CHECKING:
    from .state import Sandbox

JSON = "application/json"
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
