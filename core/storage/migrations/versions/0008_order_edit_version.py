"""Orders carry an edit version and who saved them last (受注編集: a stale save is refused and
names who saved first).

Revision ID: 0008
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): SQLite keeps the orders_fts triggers.
    op.add_column("orders", sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "orders", sa.Column("updated_by", sa.String(100), nullable=False, server_default="")
    )


def downgrade() -> None:
    op.drop_column("orders", "updated_by")  # SQLite >= 3.35 drops a column in place
    op.drop_column("orders", "version")
