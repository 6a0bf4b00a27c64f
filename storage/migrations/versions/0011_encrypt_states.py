"""encrypt thought-record ratings and labels, obstacles, crisis flags

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 22:30:00.000000

The columns become TEXT here; their values are encrypted by the application at start
(`check_key_and_encrypt_old_rows`), which needs the key this migration does not have. Until
then the old values stay readable as they were (a value without the Fernet prefix is read as
plaintext), so nothing is lost between the migration and the first start.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RATINGS = ("belief_before", "intensity_before", "belief_after", "intensity_after")
# table -> [(column, old type, how PostgreSQL turns an old value into text)]
COLUMNS: dict[str, list[tuple[str, sa.types.TypeEngine, str]]] = {
    "thought_records": [(name, sa.Integer(), f"{name}::text") for name in RATINGS]
    + [("trap", sa.String(length=32), "trap")],
    "reports": [("obstacle", sa.String(length=16), "obstacle")],
    "safety_flags": [
        ("source", sa.String(length=16), "source"),
        # ISO 8601 in UTC, as the application writes it and reads it back.
        (
            "at",
            storage.models.UTCDateTime(timezone=True),
            """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')""",
        ),
    ],
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for name, old, using in columns:
                batch.alter_column(
                    name, type_=sa.Text(), existing_type=old, postgresql_using=using
                )


def downgrade() -> None:
    # Encrypted values are not numbers or dates: decrypting them needs the key Alembic lacks.
    raise NotImplementedError("encryption at rest cannot be undone by a migration")
