"""Engine and session factory: one :class:`Database` per URL per process.

SQLite gets WAL, a 30 s busy timeout and foreign keys on every connection. Its transactions
are started by us (``BEGIN``, or ``BEGIN IMMEDIATE`` for ``db.session(immediate=True)``)
instead of by the sqlite3 module, so a read-then-write transaction can take the write lock
up front (SQLite's write lock taken at BEGIN, see docs/architecture.md) and DDL is transactional.

``upgrade(db)`` runs the Alembic migrations to head under a cross-process lock (a
PostgreSQL advisory lock, or SQLite's write lock), so every app or CLI start may call it,
two at a time too.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, CursorResult, Result, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from core.bilingual import BilingualError
from core.settings import get_settings

SessionFactory = sessionmaker[Session]  # the field below is named sessionmaker too

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x5041494459  # pg_advisory_xact_lock key: "PAIDY"
SQLITE_BEGIN = "sqlite_begin"  # execution option: "" (deferred) or "IMMEDIATE"


class DatabaseError(BilingualError):
    """The database cannot be opened or migrated; carries ja/en messages."""


@dataclass(eq=False)
class Database:
    """An engine plus its session factory. Get one with :func:`get_database`."""

    url: str
    engine: Engine
    sessionmaker: SessionFactory
    _immediate_engine: Engine = field(repr=False)
    _immediate: SessionFactory = field(repr=False)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, immediate: bool = False) -> Iterator[Session]:
        """A session that commits on success and rolls back on error.

        ``immediate=True`` takes SQLite's write lock when the transaction starts (other
        writers wait up to the busy timeout); on PostgreSQL it changes nothing (use row
        locks there). A transaction that reads and then writes must be immediate: a
        deferred one whose snapshot another writer overtook between the read and the write
        fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT: no busy wait).
        """
        factory = self._immediate if immediate else self.sessionmaker
        with factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def connect(self, *, immediate: bool = False) -> Iterator[Connection]:
        """A Core connection in a transaction (commit on success), for bulk work."""
        engine = self._immediate_engine if immediate else self.engine
        with engine.begin() as conn:
            yield conn


_lock = threading.Lock()
_databases: dict[str, Database] = {}


def get_database(url: str | None = None) -> Database:
    """The process-wide :class:`Database` for ``url`` (default: settings' DATABASE_URL)."""
    url = url or get_settings().database_url
    with _lock:
        db = _databases.get(url)
        if db is None:
            db = _databases[url] = _open(url)
        return db


def dispose_database(url: str) -> None:
    """Close the pool of one URL and forget it (tests, file removal)."""
    with _lock:
        db = _databases.pop(url, None)
    if db is not None:
        db.engine.dispose()


def dispose_all() -> None:
    """Close every pool and forget every Database (tests)."""
    with _lock:
        dbs = list(_databases.values())
        _databases.clear()
    for db in dbs:
        db.engine.dispose()


def _open(url: str) -> Database:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
    else:
        kwargs: dict[str, int] = {}
        if parsed.get_backend_name() == "postgresql":
            kwargs.update(pool_size=10, max_overflow=10)
        engine = create_engine(url, **kwargs)
        ping_when_idle(engine)
    immediate_engine = engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
    return Database(
        url=url,
        engine=engine,
        sessionmaker=sessionmaker(engine, expire_on_commit=False),
        _immediate_engine=immediate_engine,
        _immediate=sessionmaker(immediate_engine, expire_on_commit=False),
    )


IDLE_PING_S = 10.0  # a pooled connection idle longer than this is tested before use


def ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling without a round trip per transaction.

    ``pool_pre_ping`` tests every checkout with a query: a round trip (and, under batch
    load, CPU) per transaction; +13 % wall time on a PostgreSQL batch at concurrency 8.
    Here a connection is tested only when there is a reason: it sat idle longer than
    IDLE_PING_S (a silent network cut), or its socket has something to read although no
    query is running, which on an idle PostgreSQL connection means the server closed it
    (terminated backend, server restart: the goodbye message or EOF is waiting; checking
    is one non-blocking ``select``). A failed test makes the pool replace the connection
    (SQLAlchemy's documented ``DisconnectionError`` on checkout) before anyone uses it."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy) -> None:
        idle = time.monotonic() - record.info.get("checked_in", 0.0) >= IDLE_PING_S
        if not idle and not _has_input(dbapi_conn):
            return
        try:
            with closing(dbapi_conn.cursor()) as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:
            raise DisconnectionError(str(exc)) from exc


def _has_input(dbapi_conn) -> bool:
    try:
        readable, _, _ = select.select([dbapi_conn.fileno()], [], [], 0)
    except (OSError, ValueError, AttributeError):
        return True  # closed or unknown: let the test query decide
    return bool(readable)


def rows_affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched. ``Session.execute`` returns a
    CursorResult for those, typed as the general Result."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount


def _is_memory(database: str | None) -> bool:
    return not database or database == ":memory:" or database.startswith("file::memory:")


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if database is None or _is_memory(database):
        kwargs["poolclass"] = StaticPool  # one shared in-memory database for all threads
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        if not _is_memory(database):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA cache_size=-32768")  # 32 MB page cache per connection
            cursor.execute("PRAGMA mmap_size=268435456")  # read through the OS cache, no copies
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


# ------------------------------------------------------------------------------ migrations
def alembic_config(db: Database):
    """An Alembic Config built in code (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Migrate to ``revision``; a no-op when already there. Safe from concurrent processes."""
    from alembic import command

    cfg = alembic_config(db)
    engine = db.engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
    try:
        with engine.connect() as conn, conn.begin():
            if db.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except Exception as exc:
        raise DatabaseError(
            f"データベースを準備できませんでした({type(exc).__name__}: {exc})。DATABASE_URL と接続先を確認してください。",
            f"Could not prepare the database ({type(exc).__name__}: {exc}). Check DATABASE_URL and that the server is reachable.",
        ) from exc


def current_revision(db: Database) -> str | None:
    """The revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
