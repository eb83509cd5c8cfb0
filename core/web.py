"""HTTP routes served beside the screens by the same server (``st.App`` in streamlit_app.py):

- ``POST /webhooks/paidy/<WEBHOOK_TOKEN>``: only when ``WEBHOOK_TOKEN`` is set. A wrong
  token is a plain 404 (compared in constant time) and touches nothing; a body over 64 KB
  is 413 and one that is not a usable hint is 400, both without scheduling anything;
  otherwise ``core.operations.webhook.receive`` runs in a worker thread and the answer is
  200 at once (503 if the database cannot take it, so Paidy sends it again).
- ``GET /healthz``: ``core.health`` as JSON, 200 when healthy, 503 otherwise.
- ``GET /session/start?ticket=...&next=...`` and ``GET /session/end?next=...``: set and
  clear the signed login cookie of AUTH_MODE=password (``core.web_session``), then go to
  ``next`` (a path of this app only).

Handlers stay thin: they read the request, call core off the event loop
(``run_in_threadpool``), and answer. ``get_runtime`` is the app's one runtime per process
(database, Paidy client, batch workers), shared with the screens.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from core import health, web_session
from core.operations.webhook import MAX_BODY, InvalidWebhook, Received, parse_hint, receive
from core.settings import Settings

if TYPE_CHECKING:
    from core.runtime import Runtime

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/paidy/{token}"
HEALTH_PATH = "/healthz"
NO_STORE = {"Cache-Control": "no-store"}


def routes(get_runtime: Callable[[], Runtime], settings: Settings) -> list[Route]:
    """The extra routes for ``st.App(..., routes=...)``; the webhook only with a token."""
    handlers = Handlers(get_runtime, settings)
    found = [
        Route(HEALTH_PATH, handlers.healthz, methods=["GET"]),
        Route(web_session.SESSION_PATH, handlers.session_start, methods=["GET"]),
        Route(web_session.LOGOUT_PATH, handlers.session_end, methods=["GET"]),
    ]
    if settings.webhook_secret():
        found.append(Route(WEBHOOK_PATH, handlers.webhook, methods=["POST"]))
    return found


class Handlers:
    def __init__(self, get_runtime: Callable[[], Runtime], settings: Settings) -> None:
        self.get_runtime, self.settings = get_runtime, settings
        self._token = (settings.webhook_secret() or "").encode()
        self._tickets = web_session.TicketBook()

    # --------------------------------------------------------------------------- healthz
    async def healthz(self, request: Request) -> Response:
        found = await run_in_threadpool(self._health)
        return JSONResponse(found.as_json(), status_code=200 if found.ok else 503, headers=NO_STORE)

    def _health(self) -> health.Health:
        try:
            runtime = self.get_runtime()
        except Exception as exc:  # the reason may name the database: log its type only
            log.warning("healthz: the runtime is not available (%s)", type(exc).__name__)
            return health.unavailable(self.settings)
        return health.check(runtime, self.settings)

    # --------------------------------------------------------------------------- webhook
    async def webhook(self, request: Request) -> Response:
        given = str(request.path_params.get("token", "")).encode()
        if not self._token or not hmac.compare_digest(given, self._token):
            return PlainTextResponse("Not Found", status_code=404)
        body = await _read_body(request, MAX_BODY)
        if body is None:
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            hint = parse_hint(body)
        except InvalidWebhook:
            return JSONResponse({"error": "bad request"}, status_code=400)
        try:
            outcome = await run_in_threadpool(self._receive, hint)
        except Exception:
            log.exception("webhook for %s could not be recorded", hint.payment_id)
            return JSONResponse({"error": "unavailable"}, status_code=503)
        return JSONResponse({"received": outcome.value}, headers=NO_STORE)

    # --------------------------------------------------------------------------- session
    async def session_start(self, request: Request) -> Response:
        """The browser comes here once after a login: a good ticket becomes the session
        cookie; a bad, used or expired one sets nothing (the login form shows again)."""
        target = web_session.safe_next(request.query_params.get("next"))
        response = RedirectResponse(target, status_code=303, headers=NO_STORE)
        ticket = request.query_params.get("ticket")
        try:
            token, ttl = await run_in_threadpool(self._session_for, ticket)
        except web_session.InvalidToken as exc:
            log.info("login ticket refused (%s)", exc)
            return response
        except Exception:
            log.exception("login ticket could not be checked")
            return response
        response.set_cookie(
            value=token, **web_session.cookie_options(secure=_https(request), max_age=ttl)
        )
        return response

    def _session_for(self, ticket: str | None) -> tuple[str, int]:
        db = self.get_runtime().db
        actor = self._tickets.use(db, ticket)
        ttl = int(self.settings.session_timeout_min) * 60
        return web_session.issue(db, actor.name, "session", ttl), ttl

    async def session_end(self, request: Request) -> Response:
        """Log out: the cookie is cleared (it is HttpOnly: only the server can)."""
        target = web_session.safe_next(request.query_params.get("next"))
        response = RedirectResponse(target, status_code=303, headers=NO_STORE)
        response.delete_cookie(web_session.COOKIE, path="/", httponly=True, samesite="lax",
                               secure=_https(request))  # fmt: skip
        return response

    def _receive(self, hint) -> Received:
        runtime = self.get_runtime()
        outcome = receive(runtime.ops, hint)
        if outcome.received is Received.SCHEDULED and runtime.workers is not None:
            runtime.workers.wake()
        return outcome.received


def _https(request: Request) -> bool:
    """Whether the browser talks https to us (directly or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it is longer than ``limit`` (stops reading there)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
