"""inbox keeps no handled payloads; button press fingerprints

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 09:00:00.000000

A handled update's raw payload is deleted (the row stays, to recognise a resend), so the
column becomes nullable and payloads already handled are dropped now. A short hash of
(user, message, button) lets a double tap on a report button be recognised.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.alter_column("payload", existing_type=sa.Text(), nullable=True)
        batch.add_column(sa.Column("fingerprint", sa.String(length=32), nullable=True))
        batch.create_index("ix_inbox_fingerprint", ["fingerprint"], unique=False)
    op.execute("UPDATE inbox SET payload = NULL WHERE status <> 'pending'")


def downgrade() -> None:
    # Handled rows no longer have their payload; they are only kept for de-duplication.
    op.execute("DELETE FROM inbox WHERE payload IS NULL")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index("ix_inbox_fingerprint")
        batch.drop_column("fingerprint")
        batch.alter_column("payload", existing_type=sa.Text(), nullable=False)
