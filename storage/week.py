"""The client's week and their next session: what a look back reads, and when it comes."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules import summary, week
from scheduler.cues import at_local
from storage import sharing
from storage.models import (
    Adjustment,
    Practice,
    PracticeStatus,
    Report,
    ToBring,
    User,
    WeekChoice,
    utcnow,
)


def zone_of(user: User) -> str:
    return user.timezone or "UTC"


def session_times(user: User, now: datetime) -> tuple[datetime | None, list[datetime]]:
    """(the last session, the next ones) the client or their clinician noted."""
    return week.sessions(user.session_at, user.session_weekly, zone_of(user), now)


def reschedule(
    user: User, after: datetime | None = None, *, look: bool = True, bring: bool = True
) -> None:
    """Set when the next look back and the next "anything to bring?" come, strictly after
    `after` (every change to the look back's time or the session goes through here, as a
    practice's cue does; the dispatcher moves each on once it is planned)."""
    after = after or utcnow()
    if not user.timezone:
        user.next_week_at = user.next_bring_at = None
        return
    _, upcoming = session_times(user, after)
    zone = zone_of(user)
    if look:
        user.next_week_at = week.next_look_back(
            zone, after, day=user.week_day, at=user.week_time, upcoming=upcoming
        )
    if bring:
        user.next_bring_at = week.next_bring(zone, after, upcoming)


async def client_week(session: AsyncSession, user: User, since: date, until: date) -> week.Week:
    """Everything the client did with their practices in [since, until] (local days)."""
    zone = zone_of(user)
    start = at_local(since, time(0), zone)
    end = at_local(until + timedelta(days=1), time(0), zone)
    practices = (
        await session.scalars(
            select(Practice)
            .where(
                Practice.user_id == user.id,
                or_(Practice.status != PracticeStatus.REMOVED, Practice.updated_at >= start),
            )
            .order_by(Practice.id)
        )
    ).all()
    result = []
    for practice in practices:
        reports = (
            await session.scalars(
                select(Report)
                .where(
                    Report.practice_id == practice.id,
                    Report.local_date >= since,
                    Report.local_date <= until,
                )
                .order_by(Report.id)
            )
        ).all()
        changes = (
            await session.scalars(
                select(Adjustment)
                .where(
                    Adjustment.practice_id == practice.id,
                    Adjustment.field != "status",
                    Adjustment.created_at >= start,
                    Adjustment.created_at < end,
                )
                .order_by(Adjustment.id)
            )
        ).all()
        if practice.status == PracticeStatus.REMOVED and not reports:
            continue
        result.append(
            week.PracticeWeek(
                step=practice.step,
                counts=Counter(r.outcome.value for r in reports),
                helped=[r.reflection for r in reports if r.reflection],
                obstacles=Counter(r.obstacle.value for r in reports if r.obstacle),
                notes=[r.obstacle_note for r in reports if r.obstacle_note],
                changes=[(c.before, c.after) for c in changes],
                # The client's own picture shows their tries, not the days without one.
                days=[summary.DayMark(r.local_date, r.outcome.value) for r in reports],
            )
        )
    return week.Week(since, until, result)


async def notes_to_offer(
    session: AsyncSession, user_id: int, since: date, limit: int = 3
) -> list[Report]:
    """The latest reports with the client's own words (a reflection or what got in the way)."""
    rows = (
        await session.scalars(
            select(Report)
            .join(Practice, Practice.id == Report.practice_id)
            .where(Practice.user_id == user_id, Report.local_date >= since)
            .order_by(Report.id.desc())
            .limit(20)
        )
    ).all()
    return [r for r in rows if r.reflection or r.obstacle_note][:limit]


async def owned_report(session: AsyncSession, user_id: int, report_id: str) -> Report | None:
    if not report_id.isdecimal():
        return None
    report = await session.get(Report, int(report_id))
    if report is None:
        return None
    practice = await session.get(Practice, report.practice_id)
    return report if practice is not None and practice.user_id == user_id else None


async def record_choice(session: AsyncSession, user_id: int, until: date, choice: str) -> None:
    """The week's one choice: a second press (or a changed mind) replaces the first."""
    await session.execute(
        delete(WeekChoice).where(WeekChoice.user_id == user_id, WeekChoice.until == until)
    )
    session.add(WeekChoice(user_id=user_id, until=until, choice=choice))


async def mark_to_bring(session: AsyncSession, user_id: int, text: str) -> bool:
    """Mark words to bring, once: False if the same words are marked already this fortnight."""
    since = utcnow() - timedelta(days=14)
    marked = await session.scalars(
        select(ToBring.text).where(ToBring.user_id == user_id, ToBring.created_at >= since)
    )
    if text in marked.all():  # encrypted: compared once read
        return False
    session.add(ToBring(user_id=user_id, text=text))
    return True


async def shared_marks(
    session: AsyncSession,
    clinician_id: int,
    client_id: int,
    start: datetime,
    end: datetime,
    crisis_since: str,
) -> tuple[list[WeekChoice], list[ToBring]]:
    """The weekly choices and marks to bring in [start, end) that this clinician may see: made
    while the client shared with them (the same bound as every other read, storage/sharing.py)."""
    periods = await sharing.visible_periods(session, clinician_id, client_id, crisis_since)

    def inside(moment: datetime) -> bool:
        return start <= moment < end and any(p.start <= moment < p.end for p in periods)

    choices = (
        await session.scalars(
            select(WeekChoice).where(WeekChoice.user_id == client_id).order_by(WeekChoice.id)
        )
    ).all()
    marks = (
        await session.scalars(
            select(ToBring).where(ToBring.user_id == client_id).order_by(ToBring.id)
        )
    ).all()
    return [c for c in choices if inside(c.chosen_at)], [m for m in marks if inside(m.created_at)]


async def due_users(
    session: AsyncSession, now: datetime, batch: int
) -> tuple[list[User], list[User]]:
    """Clients whose look back is due, and those whose "anything to bring?" is due."""
    looks = (
        await session.scalars(
            select(User).where(User.next_week_at <= now).order_by(User.next_week_at).limit(batch)
        )
    ).all()
    brings = (
        await session.scalars(
            select(User).where(User.next_bring_at <= now).order_by(User.next_bring_at).limit(batch)
        )
    ).all()
    return list(looks), list(brings)


async def unplanned_users(session: AsyncSession, batch: int) -> list[User]:
    """Clients with a zone whose first look back is not planned yet (new, or from before)."""
    return list(
        (
            await session.scalars(
                select(User)
                .where(
                    User.next_week_at.is_(None),
                    User.timezone.is_not(None),
                    User.consent_version.is_not(None),
                )
                .limit(batch)
            )
        ).all()
    )


async def has_practice(session: AsyncSession, user_id: int) -> bool:
    found = await session.scalar(
        select(Practice.id)
        .where(Practice.user_id == user_id, Practice.status != PracticeStatus.REMOVED)
        .limit(1)
    )
    return found is not None
