"""Queries and changes shared by handlers and jobs; every change to a practice is recorded."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.cues import next_fire
from storage.models import (
    Adjustment,
    Conversation,
    Outcome,
    Practice,
    PracticeStatus,
    Report,
    User,
    utcnow,
)

# Practice fields a client can change, and the column each one is stored in.
EDITABLE = {
    "goal": "goal",
    "step": "step",
    "anchor": "anchor",
    "days": "days",
    "time": "cue_time",
    "if_then": "if_then",
    "reward": "reward",
    "space": "space",
}
CUE_FIELDS = {"days", "time"}


async def ensure_user(
    session: AsyncSession, user_id: int, first_name: str, language: str | None = None
) -> User:
    """Return the user, creating the row on first contact; `language` (from Telegram) is kept
    when they have none yet, so a language they chose with /language stays."""
    user = await session.get(User, user_id)
    if user is None:
        user = User(id=user_id, first_name=first_name[:128], language=language)
        session.add(user)
        await session.flush()
    elif user.language is None and language:
        user.language = language
    return user


async def get_conversation(session: AsyncSession, user_id: int) -> Conversation | None:
    return await session.get(Conversation, user_id)


async def set_conversation(
    session: AsyncSession, user_id: int, flow: str, step: str, data: dict[str, Any]
) -> Conversation:
    """Record where the client is; replaces any earlier flow.

    `_v` counts the changes, so a button made for an earlier question can be told apart; a
    new flow starts from a random count, so a button from a flow that has ended is too.
    """
    conversation = await session.get(Conversation, user_id)
    version = (conversation.data.get("_v", 0) if conversation else secrets.randbelow(10**6)) + 1
    data = {**data, "_v": version}
    if conversation is None:
        conversation = Conversation(user_id=user_id, flow=flow, step=step, data=data)
        session.add(conversation)
    else:
        conversation.flow, conversation.step, conversation.data = flow, step, data
    await session.flush()
    return conversation


async def clear_conversation(
    session: AsyncSession, user_id: int, flow: str | None = None
) -> bool:
    """End any flow (or only `flow`, leaving another the client is in); return whether one
    ended."""
    query = delete(Conversation).where(Conversation.user_id == user_id)
    if flow is not None:
        query = query.where(Conversation.flow == flow)
    result = await session.execute(query)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def listed_practices(session: AsyncSession, user_id: int) -> list[Practice]:
    """Practices the client has not removed, oldest first."""
    return list(
        (
            await session.scalars(
                select(Practice)
                .where(Practice.user_id == user_id, Practice.status != PracticeStatus.REMOVED)
                .order_by(Practice.id)
            )
        ).all()
    )


async def owned_practice(
    session: AsyncSession, user_id: int, practice_id: int | str
) -> Practice | None:
    """Return the practice only if it belongs to this user and was not removed."""
    try:
        practice = await session.get(Practice, int(practice_id))
    except ValueError:
        return None
    if practice is None or practice.user_id != user_id:
        return None
    return None if practice.status == PracticeStatus.REMOVED else practice


def schedule(practice: Practice, timezone: str, now: datetime | None = None) -> None:
    """Set the practice's next fire time from its cue (none while paused)."""
    if practice.status != PracticeStatus.ACTIVE:
        practice.next_fire_at = None
        return
    practice.next_fire_at = next_fire(practice.days, practice.cue_time, timezone, now or utcnow())


def _as_text(value: Any) -> str | None:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return None if value is None else str(value)


def change_practice(
    session: AsyncSession,
    practice: Practice,
    field: str,
    value: Any,
    *,
    reason: str,
    timezone: str,
) -> None:
    """Change one field, keep the before/after for the clinician, and reschedule if needed."""
    column = EDITABLE[field]
    before = getattr(practice, column)
    if before == value:
        return
    setattr(practice, column, value)
    session.add(
        Adjustment(
            practice_id=practice.id,
            field=field,
            before=_as_text(before),
            after=_as_text(value),
            reason=reason,
        )
    )
    if field in CUE_FIELDS:
        schedule(practice, timezone)


def set_status(
    session: AsyncSession,
    practice: Practice,
    status: PracticeStatus,
    *,
    reason: str,
    timezone: str,
) -> None:
    """Pause, resume or remove a practice, recording the change."""
    if practice.status == status:
        return
    session.add(
        Adjustment(
            practice_id=practice.id,
            field="status",
            before=practice.status.value,
            after=status.value,
            reason=reason,
        )
    )
    practice.status = status
    schedule(practice, timezone)


async def add_report(
    session: AsyncSession, practice: Practice, outcome: Outcome, local_date: date
) -> Report:
    report = Report(practice_id=practice.id, outcome=outcome, local_date=local_date)
    session.add(report)
    await session.flush()
    return report


async def reports_for(
    session: AsyncSession, practice_id: int, limit: int = 60, since: datetime | None = None
) -> list[Report]:
    """The practice's latest reports (those after `since`, if given), oldest first."""
    query = select(Report).where(Report.practice_id == practice_id)
    if since is not None:
        query = query.where(Report.created_at > since)
    rows = (await session.scalars(query.order_by(Report.id.desc()).limit(limit))).all()
    return list(reversed(rows))


async def became_an_action_at(session: AsyncSession, practice_id: int) -> datetime | None:
    """When a noticing practice was last turned into a small action (its noticings are not
    tries of the action)."""
    return await session.scalar(
        select(func.max(Adjustment.created_at)).where(
            Adjustment.practice_id == practice_id, Adjustment.reason == "to_action"
        )
    )


async def set_reachable(session: AsyncSession, user_id: int, active: bool) -> None:
    """Whether the bot may write to someone (they blocked it, or came back): nudges follow it."""
    await session.execute(
        update(User).where(User.id == user_id, User.active.is_not(active)).values(active=active)
    )
