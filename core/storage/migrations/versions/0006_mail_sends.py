"""メール通知: one row per mail send (the click's token is unique) and the in-flight guard.

``inflight_key`` (``"<order_no>:<template>"``) is set while a send is in flight and cleared
when it ends: its unique constraint lets one send per order and template be in flight at a
time on SQLite and PostgreSQL alike (NULLs never collide).

Revision ID: 0006
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_sends",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("inflight_key", sa.String(80), nullable=True),
        sa.Column("order_id", sa.Integer, nullable=True),
        sa.Column("order_no", sa.Integer, nullable=False),
        sa.Column("template", sa.String(16), nullable=False),
        sa.Column("to_addr", sa.String(254), nullable=False, server_default=""),
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.UniqueConstraint("token", name="uq_mail_sends_token"),
        sa.UniqueConstraint("inflight_key", name="uq_mail_sends_inflight_key"),
    )
    op.create_index("ix_mail_sends_order_no_created_at", "mail_sends", ["order_no", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_sends_order_no_created_at", table_name="mail_sends")
    op.drop_table("mail_sends")
