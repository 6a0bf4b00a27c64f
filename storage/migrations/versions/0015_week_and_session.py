"""the week's look back and the next session

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.crypto
import storage.models

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    moment = storage.models.UTCDateTime(timezone=True)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("week_day", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("week_time", sa.Time(), nullable=True))
        batch.add_column(sa.Column("next_week_at", moment, nullable=True))
        batch.add_column(sa.Column("session_at", moment, nullable=True))
        batch.add_column(
            sa.Column(
                "session_weekly", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("next_bring_at", moment, nullable=True))
        batch.create_index("ix_users_next_week_at", ["next_week_at"])
        batch.create_index("ix_users_next_bring_at", ["next_bring_at"])
    # The look back and "anything to bring?" are deliveries about no one practice.
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("practice_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "week_choices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("choice", storage.crypto.EncryptedChoice(), nullable=False),
        sa.Column("chosen_at", moment, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_week_choices_user_id", "week_choices", ["user_id"])
    op.create_table(
        "to_bring",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("text", storage.crypto.EncryptedText(), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_to_bring_user_id", "to_bring", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_to_bring_user_id", table_name="to_bring")
    op.drop_table("to_bring")
    op.drop_index("ix_week_choices_user_id", table_name="week_choices")
    op.drop_table("week_choices")
    op.execute("DELETE FROM deliveries WHERE practice_id IS NULL")
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("practice_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_next_bring_at")
        batch.drop_index("ix_users_next_week_at")
        for column in (
            "next_bring_at", "session_weekly", "session_at", "next_week_at", "week_time",
            "week_day",
        ):
            batch.drop_column(column)
