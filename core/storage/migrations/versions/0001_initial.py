"""Initial schema: orders, items, Paidy snapshots, audit log, batch jobs, settings, users.

``paidy_payments.order_total`` is a trigger-maintained copy of ``orders.total`` so that the
guide's discrepancy rule is a single-table predicate with a partial index (fast at 1,000,000
orders); nothing writes it but the triggers.

Partial-match search on customer name / kana / email (see core/search/text_match.py):
- PostgreSQL: pg_trgm GIN indexes on the space-stripped name and kana and on email.
- SQLite: an FTS5 trigram table ``orders_fts`` (contentless) kept in step by triggers, and
  its vocabulary ``orders_fts_vocab`` (for 1-2 character fragments).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
NOW = sa.func.now()

# money.discrepancy() != NONE over paidy_payments alone (order_total mirrors orders.total).
# search.discrepancy_condition() renders the same expression so the partial index serves it.
DISCREPANCY = (
    "captured_amount > 0 AND order_total <> captured_amount - refunded_amount "
    "OR captured_amount <= 0 AND status = 'authorized' AND order_total <> amount"
)

# The search key of a name: spaces (half and full width) removed. search.py builds the same.
NAME_KEY = "replace(replace({col}, ' ', ''), '\u3000', '')"


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_no", sa.Integer, nullable=False),
        sa.Column("ordered_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("customer_kana", sa.String(200), nullable=False, server_default=""),
        sa.Column("email", sa.String(254), nullable=False, server_default=""),
        sa.Column("phone", sa.String(40), nullable=False, server_default=""),
        sa.Column("birth_date", sa.Date, nullable=True),
        sa.Column("gender", sa.String(16), nullable=True),
        sa.Column("zip", sa.String(16), nullable=False, server_default=""),
        sa.Column("prefecture", sa.String(16), nullable=False, server_default=""),
        sa.Column("address1", sa.String(300), nullable=False, server_default=""),
        sa.Column("address2", sa.String(300), nullable=False, server_default=""),
        sa.Column("payment_method", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, server_default="new"),
        sa.Column("payment_status", sa.String(16), nullable=False, server_default="unpaid"),
        sa.Column("shipped_at", TS, nullable=True),
        sa.Column("subtotal", sa.Integer, nullable=False, server_default="0"),
        sa.Column("shipping_fee", sa.Integer, nullable=False, server_default="0"),
        sa.Column("tax", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("order_no", name="uq_orders_order_no"),
    )
    for name, cols in {
        "ix_orders_ordered_at_order_no": ["ordered_at", "order_no"],
        "ix_orders_updated_at_order_no": ["updated_at", "order_no"],
        "ix_orders_total_order_no": ["total", "order_no"],
        "ix_orders_customer_kana_order_no": ["customer_kana", "order_no"],
        "ix_orders_status_ordered_at": ["status", "ordered_at", "order_no"],
        "ix_orders_payment_method_ordered_at": ["payment_method", "ordered_at"],
        "ix_orders_email": ["email"],
        "ix_orders_birth_date": ["birth_date"],
        "ix_orders_gender": ["gender"],
    }.items():
        op.create_index(name, "orders", cols)

    op.create_table(
        "order_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("product_code", sa.String(64), nullable=False, server_default=""),
        sa.Column("product_name", sa.String(300), nullable=False),
        sa.Column("unit_price", sa.Integer, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id", name="pk_order_items"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name="fk_order_items_order_id_orders",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_order_items_order_id_position", "order_items", ["order_id", "position"])

    op.create_table(
        "paidy_payments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, nullable=True),
        sa.Column("payment_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("authorized_amount", sa.Integer, nullable=False),
        sa.Column("captured_amount", sa.Integer, nullable=False, server_default="0"),
        sa.Column("refunded_amount", sa.Integer, nullable=False, server_default="0"),
        sa.Column("capture_id", sa.String(64), nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("paidy_created_at", TS, nullable=True),
        sa.Column("test", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("raw_json", JSON, nullable=True),
        sa.Column("last_synced_at", TS, nullable=True),
        sa.Column("last_result", sa.Text, nullable=True),
        sa.Column("last_result_at", TS, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("order_total", sa.Integer, nullable=True),  # copy of orders.total (triggers)
        sa.PrimaryKeyConstraint("id", name="pk_paidy_payments"),
        sa.UniqueConstraint("order_id", name="uq_paidy_payments_order_id"),
        sa.UniqueConstraint("payment_id", name="uq_paidy_payments_payment_id"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name="fk_paidy_payments_order_id_orders",
            ondelete="SET NULL",
        ),
    )
    op.create_index(
        "ix_paidy_payments_status_expires_at",
        "paidy_payments",
        ["status", "expires_at", "captured_amount", "refunded_amount", "order_id"],
    )
    op.execute(
        "CREATE INDEX ix_paidy_payments_discrepancy ON paidy_payments (order_id) "
        f"WHERE {DISCREPANCY}"
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("order_id", sa.Integer, nullable=True),
        sa.Column("order_no", sa.Integer, nullable=True),
        sa.Column("payment_id", sa.String(64), nullable=True),
        sa.Column("amount", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("paidy_code", sa.String(200), nullable=True),
        sa.Column("paidy_title", sa.Text, nullable=True),
        sa.Column("paidy_description", sa.Text, nullable=True),
        sa.Column("paidy_reference", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(200), nullable=True),
        sa.Column("job_id", sa.Integer, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("detail", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index(
        "ix_audit_log_payment_id_created_at", "audit_log", ["payment_id", "created_at"]
    )
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_index("ix_audit_log_outcome", "audit_log", ["outcome"])
    op.create_index("ix_audit_log_order_id_created_at", "audit_log", ["order_id", "created_at"])
    op.create_index("ix_audit_log_job_id", "audit_log", ["job_id"])

    op.create_table(
        "inflight_actions",
        sa.Column("payment_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("audit_id", sa.Integer, nullable=True),
        sa.Column("started_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("payment_id", name="pk_inflight_actions"),
    )

    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("options", JSON, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_batch_jobs"),
    )
    op.create_index("ix_batch_jobs_status", "batch_jobs", ["status"])

    op.create_table(
        "batch_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("order_id", sa.Integer, nullable=True),
        sa.Column("order_no", sa.Integer, nullable=True),
        sa.Column("payment_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("audit_id", sa.Integer, nullable=True),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_batch_items"),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_jobs.id"],
            name="fk_batch_items_job_id_batch_jobs",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_batch_items_job_id_status", "batch_items", ["job_id", "status"])
    op.create_index("ix_batch_items_status", "batch_items", ["status"])
    op.create_index("ix_batch_items_job_id_position", "batch_items", ["job_id", "position"])

    op.create_table(
        "csv_column_sets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("id", name="pk_csv_column_sets"),
        sa.UniqueConstraint("name", name="uq_csv_column_sets_name"),
    )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("role", sa.String(16), nullable=False, server_default="viewer"),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("last_login_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgresql_order_total()
        _postgresql_trigram()
    elif dialect == "sqlite":
        _sqlite_order_total()
        _sqlite_fts()


def _sqlite_order_total() -> None:
    """paidy_payments.order_total follows orders.total (insert, relink, order edit)."""
    copy = (
        "UPDATE paidy_payments SET order_total = "
        "(SELECT total FROM orders WHERE id = NEW.order_id) WHERE id = NEW.id;"
    )
    op.execute(
        f"CREATE TRIGGER paidy_payments_order_total_ai AFTER INSERT ON paidy_payments "
        f"WHEN NEW.order_id IS NOT NULL BEGIN {copy} END"
    )
    op.execute(
        f"CREATE TRIGGER paidy_payments_order_total_au AFTER UPDATE OF order_id "
        f"ON paidy_payments BEGIN {copy} END"
    )
    op.execute(
        "CREATE TRIGGER orders_total_au AFTER UPDATE OF total ON orders "
        "WHEN OLD.total IS NOT NEW.total BEGIN "
        "UPDATE paidy_payments SET order_total = NEW.total WHERE order_id = NEW.id; END"
    )


def _postgresql_order_total() -> None:
    op.execute(
        """
        CREATE FUNCTION paidy_payments_order_total() RETURNS trigger AS $$
        BEGIN
            NEW.order_total := (SELECT total FROM orders WHERE id = NEW.order_id);
            RETURN NEW;
        END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER paidy_payments_order_total BEFORE INSERT OR UPDATE OF order_id "
        "ON paidy_payments FOR EACH ROW EXECUTE FUNCTION paidy_payments_order_total()"
    )
    op.execute(
        """
        CREATE FUNCTION orders_total_to_payment() RETURNS trigger AS $$
        BEGIN
            UPDATE paidy_payments SET order_total = NEW.total WHERE order_id = NEW.id;
            RETURN NULL;
        END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER orders_total_to_payment AFTER UPDATE OF total ON orders FOR EACH ROW "
        "WHEN (OLD.total IS DISTINCT FROM NEW.total) EXECUTE FUNCTION orders_total_to_payment()"
    )


def _postgresql_trigram() -> None:
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:  # a managed server may refuse extensions
        log.warning("pg_trgm unavailable, name/email search will scan: %s", exc)
        return
    for name, expr in (
        ("ix_orders_name_key_trgm", f"({NAME_KEY.format(col='customer_name')})"),
        ("ix_orders_kana_key_trgm", f"({NAME_KEY.format(col='customer_kana')})"),
        ("ix_orders_email_trgm", "email"),
    ):
        op.execute(f"CREATE INDEX {name} ON orders USING gin ({expr} gin_trgm_ops)")


def _sqlite_fts() -> None:
    bind = op.get_bind()
    version = tuple(int(p) for p in bind.exec_driver_sql("SELECT sqlite_version()").scalar().split("."))
    if version < (3, 34, 0):
        log.warning("SQLite %s has no trigram tokenizer; name/email search will scan", version)
        return
    try:
        with bind.begin_nested():
            op.execute(
                "CREATE VIRTUAL TABLE orders_fts USING fts5("
                "name_key, kana_key, email, tokenize='trigram', content='', columnsize=0)"
            )
    except sa.exc.OperationalError as exc:  # built without FTS5
        log.warning("FTS5 unavailable, name/email search will scan: %s", exc)
        return
    # Each value ends with two U+0001 so that every 1-2 character fragment is the start of
    # some trigram: search.py finds short fragments through orders_fts_vocab by prefix.
    end = " || char(1, 1)"
    new = ", ".join(
        [
            NAME_KEY.format(col="new.customer_name") + end,
            NAME_KEY.format(col="new.customer_kana") + end,
            "new.email" + end,
        ]
    )
    old = ", ".join(
        [
            NAME_KEY.format(col="old.customer_name") + end,
            NAME_KEY.format(col="old.customer_kana") + end,
            "old.email" + end,
        ]
    )
    cols = "name_key, kana_key, email"
    op.execute(
        f"CREATE TRIGGER orders_fts_ai AFTER INSERT ON orders BEGIN "
        f"INSERT INTO orders_fts(rowid, {cols}) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER orders_fts_ad AFTER DELETE ON orders BEGIN "
        f"INSERT INTO orders_fts(orders_fts, rowid, {cols}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER orders_fts_au AFTER UPDATE OF customer_name, customer_kana, email "
        f"ON orders BEGIN "
        f"INSERT INTO orders_fts(orders_fts, rowid, {cols}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO orders_fts(rowid, {cols}) VALUES (new.id, {new}); END"
    )
    op.execute("CREATE VIRTUAL TABLE orders_fts_vocab USING fts5vocab(orders_fts, 'row')")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS orders_total_to_payment ON orders")
        op.execute("DROP FUNCTION IF EXISTS orders_total_to_payment()")
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS orders_total_au")
        for trigger in ("orders_fts_ai", "orders_fts_ad", "orders_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS orders_fts_vocab")
        op.execute("DROP TABLE IF EXISTS orders_fts")
    for table in (
        "users",
        "csv_column_sets",
        "batch_items",
        "batch_jobs",
        "inflight_actions",
        "audit_log",
        "paidy_payments",
        "order_items",
        "orders",
    ):
        op.drop_table(table)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS paidy_payments_order_total()")
