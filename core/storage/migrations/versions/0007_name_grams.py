"""Name/kana search by fragments of any length, fast on both databases.

PostgreSQL: pg_trgm cannot serve 1-2 character fragments (a kanji surname, 山田), and
whatever serves them, an exact count of a common fragment (30,000-260,000 orders) is a
bitmap heap scan whose cost is the pages it visits. So the search keys live in a narrow
side table ``order_name_keys`` (order id and ``lower(name) || chr(1) || lower(kana)``, spaces
removed: ~120 rows a page, a quarter of the pages of ``orders``), kept by a trigger on
``orders``, with a GIN index over every 1-, 2- and 3-character substring of the keys
(``paidy_grams(keys, 1, 3)``). A fragment of up to 3 characters is one exact index key;
a longer one is the intersection of its 3-character keys, rechecked with ``strpos``.
The pg_trgm indexes on the name and kana (0001) are dropped: nothing reads them any more.

SQLite: the FTS5 trigram table ``orders_fts`` (0001) serves fragments of 3+ characters.
For 1-2 characters, ``orders_fts_short`` (FTS5, trigram, ``detail=none``) holds, per order,
every 1- and 2-character substring of the name and kana keys as separate "units" padded
with two U+0003 on each side: a 1-character fragment ``a`` is then exactly the trigram
``\\x03a\\x03`` and a 2-character fragment ``ab`` exactly ``\\x03ab`` (one index term, no
vocabulary walk, no scan). No trigram spans two units, so the indexed terms do not depend
on the order the units are listed in (the triggers' ``group_concat``), and the contentless
table's 'delete' always removes exactly what was inserted. ``orders_fts_positions`` (1..N)
enumerates character positions for the triggers (SQLite triggers cannot use a CTE); keys
longer than ``POSITIONS`` characters have their later short fragments unindexed.

Revision ID: 0007
Revises: 0002
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0010"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

NAME_KEY = "replace(replace({col}, ' ', ''), '\u3000', '')"  # as 0001 and search.name_key
POSITIONS = 1000  # longest name/kana key whose every 1-2 character fragment is indexed
PAD = "char(3, 3)"  # between units (SQLite)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgresql_upgrade()
    elif dialect == "sqlite":
        _sqlite_upgrade()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgresql_downgrade()
    elif dialect == "sqlite":
        _sqlite_downgrade()


# ------------------------------------------------------------------------------ PostgreSQL
PG_KEYS = (
    f"lower({NAME_KEY.format(col='{r}.customer_name')}) || chr(1) || "
    f"lower({NAME_KEY.format(col='{r}.customer_kana')})"
)


def _postgresql_upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION paidy_grams(s text, lo integer, hi integer) RETURNS text[]
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 500 AS $$
        DECLARE
            grams text[] := '{}';
            len integer := length(s);
        BEGIN
            FOR n IN lo..hi LOOP
                FOR i IN 1..len - n + 1 LOOP
                    grams := grams || substr(s, i, n);
                END LOOP;
            END LOOP;
            RETURN grams;
        END $$
        """
    )
    op.create_table(
        "order_name_keys",
        sa.Column("order_id", sa.Integer, nullable=False),
        sa.Column("keys", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_order_name_keys"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name="fk_order_name_keys_order_id_orders",
            ondelete="CASCADE",
        ),
    )
    # A count of a common fragment is a bitmap heap scan of this small table: starting
    # parallel workers for it costs more than they save (40 ms alone, 50 ms with two, at
    # 134,000 matches)
    op.execute("ALTER TABLE order_name_keys SET (parallel_workers = 0)")
    op.execute(
        f"""
        CREATE FUNCTION order_name_keys_sync() RETURNS trigger AS $$
        BEGIN
            INSERT INTO order_name_keys (order_id, keys) VALUES (NEW.id, {PG_KEYS.format(r="NEW")})
            ON CONFLICT (order_id) DO UPDATE SET keys = EXCLUDED.keys;
            RETURN NULL;
        END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER order_name_keys_sync AFTER INSERT OR UPDATE OF customer_name, "
        "customer_kana ON orders FOR EACH ROW EXECUTE FUNCTION order_name_keys_sync()"
    )
    op.execute(
        f"INSERT INTO order_name_keys (order_id, keys) SELECT o.id, {PG_KEYS.format(r='o')} "
        "FROM orders AS o"
    )
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(
        "CREATE INDEX ix_order_name_keys_grams ON order_name_keys "
        "USING gin (paidy_grams(keys, 1, 3))"
    )
    op.execute("ANALYZE order_name_keys")
    op.execute("DROP INDEX IF EXISTS ix_orders_name_key_trgm")
    op.execute("DROP INDEX IF EXISTS ix_orders_kana_key_trgm")


def _postgresql_downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS order_name_keys_sync ON orders")
    op.execute("DROP FUNCTION IF EXISTS order_name_keys_sync()")
    op.drop_table("order_name_keys")
    op.execute("DROP FUNCTION IF EXISTS paidy_grams(text, integer, integer)")
    has_trgm = (
        op.get_bind()
        .exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        .first()
    )
    if has_trgm:
        for name, col in (
            ("ix_orders_name_key_trgm", "customer_name"),
            ("ix_orders_kana_key_trgm", "customer_kana"),
        ):
            op.execute(
                f"CREATE INDEX {name} ON orders USING gin "
                f"(({NAME_KEY.format(col=col)}) gin_trgm_ops)"
            )


# ---------------------------------------------------------------------------------- SQLite
def _units(key: str) -> str:
    """Every 1- and 2-character substring of ``key`` as padded units (see the docstring)."""
    ones = (
        f"(SELECT group_concat(substr({key}, n, 1), {PAD}) FROM orders_fts_positions "
        f"WHERE n <= length({key}))"
    )
    twos = (
        f"(SELECT group_concat(substr({key}, n, 2), {PAD}) FROM orders_fts_positions "
        f"WHERE n < length({key}))"
    )
    return f"coalesce({ones}, '') || {PAD} || coalesce({twos}, '')"


def sqlite_short_doc(row: str) -> str:
    """The ``orders_fts_short.grams`` text of the order ``row`` (``new``, ``old``, ``o``)."""
    name = _units(NAME_KEY.format(col=f"{row}.customer_name"))
    kana = _units(NAME_KEY.format(col=f"{row}.customer_kana"))
    return f"{PAD} || {name} || {PAD} || {kana} || {PAD}"


def _sqlite_upgrade() -> None:
    bind = op.get_bind()
    has_fts = bind.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'orders_fts'"
    ).first()
    if not has_fts:  # no FTS5/trigram here (0001 logged it): short fragments scan
        return
    op.execute("CREATE TABLE orders_fts_positions (n INTEGER PRIMARY KEY)")
    op.execute(
        "INSERT INTO orders_fts_positions (n) WITH RECURSIVE p(n) AS "
        f"(SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < {POSITIONS}) SELECT n FROM p"
    )
    op.execute(
        "CREATE VIRTUAL TABLE orders_fts_short USING fts5("
        "grams, tokenize='trigram', content='', detail='none', columnsize=0)"
    )
    new, old = sqlite_short_doc("new"), sqlite_short_doc("old")
    op.execute(
        f"CREATE TRIGGER orders_fts_short_ai AFTER INSERT ON orders BEGIN "
        f"INSERT INTO orders_fts_short(rowid, grams) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER orders_fts_short_ad AFTER DELETE ON orders BEGIN "
        f"INSERT INTO orders_fts_short(orders_fts_short, rowid, grams) "
        f"VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER orders_fts_short_au AFTER UPDATE OF customer_name, customer_kana "
        f"ON orders BEGIN "
        f"INSERT INTO orders_fts_short(orders_fts_short, rowid, grams) "
        f"VALUES ('delete', old.id, {old}); "
        f"INSERT INTO orders_fts_short(rowid, grams) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"INSERT INTO orders_fts_short(rowid, grams) SELECT o.id, {sqlite_short_doc('o')} "
        "FROM orders AS o"
    )


def _sqlite_downgrade() -> None:
    for trigger in ("orders_fts_short_ai", "orders_fts_short_ad", "orders_fts_short_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS orders_fts_short")
    op.execute("DROP TABLE IF EXISTS orders_fts_positions")
