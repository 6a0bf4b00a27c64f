"""The outbox's rows: replies written with an update's changes, claimed, sent, deleted.

Rows are inserted unclaimed in the update's own session, so they exist exactly when its
changes do. A sender claims a chat's rows in one short transaction (README, "Replies leave
after the commit"): on PostgreSQL the chat's rows are locked (`FOR UPDATE`) while it looks, on
SQLite `BEGIN IMMEDIATE` already makes it the only writer; if another process holds a live
claim on any of them, it leaves the chat to that process, which looks again when it is done.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxKind, OutboxMessage, Suggestion

CLAIM_BATCH = 50  # a chat's rows taken in one claim


def add(
    session: AsyncSession,
    chat_id: int,
    kind: OutboxKind,
    *,
    update_id: int | None = None,
    **fields: Any,
) -> OutboxMessage:
    """Queue one reply in the caller's transaction: it leaves only if that commits."""
    row = OutboxMessage(chat_id=chat_id, kind=kind, update_id=update_id, **fields)
    session.add(row)
    return row


def _free(now: datetime, owner: str) -> Any:
    """Unclaimed, the claim (or the wait before a retry) has run out, or `owner`'s own."""
    return or_(
        OutboxMessage.claimed_until.is_(None),
        OutboxMessage.claimed_until <= now,
        OutboxMessage.claimed_by == owner,
    )


def _due(now: datetime) -> Any:
    return or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now)


async def claim(
    session: AsyncSession,
    chat_id: int,
    owner: str,
    now: datetime,
    lease: timedelta,
    skip: Collection[int] = (),
) -> list[OutboxMessage]:
    """Take the chat's due rows, oldest first, for `owner` until `now + lease`; none if another
    process holds a live claim on any (it sends them in order and then looks again).

    `skip`: rows already sent whose deletion is not yet recorded (the sent journal)."""
    rows = (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, _due(now))
            .order_by(OutboxMessage.id)
            .limit(CLAIM_BATCH)
            .with_for_update()
        )
    ).all()
    if any(
        r.claimed_by not in (None, owner) and r.claimed_until and r.claimed_until > now
        for r in rows
    ):
        return []
    wanted = [r for r in rows if r.id not in skip]
    for row in wanted:
        row.claimed_by, row.claimed_until = owner, now + lease
    return wanted


async def waiting_chats(
    session: AsyncSession, now: datetime, owner: str, limit: int = 1000
) -> list[int]:
    """Chats with due rows no one else is sending (a crash, a retry's wait over, quiet hours
    over), `owner`'s own included (taken back after a restart)."""
    chats = await session.scalars(
        select(OutboxMessage.chat_id)
        .where(_free(now, owner), _due(now))
        .group_by(OutboxMessage.chat_id)
        .order_by(OutboxMessage.chat_id)
        .limit(limit)
    )
    return list(chats.all())


async def done(session: AsyncSession, ids: Collection[int]) -> list[OutboxMessage]:
    """Delete rows Telegram answered (sent or refused), the outbox keeps nothing sent; return
    the ones this call deleted (another may have recorded them first), to follow up once."""
    if not ids:
        return []
    rows = (
        await session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(list(ids))).with_for_update()
        )
    ).all()
    if rows:
        await session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id.in_([r.id for r in rows]))
            .execution_options(synchronize_session=False)
        )
    return list(rows)


async def keep_claim(
    session: AsyncSession, ids: Sequence[int], owner: str, until: datetime
) -> None:
    """Keep `owner`'s claim until `until` (renewed; the wait before a retry after Telegram was
    away; or now, to let them go), when any process may take the rows."""
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.claimed_by == owner)
            .values(claimed_until=until)
        )


async def follow_up(
    session: AsyncSession, row: OutboxMessage, plan: dict[str, Any] | None
) -> int | None:
    """Carry out what a row said should follow Telegram's answer; the chat to send to, if any.

    A plan is `{"tell": [chat_id, text], "withdraw_suggestion": id}`, both parts optional:
    e.g. a suggestion a client's Telegram refused is withdrawn and the clinician told."""
    if not plan:
        return None
    if (suggestion_id := plan.get("withdraw_suggestion")) is not None:
        await session.execute(delete(Suggestion).where(Suggestion.id == suggestion_id))
    if (tell := plan.get("tell")) is None:
        return None
    chat_id, text = int(tell[0]), str(tell[1])
    add(session, chat_id, OutboxKind.MESSAGE, update_id=row.update_id, text=text)
    return chat_id


async def waiting_before(session: AsyncSession, chat_id: int, moment: datetime) -> bool:
    """Whether replies queued for the chat by `moment` are still to go (not those held for
    quiet hours): what a message from elsewhere (a transcript) should follow."""
    earlier = select(OutboxMessage.id).where(
        OutboxMessage.chat_id == chat_id, OutboxMessage.created_at <= moment, _due(moment)
    )
    return bool(await session.scalar(select(earlier.exists())))


async def unsent(session: AsyncSession, update_id: int) -> int:
    """How many replies of this update have not reached Telegram yet."""
    rows = await session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.update_id == update_id)
    )
    return len(rows.all())
