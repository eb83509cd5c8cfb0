"""Pytest plugin: migrated databases for tests, on SQLite and PostgreSQL.

- ``db``: parametrised ``sqlite`` / ``postgresql``. SQLite is a fresh file per test (a copy
  of a template migrated once per session). PostgreSQL uses ``TEST_DATABASE_URL`` (skipped
  when unset, an error when set but unreachable): one uniquely named database per test
  session (``test_<random>``, dropped at the end, so parallel runs never meet), migrated
  once, and truncated before each test.
- ``db_sqlite``: SQLite only.
- ``pg_url`` / ``sqlite_template``: the session-level pieces, for tests that need a URL.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.storage.db import Database, dispose_database, get_database, upgrade

PG_ENV = "TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests copy it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(get_database(url))
    dispose_database(url)  # checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A private, migrated PostgreSQL database for this session (URL)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # set but unreachable: fail loudly, never skip
        admin.dispose()
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc}", pytrace=False)
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(get_database(url))
        yield url
    finally:
        dispose_database(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def truncate_all(db: Database) -> None:
    """Empty every table but alembic_version and restart identities (PostgreSQL)."""
    with db.engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        if names:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _sqlite_db(template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / f"db-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    try:
        yield get_database(url)
    finally:
        dispose_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: SQLite file, then PostgreSQL (if TEST_DATABASE_URL)."""
    if request.param == "sqlite":
        yield from _sqlite_db(sqlite_template, tmp_path)
        return
    url = request.getfixturevalue("pg_url")
    database = get_database(url)
    truncate_all(database)
    yield database


@pytest.fixture
def db_sqlite(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty SQLite database file."""
    yield from _sqlite_db(sqlite_template, tmp_path)
