"""A client whose cue is due: a saved practice, quiet hours off, the clock at the cue."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import update

from storage.models import Practice, User
from tests.support.harness import Harness
from tests.support.practices import saved_practice

NUDGE = "Before bed: read 10 minutes"


async def set_user(harness: Harness, user_id: int, **values: object) -> None:
    """Change columns of the user row directly (quiet hours, pause, ...)."""
    async with harness.db.session() as session:
        await session.execute(update(User).where(User.id == user_id).values(**values))


async def make_due(harness: Harness, user_id: int, when: datetime | None = None) -> None:
    """Move the client's cue to `when` (default: now), as if the clock had reached it."""
    async with harness.db.session() as session:
        await session.execute(
            update(Practice)
            .where(Practice.user_id == user_id)
            .values(next_fire_at=when or datetime.now(UTC))
        )


async def client_ready_for_nudges(harness: Harness, user_id: int) -> None:
    """A saved practice, with quiet hours off so the test does not depend on the hour."""
    await saved_practice(harness, user_id)
    await set_user(harness, user_id, quiet_start=time(0, 0), quiet_end=time(0, 0))
