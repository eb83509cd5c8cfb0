"""PostgreSQL: how many orders hold each 1- and 2-character fragment of their name keys.

A short fragment (ヤ, 山, やま) matches 130,000-260,000 of 1,000,000 orders; counting them
through the GIN index of 0007 is a bitmap heap scan of every matching row (30-44 ms)
although the answer needs no row. ``name_gram_counts`` holds, per 1- or 2-character
fragment ("gram"), how many ``order_name_keys`` rows contain it, as rows of deltas: a
trigger on ``order_name_keys`` appends +1 for each distinct gram of a new key and -1 for
each of an old one, in the same transaction as the order, so every snapshot sums to the
exact count a scan would see in it. Deltas are only appended, never updated: concurrent
order inserts never wait on one another (one counter row per gram would be a hot row
that every insert locks). ``paidy_fold_name_gram_counts()`` folds each gram's deltas into
one row (core/search/gram_counts.py: the worker pool's housekeeping, demo seeding); a
count is the SUM of a gram's rows, the same before and after folding.

SQLite needs nothing: its FTS5 tables count a short fragment in 1-6 ms.

Revision ID: 0011
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0007"
branch_labels = None
depends_on = None

COUNTED_MAX = 2  # grams of 1..COUNTED_MAX characters are counted (core/search/gram_counts.py)
# the distinct grams of a name key; none spans chr(1), the name | kana separator
GRAMS = (
    "SELECT DISTINCT g FROM unnest(paidy_grams({keys}, 1, %d)) AS g WHERE strpos(g, chr(1)) = 0"
    % COUNTED_MAX
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE name_gram_counts (gram text NOT NULL, n bigint NOT NULL)")
    op.execute("CREATE INDEX ix_name_gram_counts_gram ON name_gram_counts (gram) INCLUDE (n)")
    op.execute(
        f"""
        CREATE FUNCTION name_gram_counts_delta() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND OLD.keys IS NOT DISTINCT FROM NEW.keys THEN
                RETURN NULL;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO name_gram_counts (gram, n)
                SELECT g, -1 FROM ({GRAMS.format(keys="OLD.keys")}) AS old_grams;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                INSERT INTO name_gram_counts (gram, n)
                SELECT g, 1 FROM ({GRAMS.format(keys="NEW.keys")}) AS new_grams;
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER name_gram_counts_delta AFTER INSERT OR UPDATE OR DELETE "
        "ON order_name_keys FOR EACH ROW EXECUTE FUNCTION name_gram_counts_delta()"
    )
    # Folding: the rows of grams with more than one row are deleted and their sum written
    # back, in one statement. Rows appended by transactions it cannot see are neither
    # deleted nor summed; a concurrent fold skips the rows this one deleted.
    op.execute(
        """
        CREATE FUNCTION paidy_fold_name_gram_counts() RETURNS bigint AS $$
            WITH many AS (
                SELECT gram FROM name_gram_counts GROUP BY gram HAVING count(*) > 1
            ), gone AS (
                DELETE FROM name_gram_counts AS d USING many WHERE d.gram = many.gram
                RETURNING d.gram, d.n
            ), folded AS (
                INSERT INTO name_gram_counts (gram, n)
                SELECT gram, sum(n) FROM gone GROUP BY gram HAVING sum(n) <> 0
            )
            SELECT count(*) FROM gone
        $$ LANGUAGE sql
        """
    )
    op.execute(
        "INSERT INTO name_gram_counts (gram, n) SELECT grams.g, count(*) "
        f"FROM order_name_keys AS k CROSS JOIN LATERAL ({GRAMS.format(keys='k.keys')}) AS grams "
        "GROUP BY grams.g"
    )
    op.execute("ANALYZE name_gram_counts")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS name_gram_counts_delta ON order_name_keys")
    op.execute("DROP FUNCTION IF EXISTS name_gram_counts_delta()")
    op.execute("DROP FUNCTION IF EXISTS paidy_fold_name_gram_counts()")
    op.execute("DROP TABLE IF EXISTS name_gram_counts")
