"""Engine/session factory, the models' rules (aware UTC times, cascades, status), on both DBs."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from core.storage.db import dispose_database, get_database
from core.storage.models import Order, OrderItem, PaidyPayment
from core.timeutil import JST

T0 = datetime(2025, 6, 1, 9, 30, tzinfo=JST)


def make_order(order_no: int = 1, **kw) -> Order:
    fields = dict(
        order_no=order_no,
        ordered_at=T0,
        customer_name="山田 太郎",
        customer_kana="ヤマダ タロウ",
        payment_method="paidy",
        total=1380,
    )
    return Order(**{**fields, **kw})


def test_one_database_per_url_and_sqlite_folder_created(tmp_path):
    url = f"sqlite:///{tmp_path}/nested/dir/app.db"
    db = get_database(url)
    try:
        assert get_database(url) is db
        assert db.dialect == "sqlite" and db.url == url
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert (tmp_path / "nested" / "dir" / "app.db").exists()
    finally:
        dispose_database(url)
    assert get_database(url) is not db
    dispose_database(url)


def test_sqlite_pragmas(db_sqlite):
    with db_sqlite.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_immediate_session_takes_the_sqlite_write_lock(db_sqlite):
    path = db_sqlite.engine.url.database
    with db_sqlite.session(immediate=True) as session:
        session.execute(select(1))
        other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()


def test_session_commits_on_success_and_rolls_back_on_error(db):
    with db.session() as session:
        session.add(make_order(1))
    with pytest.raises(RuntimeError), db.session() as session:
        session.add(make_order(2))
        session.flush()
        raise RuntimeError("boom")
    with db.session() as session:
        assert session.scalars(select(Order.order_no)).all() == [1]


def test_times_come_back_aware_utc_on_both_databases(db):
    with db.session() as session:
        order = make_order(1, shipped_at=T0 + timedelta(days=1))
        session.add(order)
    with db.session() as session:
        back = session.scalars(select(Order)).one()
        assert back.ordered_at == T0 and back.ordered_at.tzinfo is not None
        assert back.ordered_at.utcoffset() == timedelta(0)
        assert back.shipped_at == T0 + timedelta(days=1)
        assert back.created_at.tzinfo is not None and back.updated_at.tzinfo is not None
        # comparisons in SQL use UTC too
        n = session.scalar(
            select(func.count()).where(Order.ordered_at >= datetime(2025, 6, 1, 0, 30, tzinfo=UTC))
        )
        assert n == 1


def test_items_cascade_and_payment_survives_its_order(db):
    with db.session() as session:
        order = make_order(1)
        order.items = [
            OrderItem(position=2, product_name="B", unit_price=200, quantity=1),
            OrderItem(position=1, product_name="A", unit_price=100, quantity=2),
        ]
        order.payment = PaidyPayment(
            payment_id="pay_abc", status=" Authorized ", amount=1380, authorized_amount=1380
        )
        session.add(order)
    with db.session() as session:
        order = session.scalars(select(Order)).one()
        assert [i.product_name for i in order.items] == ["A", "B"]
        assert order.payment.status == "authorized"  # stored stripped and lowercased
        assert order.payment.test is False and order.payment.version == 0
        session.delete(order)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderItem)) == 0
        payment = session.scalars(select(PaidyPayment)).one()
        assert payment.order_id is None


def test_core_delete_cascades_in_the_database(db):
    with db.session() as session:
        order = make_order(1)
        order.items = [OrderItem(position=1, product_name="A", unit_price=100, quantity=1)]
        session.add(order)
    with db.engine.begin() as conn:
        conn.execute(Order.__table__.delete())
        assert conn.execute(select(func.count()).select_from(OrderItem.__table__)).scalar() == 0


def test_a_connection_cut_while_idle_is_replaced_before_use(pg_url, monkeypatch):
    """No pool_pre_ping on every checkout (a round trip per transaction): a connection that
    sat idle is tested before use, so one the server dropped (restart, network cut) is
    replaced instead of failing the operator's action."""
    from sqlalchemy import create_engine, text

    from core.storage import db as storage_db

    database = get_database(pg_url)
    with database.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        admin.dispose()
    monkeypatch.setattr(storage_db, "IDLE_PING_S", 0.0)  # it has been idle "long enough"
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
