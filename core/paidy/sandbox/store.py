"""Payment state in SQLite: one JSON row per payment, every access under one lock.

`path=None` uses SQLite's private temporary database (""): it lives in memory up to the
page cache and spills to a temp file that is deleted on close, so 800,000 payments do not
sit in RAM. Pass ":memory:" for a purely in-memory database, or a file name to persist.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    created_seq INTEGER NOT NULL,
    original_amount INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_seq ON payments (created_seq);
"""

Change = Callable[[dict, int], dict]  # (payment, original_amount) -> new payment


class DuplicatePayment(Exception):
    """A payment id that is already stored."""


def dumps(payment: dict) -> str:
    return json.dumps(payment, ensure_ascii=False, separators=(",", ":"))


def connect(path: str | None) -> sqlite3.Connection:
    conn = sqlite3.connect(
        "" if path is None else path, check_same_thread=False, isolation_level=None
    )
    if path not in (None, "", ":memory:"):
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    return conn


class PaymentStore:
    """Thread-safe payment rows; each method is one atomic step."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = connect(path)
        self._seq = self._conn.execute(
            "SELECT COALESCE(MAX(created_seq), 0) FROM payments"
        ).fetchone()[0]

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def get(self, payment_id: str) -> dict | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM payments WHERE id = ?", (payment_id,)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def exists(self, payment_id: str) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM payments WHERE id = ?", (payment_id,))
            return row.fetchone() is not None

    def original_amount(self, payment_id: str) -> int | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT original_amount FROM payments WHERE id = ?", (payment_id,)
            ).fetchone()
        return None if row is None else row[0]

    def insert(self, payment: dict, original_amount: int) -> None:
        """Store a new payment; DuplicatePayment if its id exists."""
        self.insert_many([(payment, original_amount)])

    def insert_many(self, rows: Iterable[tuple[dict, int]]) -> int:
        """Store new payments in one transaction (all or none); returns how many."""
        with self._lock:
            start = self._seq
            params = ((p["id"], self._next_seq(), original, dumps(p)) for p, original in rows)
            try:
                self._conn.execute("BEGIN")
                self._conn.executemany(
                    "INSERT INTO payments (id, created_seq, original_amount, body) "
                    "VALUES (?, ?, ?, ?)",
                    params,
                )
                self._conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                self._rollback(start)
                raise DuplicatePayment(str(exc)) from exc
            except BaseException:
                self._rollback(start)
                raise
            return self._seq - start

    def _rollback(self, seq: int) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._seq = seq

    def mutate(self, payment_id: str, change: Change) -> dict | None:
        """Load, change and save one payment atomically; None if it does not exist.

        Exceptions raised by `change` leave the row untouched.
        """
        with self._lock:
            row = self._conn.execute(
                "SELECT body, original_amount FROM payments WHERE id = ?", (payment_id,)
            ).fetchone()
            if row is None:
                return None
            payment = change(json.loads(row[0]), row[1])
            self._conn.execute(
                "UPDATE payments SET body = ? WHERE id = ?", (dumps(payment), payment_id)
            )
            return payment

    def page(self, limit: int, offset: int) -> list[dict]:
        """Payments in creation order; only `limit` rows are loaded."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM payments ORDER BY created_seq LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM payments").fetchone()[0]

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM payments")
            self._seq = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()
