"""Messages stored as keys with parameters (core.messages), rendered in the reader's
language: Paidy処理結果 (``paidy_payments.last_result_msg``) and a batch row's result
(``batch_items.msg``). Audit entries keep theirs in ``detail["msg"]`` (no column needed).
Rows written before keep their text and are shown as it.

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): SQLite keeps the triggers on paidy_payments.
    op.add_column("paidy_payments", sa.Column("last_result_msg", JSON, nullable=True))
    op.add_column("batch_items", sa.Column("msg", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("batch_items", "msg")  # SQLite >= 3.35 drops a column in place
    op.drop_column("paidy_payments", "last_result_msg")
