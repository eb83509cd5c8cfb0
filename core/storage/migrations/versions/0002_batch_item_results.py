"""Batch items keep their result code, English message, and a resumed flag.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_items") as batch:
        batch.add_column(sa.Column("result_code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("message_en", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("resumed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("batch_items") as batch:
        batch.drop_column("resumed")
        batch.drop_column("message_en")
        batch.drop_column("result_code")
