"""Supporters a client invites: their one-time codes, who is linked, and the week's count."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outcome, Practice, Report, Supporter, utcnow


async def replace_invite(
    session: AsyncSession, client_id: int, code_hash: str, weekly_count: bool, expires_at: datetime
) -> None:
    """A client has at most one unused supporter code: a new one replaces it."""
    await session.execute(
        delete(Supporter).where(Supporter.client_id == client_id, Supporter.supporter_id.is_(None))
    )
    session.add(
        Supporter(
            client_id=client_id,
            code_hash=code_hash,
            weekly_count=weekly_count,
            expires_at=expires_at,
        )
    )


async def take_code(
    session: AsyncSession, hashes: Sequence[str], supporter_id: int
) -> Supporter | None:
    """Redeem a supporter code at most once: one conditional update, so of two one wins."""
    if not hashes:
        return None
    link_id = await session.scalar(
        update(Supporter)
        .where(
            Supporter.code_hash.in_(hashes),
            Supporter.supporter_id.is_(None),
            Supporter.removed_at.is_(None),
            Supporter.expires_at > utcnow(),
            Supporter.client_id != supporter_id,
        )
        .values(supporter_id=supporter_id, expires_at=utcnow())  # used up: when they joined
        .returning(Supporter.id)
    )
    return None if link_id is None else await session.get(Supporter, link_id)


async def active(session: AsyncSession, client_id: int) -> list[Supporter]:
    """The client's linked supporters not removed: the only ones told anything."""
    rows = await session.scalars(
        select(Supporter).where(
            Supporter.client_id == client_id,
            Supporter.supporter_id.is_not(None),
            Supporter.removed_at.is_(None),
        )
    )
    return list(rows.all())


async def tries_since(session: AsyncSession, link: Supporter, since: date) -> int:
    """The client's tries (did it or partly) from `since` on, and since this supporter joined
    (a code's expiry is set to the moment it is used): all a weekly-count supporter is told."""
    count = await session.scalar(
        select(func.count())
        .select_from(Report)
        .join(Practice, Practice.id == Report.practice_id)
        .where(
            Practice.user_id == link.client_id,
            Report.local_date >= since,
            Report.created_at >= link.expires_at,
            Report.outcome.in_([Outcome.DID, Outcome.PARTLY]),
        )
    )
    return count or 0
