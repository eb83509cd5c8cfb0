"""Migrations: from empty to head on both databases, idempotent, safe from two processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from core.storage.db import (
    alembic_config,
    current_revision,
    dispose_database,
    get_database,
    upgrade,
)
from core.storage.models import Base

ROOT = Path(__file__).resolve().parents[2]


def _head(db) -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def _check_schema(db) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert current_revision(db) == _head(db)
    for name, table in Base.metadata.tables.items():
        cols = {c["name"] for c in inspect(db.engine).get_columns(name)}
        assert {c.name for c in table.columns} == cols, name


def test_upgrade_from_empty_and_twice_is_a_no_op(db):
    _check_schema(db)  # the fixture migrated it from empty
    upgrade(db)
    upgrade(db)
    _check_schema(db)


def test_search_indexes_exist(db):
    if db.dialect == "sqlite":
        with db.engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM sqlite_master")).scalars().all()
        assert {"orders_fts", "orders_fts_ai", "orders_fts_ad", "orders_fts_au"} <= set(names)
        assert {"orders_fts_short", "orders_fts_short_ai", "orders_fts_short_ad"} <= set(names)
    else:
        with db.engine.connect() as conn:
            names = conn.execute(text("SELECT indexname FROM pg_indexes")).scalars().all()
        assert {"ix_order_name_keys_grams", "ix_orders_email_trgm"} <= set(names)
        assert "ix_orders_name_key_trgm" not in names  # 0007: names go through order_name_keys
    idx = {i["name"] for i in inspect(db.engine).get_indexes("orders")}
    assert {"ix_orders_ordered_at_order_no", "ix_orders_status_ordered_at"} <= idx


SCRIPT = "import sys; from core.storage.db import get_database, upgrade; upgrade(get_database(sys.argv[1]))"


def _upgrade_in_two_processes(url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", SCRIPT, url], cwd=ROOT, env=env,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err


def test_two_processes_upgrade_a_fresh_sqlite_file_at_once(tmp_path):
    url = f"sqlite:///{tmp_path}/fresh.db"
    _upgrade_in_two_processes(url)
    db = get_database(url)
    try:
        _check_schema(db)
    finally:
        dispose_database(url)


def test_two_processes_upgrade_a_fresh_postgresql_database_at_once(pg_url):
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        _upgrade_in_two_processes(url)
        _check_schema(get_database(url))
    finally:
        dispose_database(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_unreachable_database_is_a_clear_error(tmp_path):
    from core.storage.db import DatabaseError

    url = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
    with pytest.raises(DatabaseError) as info:
        upgrade(get_database(url))
    assert "DATABASE_URL" in info.value.message("ja")
    dispose_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """A new, empty database (not migrated): a SQLite file or a PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/fresh.db"
        yield url
        dispose_database(url)
        return
    base = request.getfixturevalue("pg_url")
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_database(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_0007_indexes_the_names_of_existing_orders_and_downgrades_cleanly(fresh_url):
    """Orders stored before 0007 are found by 1-2 character fragments after it (the
    structures are filled from the table), and downgrading removes them again."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import insert

    from core.search import OrderQuery, count_orders
    from core.storage.models import Order
    from core.timeutil import utcnow

    db = get_database(fresh_url)
    cfg = alembic_config(db)
    before = ScriptDirectory.from_config(cfg).get_revision("0007").down_revision
    upgrade(db, before)
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(
            insert(Order),
            [dict(order_no=n, ordered_at=now, updated_at=now, customer_name=name,
                  customer_kana=kana, payment_method="paidy", created_at=now)
             for n, name, kana in ((1, "山田 花子", "ヤマダ ハナコ"), (2, "林", "ハヤシ"))],
        )  # fmt: skip
    upgrade(db)
    found = {f: count_orders(db, OrderQuery(name=f), now=now) for f in ("山", "林", "ハ", "ダハ")}
    assert found == {"山": 1, "林": 1, "ハ": 2, "ダハ": 1}
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, before)
    names = set(inspect(db.engine).get_table_names())
    assert not names & {"order_name_keys", "orders_fts_short", "orders_fts_positions"}
    upgrade(db)
    assert count_orders(db, OrderQuery(name="ハ"), now=now) == 2
