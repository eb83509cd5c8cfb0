"""``paidy_payments.order_ordered_at``: a trigger-kept copy of ``orders.ordered_at``.

"Expiring within 7 days" (and any search on the payment alone) matches ~20,000 of 1,000,000
orders, ordered four weeks ago. The orders screen shows them newest order first, so every
match had to be joined to its order only to learn its order date: 20,000 primary-key probes,
~45 ms on PostgreSQL. With the order date beside the payment, the first page is the newest
few payments (core/search/by_payment.py) and only those are joined. The copy is kept exactly
as ``order_total`` (0001): set when a payment is inserted or relinked, followed when an
order's date changes; nothing else writes it. On SQLite the order_total triggers are
replaced by ones that copy both columns in one UPDATE, so an insert costs what it did.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEX = "ix_paidy_payments_status_expires_at"
INDEX_COLUMNS = ("status", "expires_at", "captured_amount", "refunded_amount", "order_id")


def upgrade() -> None:
    op.add_column(
        "paidy_payments", sa.Column("order_ordered_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE paidy_payments SET order_ordered_at = "
        "(SELECT ordered_at FROM orders WHERE orders.id = paidy_payments.order_id) "
        "WHERE order_id IS NOT NULL"
    )
    _status_expires_index(*INDEX_COLUMNS, "order_ordered_at")
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgresql()
    elif dialect == "sqlite":
        _sqlite_payment_triggers(("total", "order_total"), ("ordered_at", "order_ordered_at"))
        op.execute(
            "CREATE TRIGGER orders_ordered_at_au AFTER UPDATE OF ordered_at ON orders "
            "WHEN OLD.ordered_at IS NOT NEW.ordered_at BEGIN "
            "UPDATE paidy_payments SET order_ordered_at = NEW.ordered_at "
            "WHERE order_id = NEW.id; END"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS orders_ordered_at_to_payment ON orders")
        op.execute("DROP FUNCTION IF EXISTS orders_ordered_at_to_payment()")
        op.execute(
            """
            CREATE OR REPLACE FUNCTION paidy_payments_order_total() RETURNS trigger AS $$
            BEGIN
                NEW.order_total := (SELECT total FROM orders WHERE id = NEW.order_id);
                RETURN NEW;
            END $$ LANGUAGE plpgsql
            """
        )
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS orders_ordered_at_au")
        _sqlite_payment_triggers(("total", "order_total"))
    _status_expires_index(*INDEX_COLUMNS)
    # SQLite >= 3.35 drops a column in place (a batch copy would trip 0001's triggers)
    op.execute("ALTER TABLE paidy_payments DROP COLUMN order_ordered_at")


def _status_expires_index(*columns: str) -> None:
    """The index that finds payments by state and expiry (0001), with these columns."""
    op.drop_index(INDEX, table_name="paidy_payments")
    op.create_index(INDEX, "paidy_payments", list(columns))


def _postgresql() -> None:
    """One BEFORE trigger fills both copies (the one 0001 created, now copying two columns)."""
    op.execute(
        """
        CREATE OR REPLACE FUNCTION paidy_payments_order_total() RETURNS trigger AS $$
        BEGIN
            SELECT total, ordered_at INTO NEW.order_total, NEW.order_ordered_at
            FROM orders WHERE id = NEW.order_id;
            IF NOT FOUND THEN
                NEW.order_total := NULL;
                NEW.order_ordered_at := NULL;
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
        CREATE FUNCTION orders_ordered_at_to_payment() RETURNS trigger AS $$
        BEGIN
            UPDATE paidy_payments SET order_ordered_at = NEW.ordered_at WHERE order_id = NEW.id;
            RETURN NULL;
        END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER orders_ordered_at_to_payment AFTER UPDATE OF ordered_at ON orders "
        "FOR EACH ROW WHEN (OLD.ordered_at IS DISTINCT FROM NEW.ordered_at) "
        "EXECUTE FUNCTION orders_ordered_at_to_payment()"
    )


def _sqlite_payment_triggers(*copies: tuple[str, str]) -> None:
    """The payment triggers of 0001, copying every (orders column, payment column) pair in
    one UPDATE when a payment is inserted or relinked."""
    cols = ", ".join(col for col, _ in copies)
    targets = ", ".join(copy for _, copy in copies)
    update = (
        f"UPDATE paidy_payments SET ({targets}) = "
        f"(SELECT {cols} FROM orders WHERE id = NEW.order_id) WHERE id = NEW.id;"
    )
    op.execute("DROP TRIGGER IF EXISTS paidy_payments_order_total_ai")
    op.execute("DROP TRIGGER IF EXISTS paidy_payments_order_total_au")
    op.execute(
        f"CREATE TRIGGER paidy_payments_order_total_ai AFTER INSERT ON paidy_payments "
        f"WHEN NEW.order_id IS NOT NULL BEGIN {update} END"
    )
    op.execute(
        f"CREATE TRIGGER paidy_payments_order_total_au AFTER UPDATE OF order_id "
        f"ON paidy_payments BEGIN {update} END"
    )
