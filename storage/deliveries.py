"""Deliveries a client asks for themselves: a snoozed nudge's single return."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_ignoring_duplicates
from storage.models import Delivery, DeliveryKind, DeliveryStatus


async def plan_snooze(
    session: AsyncSession, original: Delivery, due: datetime
) -> tuple[datetime | None, bool]:
    """A nudge comes back once however often it is snoozed (unique key): (when, newly planned)."""
    key = f"snooze:{original.id}"
    row = {
        "key": key,
        "kind": DeliveryKind.SNOOZE,
        "practice_id": original.practice_id,
        "user_id": original.user_id,
        "cue_at": original.cue_at,
        "due_at": due,
        "local_date": original.local_date,
        "status": DeliveryStatus.PENDING,
    }
    dialect = session.get_bind().dialect.name
    result = await session.execute(
        insert_ignoring_duplicates(dialect, Delivery, [row], "key").returning(Delivery.due_at)
    )
    planned = result.scalar()
    if planned is not None:
        return planned, True
    return await session.scalar(select(Delivery.due_at).where(Delivery.key == key)), False
