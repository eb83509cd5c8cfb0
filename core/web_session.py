"""A login that survives a reload (AUTH_MODE=password): a signed, expiring, HttpOnly cookie.

A full page load (a reload, a deep link, a link opened in a new tab) starts a new Streamlit
session, and session state (who logged in) is gone. Streamlit can read cookies
(``st.context.cookies``) but cannot set one, so the cookie is set by a route of the same
server (``core/web.py``):

1. The login form checks the password as before and, on success, sends the browser once
   through ``/session/start?ticket=...&next=/order?order=61``. The *ticket* is signed, names
   the user and is good for :data:`TICKET_TTL` seconds and one use (per process).
2. The route checks the ticket and the user (still there, not disabled), sets the session
   cookie (``HttpOnly``, ``SameSite=Lax``, ``Secure`` over https, ``Path=/``) and redirects to
   ``next`` (a path of this app only: never another site).
3. A new session reads the cookie: a valid signature, not expired (``SESSION_TIMEOUT_MIN``
   after the login), a known active user whose password has not changed since: logged in,
   with the role read from the database now. Anything else is refused (login form).
4. 「ログアウト」 sends the browser through ``/session/end``, which clears the cookie.

Tokens are ``<base64url JSON>.<base64url HMAC-SHA256>``; the signing key is 32 random bytes
kept in the database (``app_flags``: made on first use, shared by every server process of
the same database). Deleting that row logs every browser out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.roles import Actor, Role
from core.storage.db import Database
from core.storage.models import AppFlag, User
from core.timeutil import utcnow

COOKIE = "paidy_ops_session"
SESSION_PATH = "/session/start"  # not /auth/...: Streamlit's own st.login routes live there
LOGOUT_PATH = "/session/end"
TICKET_TTL = 60  # seconds between the login and the browser reaching the route
KEY_FLAG = "session_signing_key"
MAX_TOKEN = 2048


class InvalidToken(Exception):
    """A token that is forged, expired, of the wrong kind, or names no active user."""


@dataclass(frozen=True)
class Claims:
    user: str
    kind: str  # "ticket" | "session"
    expires: int  # unix seconds
    nonce: str
    fingerprint: str


# ------------------------------------------------------------------------------ the key
def signing_key(db: Database) -> bytes:
    """The database's signing key, made on first use (every process of this database shares
    it; read each time, so deleting the row takes effect at once)."""
    with db.session() as s:
        found = s.scalar(select(AppFlag.value).where(AppFlag.key == KEY_FLAG))
    if not found:
        try:
            with db.session() as s:
                s.add(
                    AppFlag(key=KEY_FLAG, value={"key": secrets.token_hex(32)}, updated_at=utcnow())
                )
        except IntegrityError:  # another process made it first
            pass
        with db.session() as s:
            found = s.execute(select(AppFlag.value).where(AppFlag.key == KEY_FLAG)).scalar_one()
    return bytes.fromhex(found["key"])


# ------------------------------------------------------------------------------ tokens
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fingerprint(key: bytes, password_hash: str | None) -> str:
    """Changes when the password does: a session made before a password change is refused."""
    return _b64(hmac.new(key, (password_hash or "").encode(), hashlib.sha256).digest()[:12])


def _sign(key: bytes, claims: dict) -> str:
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    mac = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def _read(key: bytes, token: str | None, kind: str, now: float) -> Claims:
    if not token or len(token) > MAX_TOKEN or token.count(".") != 1:
        raise InvalidToken("malformed")
    body, mac = token.split(".")
    wanted = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, wanted):
        raise InvalidToken("bad signature")
    try:
        raw = json.loads(_unb64(body))
        claims = Claims(str(raw["u"]), str(raw["k"]), int(raw["exp"]), str(raw["n"]), str(raw["f"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidToken("malformed claims") from exc
    if claims.kind != kind:
        raise InvalidToken("wrong kind")
    if claims.expires <= now:
        raise InvalidToken("expired")
    return claims


def _user(db: Database, name: str) -> User | None:
    with db.session() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is not None:
            s.expunge(user)
        return user


def issue(db: Database, name: str, kind: str, ttl_s: int, *, now: float | None = None) -> str:
    """A signed token of ``kind`` for the user ``name``, good for ``ttl_s`` seconds."""
    key = signing_key(db)
    user = _user(db, name)
    if user is None or user.disabled:
        raise InvalidToken("no such active user")
    now = time.time() if now is None else now
    return _sign(
        key,
        {
            "u": user.name,
            "k": kind,
            "exp": int(now + ttl_s),
            "n": secrets.token_urlsafe(12),
            "f": _fingerprint(key, user.password_hash),
        },
    )


def verify(db: Database, token: str | None, kind: str, *, now: float | None = None) -> Actor:
    """The actor a token names, read from the database now; :class:`InvalidToken` when the
    token is forged, expired or of another kind, or its user is gone, disabled or has a
    new password."""
    key = signing_key(db)
    claims = _read(key, token, kind, time.time() if now is None else now)
    user = _user(db, claims.user)
    if user is None or user.disabled:
        raise InvalidToken("no such active user")
    if not hmac.compare_digest(claims.fingerprint, _fingerprint(key, user.password_hash)):
        raise InvalidToken("password changed")
    try:
        role = Role(user.role)
    except ValueError as exc:
        raise InvalidToken("unknown role") from exc
    return Actor(user.name, role)


class TicketBook:
    """Tickets already used in this process (a ticket is good once)."""

    def __init__(self) -> None:
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def use(self, db: Database, ticket: str | None, *, now: float | None = None) -> Actor:
        now = time.time() if now is None else now
        key = signing_key(db)
        claims = _read(key, ticket, "ticket", now)
        with self._lock:
            self._used = {n: exp for n, exp in self._used.items() if exp > now}
            if claims.nonce in self._used:
                raise InvalidToken("ticket already used")
            self._used[claims.nonce] = claims.expires
        return verify(db, ticket, "ticket", now=now)


# ------------------------------------------------------------------------------ addresses
def safe_next(target: str | None) -> str:
    """Where to go after the route: a path of this app (``/order?order=61``), else ``/``.
    Never another site (``//evil.example``, ``https://...``, backslashes)."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def cookie_options(*, secure: bool, max_age: int) -> dict:
    """What Starlette's ``set_cookie`` gets for the session cookie."""
    return {
        "key": COOKIE,
        "max_age": max_age,
        "path": "/",
        "httponly": True,
        "samesite": "lax",
        "secure": secure,
    }
