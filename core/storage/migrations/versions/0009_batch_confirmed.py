"""Batch jobs keep what the operator confirmed: the job's total in yen, and per item the
amount and the payment version the confirmation showed.

Revision ID: 0009
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_jobs") as batch:
        batch.add_column(sa.Column("confirmed_amount", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("batch_items") as batch:
        batch.add_column(sa.Column("confirmed_amount", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("confirmed_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batch_items") as batch:
        batch.drop_column("confirmed_version")
        batch.drop_column("confirmed_amount")
    with op.batch_alter_table("batch_jobs") as batch:
        batch.drop_column("confirmed_amount")
