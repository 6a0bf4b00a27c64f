"""voice notes and thought records

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 06:10:42.063098
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transcription_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("audio_path", sa.String(length=512), nullable=True),
        sa.Column("declared_seconds", sa.Integer(), nullable=True),
        sa.Column("flow", sa.String(length=32), nullable=True),
        sa.Column("step", sa.String(length=32), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "done",
                "failed",
                name="jobstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("problem", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("corrected", sa.Text(), nullable=True),
        sa.Column("reply_message_id", sa.BigInteger(), nullable=True),
        sa.Column("replied", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transcription_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_claim", ["status", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_transcription_jobs_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "thought_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("situation", sa.Text(), nullable=False),
        sa.Column("thought", sa.Text(), nullable=False),
        sa.Column("belief_before", sa.Integer(), nullable=False),
        sa.Column("feeling", sa.Text(), nullable=False),
        sa.Column("intensity_before", sa.Integer(), nullable=False),
        sa.Column("trap", sa.String(length=32), nullable=False),
        sa.Column("balanced", sa.Text(), nullable=False),
        sa.Column("belief_after", sa.Integer(), nullable=False),
        sa.Column("intensity_after", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("thought_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_thought_records_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("thought_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thought_records_user_id"))

    op.drop_table("thought_records")
    with op.batch_alter_table("transcription_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transcription_jobs_user_id"))
        batch_op.drop_index("ix_jobs_claim")

    op.drop_table("transcription_jobs")
