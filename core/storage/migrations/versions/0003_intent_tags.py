"""Money in time: intent tags, settle deadlines, review flags, and system flags.

- ``audit_log.intent_tag``: the tag sent in a capture's or refund's ``metadata`` so a lost
  answer is settled by the tag alone;
- ``audit_log.settle_after``: before this moment a read that shows no tag proves nothing;
- ``audit_log.needs_review``: a late landing, a duplicate or an undecidable outcome that a
  person must look at (the dashboard lists them);
- ``app_flags``: small system facts, e.g. that Paidy did not echo our tags.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("intent_tag", sa.String(64), nullable=True))
        batch.add_column(sa.Column("settle_after", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("needs_review", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_audit_log_intent_tag", "audit_log", ["intent_tag"])
    op.create_index("ix_audit_log_needs_review", "audit_log", ["needs_review"])
    op.create_table(
        "app_flags",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_app_flags"),
    )


def downgrade() -> None:
    op.drop_table("app_flags")
    op.drop_index("ix_audit_log_needs_review", "audit_log")
    op.drop_index("ix_audit_log_intent_tag", "audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("needs_review")
        batch.drop_column("settle_after")
        batch.drop_column("intent_tag")
