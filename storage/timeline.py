"""What is next on a client's timeline: their next nudge and their next evening check-in.

`between sandbox` moves the bot's clock to these moments ("time travel"); the dispatcher then
plans and sends them as it would at that hour.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.cues import checkin_at
from storage.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Practice,
    PracticeStatus,
    User,
)


async def next_nudge_at(session: AsyncSession, user_id: int, after: datetime) -> datetime | None:
    """The soonest nudge after `after`: a cue of an active practice, or a planned nudge or
    snoozed nudge not sent yet."""
    cue = await session.scalar(
        select(func.min(Practice.next_fire_at)).where(
            Practice.user_id == user_id,
            Practice.status == PracticeStatus.ACTIVE,
            Practice.next_fire_at > after,
        )
    )
    planned = await _pending(session, user_id, after, DeliveryKind.NUDGE, DeliveryKind.SNOOZE)
    times = [t for t in (cue, planned) if t is not None]
    return min(times, default=None)


async def next_checkin_at(session: AsyncSession, user_id: int, after: datetime) -> datetime | None:
    """The soonest evening check-in after `after`: one planned already, or the one that the
    next cue of an active practice will bring (when the check-in time comes after the cue)."""
    planned = await _pending(session, user_id, after, DeliveryKind.CHECKIN)
    if planned is not None:
        return planned
    user = await session.get(User, user_id)
    if user is None:
        return None
    cues = await session.scalars(
        select(Practice.next_fire_at)
        .where(
            Practice.user_id == user_id,
            Practice.status == PracticeStatus.ACTIVE,
            Practice.next_fire_at.is_not(None),
        )
        .order_by(Practice.next_fire_at)
    )
    zone = user.timezone or "UTC"
    times = [checkin_at(cue, zone, user.checkin_time) for cue in cues if cue is not None]
    return min((t for t in times if t is not None and t > after), default=None)


async def _pending(
    session: AsyncSession, user_id: int, after: datetime, *kinds: DeliveryKind
) -> datetime | None:
    return await session.scalar(
        select(func.min(Delivery.due_at)).where(
            Delivery.user_id == user_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.kind.in_(kinds),
            Delivery.due_at > after,
        )
    )
