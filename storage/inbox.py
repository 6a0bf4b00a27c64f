"""The durable inbox's rows: updates stored before Telegram is told, handled once, then pruned."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.claims import Claimant, free_for
from storage.db import insert_ignoring_duplicates
from storage.models import InboxStatus, InboxUpdate, utcnow


async def add_new(session: AsyncSession, rows: list[dict[str, Any]]) -> set[int]:
    """Store updates unless already stored (unique update_id): the ids that were new."""
    dialect = session.get_bind().dialect.name
    statement = insert_ignoring_duplicates(dialect, InboxUpdate, rows, "update_id").returning(
        InboxUpdate.update_id
    )
    return set((await session.scalars(statement)).all())


async def pending_ids(session: AsyncSession) -> list[int]:
    """Updates not yet handled, oldest first: what a stop, crash or passing fault left."""
    ids = await session.scalars(
        select(InboxUpdate.update_id)
        .where(InboxUpdate.status == InboxStatus.PENDING)
        .order_by(InboxUpdate.update_id)
    )
    return list(ids.all())


async def payloads(
    session: AsyncSession, update_ids: Sequence[int]
) -> list[tuple[int, dict[str, Any] | None]]:
    """The raw updates of these rows, to hand to the Application again."""
    rows = await session.execute(
        select(InboxUpdate.update_id, InboxUpdate.payload)
        .where(InboxUpdate.update_id.in_(update_ids))
        .order_by(InboxUpdate.update_id)
    )
    return [(update_id, payload) for update_id, payload in rows.all()]


async def prune_handled(session: AsyncSession, keep: timedelta) -> int:
    """Forget handled rows older than `keep`: Telegram never serves them again by then."""
    result: Any = await session.execute(
        delete(InboxUpdate)
        .where(
            InboxUpdate.status != InboxStatus.PENDING,
            func.coalesce(InboxUpdate.handled_at, InboxUpdate.received_at) < utcnow() - keep,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def pressed_before(session: AsyncSession, fingerprint: str, update_id: int) -> bool:
    """Whether the same press (a retried first press aside) was handled: a double tap."""
    return bool(
        await session.scalar(
            select(
                exists().where(
                    InboxUpdate.fingerprint == fingerprint,
                    InboxUpdate.status == InboxStatus.DONE,
                    InboxUpdate.update_id != update_id,  # a retried first press, too
                )
            )
        )
    )


async def take_pending(session: AsyncSession, claimant: Claimant) -> list[int]:
    """Claim pending updates no other instance holds, oldest first: what a stop or crash left,
    or another instance that stopped answering; this instance's own claims are renewed."""
    now = utcnow()
    free = (
        select(InboxUpdate.update_id)
        .where(InboxUpdate.status == InboxStatus.PENDING, free_for(InboxUpdate, claimant, now))
        .with_for_update(skip_locked=True)
    )
    ids = await session.scalars(
        update(InboxUpdate)
        .where(InboxUpdate.update_id.in_(free.scalar_subquery()))
        .values(**claimant.values(now))
        .returning(InboxUpdate.update_id)
        .execution_options(synchronize_session=False)
    )
    return sorted(ids.all())


async def take_for_handling(session: AsyncSession, update_id: int, claimant: Claimant) -> bool:
    """Claim one update for this transaction: False if it is handled, or held by another
    instance (handling it now, or within its claim); True if it is not in the inbox.

    The row stays locked until the transaction that marks it handled commits, so an update
    stored twice, or queued at two instances, runs once."""
    now = utcnow()
    free = (
        select(InboxUpdate.update_id)
        .where(
            InboxUpdate.update_id == update_id,
            InboxUpdate.status == InboxStatus.PENDING,
            free_for(InboxUpdate, claimant, now),
        )
        .with_for_update(skip_locked=True)
    )
    taken = await session.scalar(
        update(InboxUpdate)
        .where(InboxUpdate.update_id.in_(free.scalar_subquery()))
        .values(**claimant.values(now))
        .returning(InboxUpdate.update_id)
        .execution_options(synchronize_session=False)
    )
    if taken is not None:
        return True
    stored = await session.scalar(
        select(InboxUpdate.update_id).where(InboxUpdate.update_id == update_id)
    )
    return stored is None


async def still_pending(session: AsyncSession, update_id: int) -> bool:
    """An update queued twice runs once: False if handled already (True if not in the inbox)."""
    status = await session.scalar(
        select(InboxUpdate.status).where(InboxUpdate.update_id == update_id)
    )
    return status in (None, InboxStatus.PENDING)


async def mark_handled(session: AsyncSession, update_id: int, failed: bool) -> None:
    """Handled: the row stays (for de-duplication by update_id), the raw update goes."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(
            status=InboxStatus.FAILED if failed else InboxStatus.DONE,
            handled_at=utcnow(),
            payload=None,
        )
        .execution_options(synchronize_session=False)
    )
