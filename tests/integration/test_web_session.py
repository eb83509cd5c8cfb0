"""The login cookie's tokens (core/web_session.py) on SQLite and PostgreSQL: a session
token names an active user whose password has not changed since; forged, expired, reused
or mistyped tokens are refused; ``next`` never leaves this app."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete

from core import web_session as ws
from core.auth.users import add_user, disable, set_password
from core.roles import Role
from core.storage.models import AppFlag

PASSWORD = "correct horse battery 42"


@pytest.fixture
def users(db):
    add_user(db, "sato", Role.OPERATOR, PASSWORD)
    add_user(db, "kato", Role.VIEWER, PASSWORD)
    return db


def test_a_session_token_names_its_user_with_the_role_of_now(users):
    token = ws.issue(users, "sato", "session", 3600)
    actor = ws.verify(users, token, "session")
    assert (actor.name, actor.role) == ("sato", Role.OPERATOR)
    from core.auth.users import set_role

    set_role(users, "sato", Role.VIEWER)  # read from the database at every new session
    assert ws.verify(users, token, "session").role is Role.VIEWER


def _tampered(token: str) -> list[str]:
    body, mac = token.split(".")
    other = ws._b64(b'{"exp":9999999999,"f":"x","k":"session","n":"n","u":"admin"}')
    flip = "A" if mac[0] != "A" else "B"
    return [f"{other}.{mac}", f"{body}.{flip}{mac[1:]}", f"{body}.", body, "", "x" * 5000]


def test_forged_tokens_are_refused(users):
    token = ws.issue(users, "sato", "session", 3600)
    for forged in _tampered(token):
        with pytest.raises(ws.InvalidToken):
            ws.verify(users, forged, "session")
    with pytest.raises(ws.InvalidToken):
        ws.verify(users, None, "session")


def test_a_new_signing_key_refuses_every_earlier_token(users):
    token = ws.issue(users, "sato", "session", 3600)
    with users.session() as s:
        s.execute(delete(AppFlag).where(AppFlag.key == ws.KEY_FLAG))
    with pytest.raises(ws.InvalidToken):
        ws.verify(users, token, "session")


def test_expired_tokens_are_refused(users):
    now = time.time()
    token = ws.issue(users, "sato", "session", 60, now=now)
    assert ws.verify(users, token, "session", now=now + 59).name == "sato"
    with pytest.raises(ws.InvalidToken, match="expired"):
        ws.verify(users, token, "session", now=now + 60)


def test_a_ticket_is_not_a_session_and_is_good_once(users):
    ticket = ws.issue(users, "sato", "ticket", ws.TICKET_TTL)
    with pytest.raises(ws.InvalidToken, match="kind"):
        ws.verify(users, ticket, "session")
    book = ws.TicketBook()
    assert book.use(users, ticket).name == "sato"
    with pytest.raises(ws.InvalidToken, match="used"):
        book.use(users, ticket)
    session = ws.issue(users, "sato", "session", 3600)
    with pytest.raises(ws.InvalidToken, match="kind"):
        book.use(users, session)


def test_disabled_users_and_changed_passwords_end_the_session(users):
    sato = ws.issue(users, "sato", "session", 3600)
    kato = ws.issue(users, "kato", "session", 3600)
    disable(users, "sato")
    with pytest.raises(ws.InvalidToken, match="active"):
        ws.verify(users, sato, "session")
    set_password(users, "kato", "another long password 7")
    with pytest.raises(ws.InvalidToken, match="password"):
        ws.verify(users, kato, "session")
    with pytest.raises(ws.InvalidToken):
        ws.issue(users, "nobody", "session", 3600)


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/order?order=61&lang=en", "/order?order=61&lang=en"),
        ("/", "/"),
        (None, "/"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("orders", "/"),
        ("/orders#frag", "/orders"),
    ],
)
def test_next_stays_in_this_app(asked, goes):
    assert ws.safe_next(asked) == goes


def test_the_cookie_is_httponly_and_lax():
    opts = ws.cookie_options(secure=True, max_age=600)
    assert opts["httponly"] and opts["secure"] and opts["samesite"] == "lax"
    assert opts["path"] == "/" and opts["key"] == ws.COOKIE
