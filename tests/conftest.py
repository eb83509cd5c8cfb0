"""Shared test setup. Fixture modules: tests/fixtures_db.py (the ``db`` fixture, SQLite and
PostgreSQL), tests/fixtures_sandbox.py (a real sandbox over a socket), tests/fixtures_ops.py
(the service layer wired to both)."""

import os
from importlib.util import find_spec

# No test may ever reach the real Paidy or read a developer's .env key.
os.environ.pop("PAIDY_SECRET_KEY", None)
os.environ.setdefault("PAIDY_API_BASE", "http://127.0.0.1:9")

pytest_plugins = [
    name
    for name in ("tests.fixtures_db", "tests.fixtures_sandbox", "tests.fixtures_ops")
    if find_spec(name) is not None
]
