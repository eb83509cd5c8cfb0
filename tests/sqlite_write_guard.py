"""Pytest plugin: on SQLite, a transaction of the app's own code (``core/``, ``pages/``) that
reads and then writes must have been started with ``BEGIN IMMEDIATE``
(``db.session(immediate=True)``).

Why: in WAL mode a deferred transaction reads from a snapshot; if another connection commits
between its first read and its first write, the write fails at once with "database is locked"
(SQLITE_BUSY_SNAPSHOT: the busy timeout does not apply). That only shows under load, as a
flaky failure (it did: saving a CSV column set from 設定). This guard makes every such
transaction fail every time, in whatever test runs it, naming the code that opened it.

A transaction that writes first holds the write lock from then on and is fine; tests' own
set-up code is not checked (it runs alone).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
CHECKED = (ROOT / "core", ROOT / "pages", ROOT / "streamlit_app.py")
SKIPPED = (ROOT / "core" / "storage" / "db.py", ROOT / "core" / "storage" / "migrations")
READS = ("SELECT", "WITH", "PRAGMA")
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class ReadThenWriteInDeferredTransaction(AssertionError):
    """A deferred SQLite transaction of the app read and then wrote (see the module doc)."""


def _first_statement_word(statement: str) -> str:
    parts = statement.lstrip().split(None, 1)
    return parts[0].upper() if parts else ""


def _app_caller() -> str | None:
    """``path:line`` of the innermost frame in the app's own code (``core/``, ``pages/``),
    or None when the innermost project frame is a test's."""
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(ROOT) and not any(path.is_relative_to(s) for s in SKIPPED):
            if path == Path(__file__):
                frame = frame.f_back
                continue
            if any(path == c or path.is_relative_to(c) for c in CHECKED):
                return f"{path.relative_to(ROOT)}:{frame.f_lineno}"
            return None
        frame = frame.f_back
    return None


@event.listens_for(Engine, "before_cursor_execute")
def _watch(conn, cursor, statement, parameters, context, executemany) -> None:
    """``info["guard_txn"]`` is set only while a deferred transaction has not written yet:
    "deferred", then "has_read" after its first read. Its first write ends the watch (from
    then on it holds the write lock); after a read, that write must not be the app's."""
    if conn.dialect.name != "sqlite":
        return
    word = _first_statement_word(statement)
    if word == "BEGIN":
        if "IMMEDIATE" in statement.upper():
            conn.info.pop("guard_txn", None)
        else:
            conn.info["guard_txn"] = "deferred"
        return
    state = conn.info.get("guard_txn")
    if state is None:
        return
    if word in READS:
        conn.info["guard_txn"] = "has_read"
    elif word in WRITES:
        conn.info.pop("guard_txn")
        where = _app_caller() if state == "has_read" else None
        if where is not None:
            raise ReadThenWriteInDeferredTransaction(
                f"{where}: this SQLite transaction read and then wrote without "
                "db.session(immediate=True) (see tests/sqlite_write_guard.py)"
            )


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _end(conn) -> None:
    # never touch a PostgreSQL connection (an invalidated one raises on ``.info``)
    if conn.dialect.name == "sqlite" and not conn.invalidated:
        conn.info.pop("guard_txn", None)
