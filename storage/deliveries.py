"""Deliveries: a snoozed nudge's single return, and the dispatcher's planning and sending
queries, which several instances run at once (README, "Several instances")."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.claims import Claimant
from storage.db import insert_ignoring_duplicates
from storage.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Practice,
    PracticeStatus,
    User,
)


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


async def passed_cues(
    session: AsyncSession, now: datetime, batch: int
) -> list[tuple[Practice, User]]:
    """Up to `batch` active practices whose cue has passed, oldest first, locked until this
    transaction commits: another instance planning at the same time skips them."""
    rows = await session.execute(
        select(Practice, User)
        .join(User, User.id == Practice.user_id)
        .where(Practice.status == PracticeStatus.ACTIVE, Practice.next_fire_at <= now)
        .order_by(Practice.next_fire_at)
        .limit(batch)
        .with_for_update(skip_locked=True, of=Practice)
    )
    return [(practice, user) for practice, user in rows.tuples().all()]


async def due_to_send(
    session: AsyncSession,
    now: datetime,
    *,
    batch: int,
    per_chat: int,
    sent: Collection[int],
) -> list[tuple[Delivery, Practice | None, User]]:
    """Pending deliveries due by `now`, oldest first, each chat's oldest `per_chat` only, not
    those in `sent` (Telegram took them; the database is told next); locked until this
    transaction commits, so another instance sending at the same time skips them."""
    due = (
        select(
            Delivery.id,
            func.row_number()
            .over(partition_by=Delivery.user_id, order_by=(Delivery.due_at, Delivery.id))
            .label("place"),
        )
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.due_at <= now,
            Delivery.id.not_in(list(sent)),
        )
        .subquery()
    )
    rows = await session.execute(
        select(Delivery, Practice, User)
        .join(due, due.c.id == Delivery.id)
        .outerjoin(Practice, Practice.id == Delivery.practice_id)  # none: a week's look back
        .join(User, User.id == Delivery.user_id)
        .where(due.c.place <= per_chat)
        .order_by(Delivery.due_at, Delivery.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=Delivery)
    )
    return [(delivery, practice, user) for delivery, practice, user in rows.tuples().all()]


def held_by_another(delivery: Delivery, claimant: Claimant, now: datetime) -> bool:
    """Another instance took this delivery to send and its claim has not run out."""
    return (
        delivery.claimed_by not in (None, claimant.name)
        and delivery.claimed_until is not None
        and delivery.claimed_until > now
    )


def claim(delivery: Delivery, claimant: Claimant, now: datetime) -> None:
    """Take `delivery` to send (written with the transaction that chose it)."""
    delivery.claimed_by, delivery.claimed_until = claimant.name, claimant.until(now)
