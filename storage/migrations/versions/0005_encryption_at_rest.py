"""encryption at rest: JSON documents become encrypted text

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 07:50:00.000000

Free-text columns were already TEXT and keep their type; their values are encrypted by the
application at start (`check_key_and_encrypt_old_rows`), which needs the key this migration
does not have.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENTS = (("conversations", "data"), ("inbox", "payload"))


def upgrade() -> None:
    for table, column in DOCUMENTS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                type_=sa.Text(),
                existing_type=sa.JSON(),
                postgresql_using=f"{column}::text",
            )


def downgrade() -> None:
    # Encrypted values are not JSON: decrypting them back needs the key, which Alembic lacks.
    raise NotImplementedError("encryption at rest cannot be undone by a migration")
