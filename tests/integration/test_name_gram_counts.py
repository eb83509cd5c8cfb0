"""PostgreSQL's count of short name fragments from ``name_gram_counts`` (migration 0011):
exact after any inserts, renames and deletes, folded or not, across concurrent
transactions, and actually used (no matching row is read)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, literal, select, text, update

from core.operations import batch
from core.search import OrderQuery, count_orders
from core.search.counting import count_select
from core.search.gram_counts import GC, fold, fold_counts, gram_count
from core.storage.db import Database, get_database
from core.storage.models import Order
from tests.fixtures_db import truncate_all
from tests.integration.test_workers_survive import wait_for

NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
ALPHABET = "山田ヤマダやまAaａ 　"  # kanji, katakana, its hiragana, case, width, spaces
FRAGMENTS = ["山", "田", "ヤ", "や", "ま", "マ", "やま", "ヤマ", "山田", "a", "A", "ａ", "Aa", "ダ"]


@pytest.fixture
def pg(pg_url: str) -> Database:
    database = get_database(pg_url)
    truncate_all(database)
    return database


def add(db: Database, no: int, name: str, kana: str = "") -> None:
    with db.engine.begin() as conn:
        conn.execute(insert(Order).values(**_row(no, name, kana)))


def _row(no: int, name: str, kana: str) -> dict:
    return dict(order_no=no, ordered_at=NOW, updated_at=NOW, customer_name=name,
                customer_kana=kana, payment_method="paidy", created_at=NOW)  # fmt: skip


def by_gram_table(db: Database, fragment: str) -> int:
    """The count the orders screen shows for a name fragment alone."""
    return count_orders(db, OrderQuery(name=fragment), now=NOW)


def by_scan(db: Database, fragment: str) -> int:
    """The same count through the join path (another condition: no counting shortcut)."""
    return count_orders(db, OrderQuery(name=fragment, amount_min=0), now=NOW)


def rows_of(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(GC)).scalar_one())


names = st.text(alphabet=ALPHABET, min_size=0, max_size=6)
steps = st.lists(
    st.tuples(st.sampled_from(["add", "rename", "delete", "fold"]), names, names),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_short_fragment_counts_equal_a_scan_after_any_edits(pg, steps):
    """Random inserts, renames, deletes and folds: every 1-2 character fragment (kanji,
    katakana, hiragana that also finds katakana, upper/lower/full-width letters) counts what
    a scan of the orders counts."""
    truncate_all(pg)
    live: list[int] = []
    for i, (op, name, kana) in enumerate(steps):
        if op == "add" or not live:
            add(pg, 1000 + i, name, kana)
            live.append(1000 + i)
        elif op == "rename":
            with pg.engine.begin() as conn:
                conn.execute(
                    update(Order)
                    .where(Order.order_no == live[i % len(live)])
                    .values(customer_name=name, customer_kana=kana)
                )
        elif op == "delete":
            with pg.engine.begin() as conn:
                conn.execute(delete(Order).where(Order.order_no == live.pop(i % len(live))))
        else:
            fold_counts(pg)
    for fragment in FRAGMENTS:
        assert by_gram_table(pg, fragment) == by_scan(pg, fragment), fragment


def test_a_count_reads_the_gram_table_not_the_matching_rows(pg):
    """The plan of a 1- or 2-character count reads name_gram_counts and no matching
    order_name_keys row (it used to be a bitmap heap scan of every match, as a 3-character
    count still is)."""
    for n in range(30):
        add(pg, n + 1, "山田 花子", "ヤマダ ハナコ")
    for fragment in ("ヤ", "山田", "やま", "ヤマダ"):
        stmt = count_select(pg, OrderQuery(name=fragment), now=NOW)
        sql = str(stmt.compile(pg.engine, compile_kwargs={"literal_binds": True}))
        with pg.engine.connect() as conn:
            plan = list(
                conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql)).scalars()
            )
        read_matches = any("on order_name_keys" in line and "rows=30" in line for line in plan)
        uses_grams = any("on name_gram_counts" in line for line in plan)
        assert (uses_grams, read_matches) == (
            (True, False) if len(fragment) <= 2 else (False, True)
        ), plan
        assert by_gram_table(pg, fragment) == 30


def test_folding_keeps_what_an_open_transaction_appends(pg):
    """A fold running while another transaction has appended (not yet committed) deltas
    neither loses nor double-counts them; a reader's snapshot keeps its count."""
    add(pg, 1, "山田", "ヤマダ")
    add(pg, 2, "山本", "ヤマモト")
    writer = pg.engine.connect()
    reader = pg.engine.connect().execution_options(isolation_level="REPEATABLE READ")
    try:
        writer.begin()
        writer.execute(insert(Order).values(**_row(3, "山川", "ヤマカワ")))
        reader.begin()
        assert reader.execute(count_select(pg, OrderQuery(name="山"), now=NOW)).scalar_one() == 2
        assert fold_counts(pg) > 0  # folds the committed rows, not the open ones
        writer.commit()
        assert fold_counts(pg) > 0  # the writer's rows, now visible
        assert reader.execute(count_select(pg, OrderQuery(name="山"), now=NOW)).scalar_one() == 2
        reader.rollback()
    finally:
        writer.close()
        reader.close()
    assert by_gram_table(pg, "山") == by_scan(pg, "山") == 3
    assert by_gram_table(pg, "ヤマ") == 3 and by_gram_table(pg, "モ") == 1
    with pg.engine.connect() as conn:
        per_gram = conn.execute(select(GC.c.gram, func.count()).group_by(GC.c.gram)).all()
    assert per_gram and all(n == 1 for _, n in per_gram)  # one row per gram once folded


def test_a_term_longer_than_counted_is_answered_by_the_fallback(pg):
    """The CASE decides by the database's own lower(): a term longer than two characters
    is never looked up in the gram table."""
    stmt = gram_count(["abc"], fallback=select(literal(42)))
    with pg.engine.connect() as conn:
        assert conn.execute(stmt).scalar_one() == 42
        assert conn.execute(gram_count(["a"], fallback=select(literal(42)))).scalar_one() == 0


def test_each_order_appends_deltas_and_a_fold_leaves_one_row_per_gram(pg):
    for n in range(20):
        add(pg, n + 1, "山田", "ヤマダ")
    assert rows_of(pg) > 20 * 4  # deltas: one row per gram per order
    with pg.engine.begin() as conn:
        folded = fold(conn)
    assert folded > 0 and rows_of(pg) == len({"山", "田", "山田", "ヤ", "マ", "ダ", "ヤマ", "マダ"})
    assert by_gram_table(pg, "マダ") == 20


def test_the_pool_housekeeping_folds(ops, world):
    if ops.db.dialect != "postgresql":
        pytest.skip("SQLite keeps no gram counts")
    world.order()
    world.order()
    assert unfolded(ops.db) > 0
    pool = batch.WorkerPool(ops, name="folder", poll_s=0.05, maintenance_s=0.05).start()
    try:
        assert wait_for(lambda: unfolded(ops.db) == 0)
    finally:
        assert pool.stop(timeout=10)


def unfolded(db: Database) -> int:
    """Rows beyond one per gram (0 once folded)."""
    with db.engine.connect() as conn:
        rows, grams = conn.execute(select(func.count(), func.count(GC.c.gram.distinct()))).one()
    return rows - grams
