"""replies that leave after the commit

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 10:40:00.000000

An outbox: a handler's replies are written with its changes and sent once the commit holds
(README, "Replies leave after the commit"). Text, buttons and files are encrypted by the
application (TEXT here).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    moment = storage.models.UTCDateTime(timezone=True)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "message",
                "photo",
                "document",
                "edit_buttons",
                "answer",
                name="outboxkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("buttons", sa.Text(), nullable=True),
        sa.Column("target", sa.String(length=64), nullable=True),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("if_sent", sa.Text(), nullable=True),
        sa.Column("if_refused", sa.Text(), nullable=True),
        sa.Column("not_before", moment, nullable=True),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", moment, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,  # ids never come again: the sent journal names rows
    )
    op.create_index("ix_outbox_chat", "outbox", ["chat_id", "id"], unique=False)
    op.create_index("ix_outbox_update_id", "outbox", ["update_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_update_id", table_name="outbox")
    op.drop_index("ix_outbox_chat", table_name="outbox")
    op.drop_table("outbox")
