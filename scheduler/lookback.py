"""The week's look back and the day-before "anything to bring?", for /week and the dispatcher.

Both are composed here from the database, so `/week` and the weekly delivery say the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Button, Kind
from bot.rules import summary, week
from bot.texts import t
from storage import week as week_db
from storage.models import Delivery, DeliveryKind, User

# The "anything to bring?" goes only while the session is still about a day away.
BRING_AHEAD = timedelta(hours=36)


@dataclass
class Composed:
    """A message ready to send: its text, its buttons, and the week's picture, if any."""

    text: str
    rows: list[list[Button]]
    chart: summary.ClientFacts | None = None


def choice_rows(until: date, options: Sequence[str]) -> list[list[Button]]:
    stamp = until.strftime("%Y%m%d")
    return [[(t.WEEK_CHOICES[o], (Kind.WEEK_CHOICE, stamp, o, 0))] for o in options]


async def look_back(session: AsyncSession, user: User, now: datetime) -> Composed | None:
    """The seven local days up to today; None when there is no practice to look back on."""
    if not await week_db.has_practice(session, user.id):
        return None
    zone = week_db.zone_of(user)
    until = week.week_until(now, zone)
    facts = await week_db.client_week(
        session, user, until - timedelta(days=week.WEEK_DAYS - 1), until
    )
    text = f"{week.render(facts)}\n\n{t.WEEK_QUESTION}"
    chart = None if week.is_silent(facts) else week.chart_facts(facts)
    return Composed(text, choice_rows(until, week.choices(facts)), chart)


async def bring(session: AsyncSession, user: User, now: datetime) -> Composed | None:
    """The day before a session: a gentle question, the week's notes to mark, a line to write."""
    _, upcoming = week_db.session_times(user, now)
    if not upcoming or upcoming[0] - now > BRING_AHEAD:
        return None
    zone = week_db.zone_of(user)
    since = week.week_until(now, zone) - timedelta(days=week.WEEK_DAYS - 1)
    notes = await week_db.notes_to_offer(session, user.id, since)
    rows: list[list[Button]] = [
        [
            (
                t.WEEK_QUOTE.format(text=week.label(r.reflection or r.obstacle_note or "")),
                (Kind.BRING, r.id),
            )
        ]
        for r in notes
    ]
    rows.append([(t.BRING_WRITE, (Kind.BRING, "line")), (t.BRING_NOTHING, (Kind.BRING, "none"))])
    when = week.describe_session(upcoming[0], zone)
    return Composed(t.BRING_ASK.format(when=when), rows)


async def compose(
    session: AsyncSession, delivery: Delivery, user: User, now: datetime
) -> Composed | None:
    """What a look back or bring delivery says now; None: nothing to send (no practice, or
    the session moved)."""
    if delivery.kind == DeliveryKind.WEEK:
        return await look_back(session, user, now)
    return await bring(session, user, now)


def plan_rows(user: User, kind: DeliveryKind) -> tuple[str, datetime] | None:
    """The unique key and the moment of a client's due look back or bring."""
    cue_at = user.next_week_at if kind == DeliveryKind.WEEK else user.next_bring_at
    if cue_at is None:
        return None
    return f"{kind.value}:{user.id}:{cue_at:%Y%m%dT%H%M%S}", cue_at
