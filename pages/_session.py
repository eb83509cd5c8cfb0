"""The login cookie on the screens (AUTH_MODE=password): a reload or a deep link keeps the
operator logged in. The design and its checks are ``core/web_session.py``; this only reads
the cookie, and sends the browser once through the server's route that sets or clears it
(Streamlit cannot set a cookie itself)."""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

import streamlit as st

from core import web_session
from core.roles import Actor

GO = "session_redirect"  # a URL the browser is to go to on this run (set before a rerun)
LEFT = "session_logged_out"  # logged out in this session: never restore from the cookie


def restore(db) -> Actor | None:
    """The actor of a valid session cookie (read from the database now), else None."""
    if st.session_state.get(LEFT):
        return None
    try:
        token = st.context.cookies.get(web_session.COOKIE)
    except Exception:  # no browser behind this session (AppTest, bare mode)
        return None
    if not token:
        return None
    try:
        return web_session.verify(db, token, "session")
    except web_session.InvalidToken:
        return None


def remember(db, actor: Actor) -> None:
    """After a login: once through the route that turns a one-time ticket into the cookie,
    back to where the operator is."""
    st.session_state.pop(LEFT, None)
    try:
        ticket = web_session.issue(db, actor.name, "ticket", web_session.TICKET_TTL)
    except web_session.InvalidToken:
        return
    query = urlencode({"ticket": ticket, "next": here()})
    st.session_state[GO] = f"{web_session.SESSION_PATH}?{query}"


def forget() -> None:
    """Log out: once through the route that clears the cookie."""
    st.session_state[LEFT] = True
    st.session_state[GO] = f"{web_session.LOGOUT_PATH}?{urlencode({'next': here()})}"


def redirect_if_asked() -> None:
    """Send the browser where ``remember``/``forget`` asked (once)."""
    target = st.session_state.pop(GO, None)
    if not target:
        return
    # Our own URL (a fixed path and url-encoded values): safe inside the script.
    st.html(
        f"<script>window.location.replace({json.dumps(target)});</script>",
        unsafe_allow_javascript=True,
    )


def here() -> str:
    """The path and query of this page as the browser shows it (where to come back to)."""
    try:
        path = urlsplit(st.context.url or "").path or "/"
    except Exception:
        path = "/"
    query = urlencode(st.query_params.to_dict())
    return web_session.safe_next(path + (f"?{query}" if query else ""))
