"""nudges and deliveries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 05:18:41.923785
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "nudge", "checkin", "snooze", name="deliverykind", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("cue_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "skipped",
                "expired",
                "blocked",
                name="deliverystatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=32), nullable=True),
        sa.Column("sent_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_due", ["status", "due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deliveries_practice_id"), ["practice_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deliveries_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checkin_time", sa.Time(), nullable=False, server_default="20:00:00")
        )
        batch_op.add_column(
            sa.Column("quiet_start", sa.Time(), nullable=False, server_default="22:00:00")
        )
        batch_op.add_column(
            sa.Column("quiet_end", sa.Time(), nullable=False, server_default="07:00:00")
        )
        batch_op.add_column(
            sa.Column(
                "quiet_mode",
                sa.Enum("defer", "skip", name="quietmode", native_enum=False, length=16),
                nullable=False,
                server_default="defer",
            )
        )
        batch_op.add_column(
            sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("paused_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("paused_until")
        batch_op.drop_column("paused")
        batch_op.drop_column("quiet_mode")
        batch_op.drop_column("quiet_end")
        batch_op.drop_column("quiet_start")
        batch_op.drop_column("checkin_time")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_user_id"))
        batch_op.drop_index(batch_op.f("ix_deliveries_practice_id"))
        batch_op.drop_index("ix_deliveries_due")

    op.drop_table("deliveries")
