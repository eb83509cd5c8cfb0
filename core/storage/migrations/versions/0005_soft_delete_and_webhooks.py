"""Soft delete of orders (削除) and the payments webhooks told us about but we do not know.

- ``orders.deleted_at`` / ``orders.deleted_by``: a deleted order is kept (audit, restore) but
  leaves search, export, the dashboard and sync. The partial index holds only deleted orders,
  so "how many of these matches are deleted" reads a handful of rows (search counts subtract
  it instead of scanning every live order).
- ``unlinked_payments``: one row per unknown payment id a webhook named (the dashboard lists
  them for a one-click link); repeated hints bump ``hints`` and ``last_seen_at``.
- ``ix_batch_items_payment_id_status``: a webhook asks "is a refresh of this payment already
  queued or running?" once per hint (a flood of them too) without scanning a big batch.

Revision ID: 0005
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
DELETED = sa.text("deleted_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("deleted_at", TS, nullable=True))
        batch.add_column(sa.Column("deleted_by", sa.String(200), nullable=True))
    op.create_index(
        "ix_orders_deleted_at",
        "orders",
        ["deleted_at"],
        sqlite_where=DELETED,
        postgresql_where=DELETED,
    )
    op.create_table(
        "unlinked_payments",
        sa.Column("payment_id", sa.String(64), primary_key=True),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("hints", sa.Integer, nullable=False, server_default="1"),
        sa.Column("last_status", sa.String(64), nullable=True),
        sa.Column("order_ref", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("payment_id", name="pk_unlinked_payments"),
    )
    op.create_index("ix_unlinked_payments_last_seen_at", "unlinked_payments", ["last_seen_at"])
    op.create_index("ix_batch_items_payment_id_status", "batch_items", ["payment_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_batch_items_payment_id_status", table_name="batch_items")
    op.drop_index("ix_unlinked_payments_last_seen_at", table_name="unlinked_payments")
    op.drop_table("unlinked_payments")
    op.drop_index("ix_orders_deleted_at", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("deleted_by")
        batch.drop_column("deleted_at")
