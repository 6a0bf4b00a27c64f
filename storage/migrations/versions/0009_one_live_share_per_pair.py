"""one live share per client and clinician

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "stopped_at IS NULL"


def upgrade() -> None:
    # A pair linked twice kept two live shares: the oldest stays (consent from its start),
    # the others are closed now, before the index that forbids them.
    op.execute(
        sa.text(
            "UPDATE shares SET stopped_at = CURRENT_TIMESTAMP "
            f"WHERE {LIVE} AND id NOT IN ("
            f"SELECT min(id) FROM shares WHERE {LIVE} GROUP BY clinician_id, client_id)"
        )
    )
    op.create_index(
        "uq_shares_live_pair",
        "shares",
        ["clinician_id", "client_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_shares_live_pair", table_name="shares")
