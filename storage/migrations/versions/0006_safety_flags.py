"""safety flags: messages and voice notes with crisis words

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 08:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.crypto
import storage.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "safety_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("words", storage.crypto.EncryptedText(), nullable=False),
        sa.Column("at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_safety_flags_user_id", "safety_flags", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_safety_flags_user_id", table_name="safety_flags")
    op.drop_table("safety_flags")
