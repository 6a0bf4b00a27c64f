"""noticing, rewards, spaces and smaller versions

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("practices") as batch:
        batch.add_column(sa.Column("space", sa.Text(), nullable=True))  # encrypted
        batch.add_column(
            sa.Column("noticing", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("worth", sa.Text(), nullable=True))  # encrypted
        batch.add_column(
            sa.Column("rehearsal", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("transcription_jobs") as batch:
        batch.add_column(sa.Column("report_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transcription_jobs") as batch:
        batch.drop_column("report_id")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("rehearsal")
        batch.drop_column("worth")
    with op.batch_alter_table("practices") as batch:
        batch.drop_column("noticing")
        batch.drop_column("space")
