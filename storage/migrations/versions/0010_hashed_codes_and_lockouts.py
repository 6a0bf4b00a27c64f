"""codes stored hashed, failed attempts remembered past erasure

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 22:30:00.000000

Invites and supporter codes are stored as a keyed hash (storage/codes.py) instead of the code.
Codes not yet used are dropped: a clinician or client makes a new one (codes are longer now,
and the key for the hash is not at hand here). A used code is kept as a plain SHA-256 of the
old code, which no lookup can match, so the record of who used it stays and nothing is usable.
Wrong codes are counted in `code_attempts` by a keyed hash of the Telegram id, replacing the
counter on the users row (which `/forget` erased).
"""

import hashlib
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = storage.models.UTCDateTime(timezone=True)


def _retired(code: str) -> str:
    return hashlib.sha256(f"retired code: {code}".encode()).hexdigest()


def _recreate_invites(old_code: str, key: list[sa.Column], new_code: Callable[[str], str]) -> None:
    """Recreate `invites` with another primary key, keeping only used invites."""
    connection = op.get_bind()
    used = connection.execute(
        sa.text(
            f"SELECT {old_code} AS code, clinician_id, expires_at, used_by, used_at, created_at"
            " FROM invites WHERE used_by IS NOT NULL"
        )
    ).mappings()
    rows = [dict(row) for row in used]
    op.drop_table("invites")
    op.create_table(
        "invites",
        *key,
        sa.Column("clinician_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        sa.Column("used_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["clinician_id"], ["users.id"], ondelete="CASCADE"),
    )
    code_column = key[-1].name
    for row in rows:  # as read: the values go back exactly as they were stored
        row["code"] = new_code(row["code"])
        connection.execute(
            sa.text(
                f"INSERT INTO invites ({code_column}, clinician_id, expires_at, used_by, used_at,"
                " created_at) VALUES (:code, :clinician_id, :expires_at, :used_by, :used_at,"
                " :created_at)"
            ),
            row,
        )


def upgrade() -> None:
    op.create_table(
        "code_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("code_attempts") as batch:
        batch.create_index(
            "ix_code_attempts_kind_subject", ["kind", "subject_hash", "at"], unique=False
        )
        batch.create_index("ix_code_attempts_at", ["at"], unique=False)

    _recreate_invites(
        "code",
        [
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("code_hash", sa.String(length=64), nullable=False, unique=True),
        ],
        _retired,
    )

    op.execute("DELETE FROM supporters WHERE supporter_id IS NULL")
    with op.batch_alter_table("supporters") as batch:
        batch.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    for link_id, code in connection.execute(sa.text("SELECT id, code FROM supporters")).all():
        connection.execute(
            sa.text("UPDATE supporters SET code_hash = :hash WHERE id = :id"),
            {"hash": _retired(code), "id": link_id},
        )
    with op.batch_alter_table("supporters") as batch:
        batch.alter_column("code_hash", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("code")
        batch.create_unique_constraint("uq_supporters_code_hash", ["code_hash"])

    with op.batch_alter_table("users") as batch:
        batch.drop_column("clinician_code_failures")


def downgrade() -> None:
    # The codes themselves cannot come back: unused ones go, used ones keep a placeholder.
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("clinician_code_failures", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute("DELETE FROM supporters WHERE supporter_id IS NULL")
    with op.batch_alter_table("supporters") as batch:
        batch.add_column(sa.Column("code", sa.String(length=16), nullable=True))
    op.execute("UPDATE supporters SET code = substr(code_hash, 1, 16)")
    with op.batch_alter_table("supporters") as batch:
        batch.drop_constraint("uq_supporters_code_hash", type_="unique")
        batch.drop_column("code_hash")
        batch.alter_column("code", existing_type=sa.String(length=16), nullable=False)
        batch.create_unique_constraint("uq_supporters_code", ["code"])
    _recreate_invites(
        "code_hash", [sa.Column("code", sa.String(length=16), primary_key=True)], lambda h: h[:16]
    )
    with op.batch_alter_table("code_attempts") as batch:
        batch.drop_index("ix_code_attempts_at")
        batch.drop_index("ix_code_attempts_kind_subject")
    op.drop_table("code_attempts")
