"""When the bot may speak: snoozing a nudge, pausing everything, quiet hours, check-in time."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from bot.callbacks import Kind
from bot.rules.parsing import parse_time, parse_until, pause_holds
from bot.texts import t
from handlers.common import Turn, local_today
from scheduler.cues import at_local, fit_quiet_hours, local_now
from storage import deliveries
from storage.models import Delivery, QuietMode, User, utcnow

EVENING = time(19, 0)


async def later(turn: Turn, delivery_id: str) -> None:
    """`l:<delivery>`: ask when the nudge should come back."""
    rows = [[(label, (Kind.SNOOZE, delivery_id, key))] for key, label in t.SNOOZE_OPTIONS.items()]
    await turn.say(t.SNOOZE_WHEN, rows)


def snooze_until(option: str, now: datetime, timezone: str) -> datetime:
    """30 minutes, 2 hours, or this evening (19:00 local; two hours on if that has passed)."""
    if option == "evening":
        evening = at_local(local_now(timezone, now).date(), EVENING, timezone)
        if evening > now:
            return evening
        option = "120"
    return now + timedelta(minutes=int(option))


async def snooze(turn: Turn, delivery_id: str, option: str) -> None:
    """`z:<delivery>:<option>`: plan the nudge's single return."""
    original = (
        await turn.session.get(Delivery, int(delivery_id)) if delivery_id.isdigit() else None
    )
    if original is None or original.user_id != turn.user_id or option not in t.SNOOZE_OPTIONS:
        await turn.say(t.STALE_BUTTON_SHORT)
        return
    user = await turn.user()
    zone = user.timezone or "UTC"
    due = snooze_until(option, utcnow(), zone)
    # A snooze the client asked for is moved out of quiet hours, never dropped.
    due = fit_quiet_hours(due, zone, user.quiet_start, user.quiet_end, skip=False) or due
    planned, fresh = await deliveries.plan_snooze(turn.session, original, due)
    if not fresh:
        await turn.say(t.SNOOZED_ALREADY.format(time=t.clock(local_now(zone, planned or due))))
        return
    await turn.say(t.SNOOZED.format(time=t.clock(local_now(zone, planned or due))))


async def pause_all(turn: Turn, args: list[str]) -> None:
    """`/pause` or `/pause until 12 Dec`."""
    user = await turn.user()
    until = None
    if args:
        today = local_today(user)
        until = parse_until(" ".join(args), today)
        if until is None:
            await turn.say(t.PAUSE_DATE_UNKNOWN)
            return
        if not pause_holds(until, today):
            shown = t.day(until, with_year=until.year != today.year)
            await turn.say(t.PAUSE_DATE_PAST.format(day=shown))
            return
    user.paused, user.paused_until = True, until
    if until:
        await turn.say(t.PAUSED_ALL_UNTIL.format(day=t.day(until)))
    else:
        await turn.say(t.PAUSED_ALL)


async def resume_all(turn: Turn) -> None:
    user = await turn.user()
    if not user.paused:
        await turn.say(t.NOT_PAUSED)
        return
    user.paused, user.paused_until = False, None
    await turn.say(t.RESUMED_ALL)


async def quiet_hours(turn: Turn, args: list[str]) -> None:
    """`/quiet` shows quiet hours; `/quiet 22:00-07:00` changes them."""
    user = await turn.user()
    if args:
        parts = [p for p in re.split(r"\s*(?:-|–|to)\s*|\s+", " ".join(args)) if p]
        times = [parse_time(p) for p in parts]
        if len(times) != 2 or None in times:
            await turn.say(t.QUIET_UNKNOWN)
            return
        user.quiet_start, user.quiet_end = times  # type: ignore[assignment]
        await turn.say(
            t.QUIET_SAVED.format(start=t.clock(user.quiet_start), end=t.clock(user.quiet_end))
        )
    await _show_quiet(turn, user)


async def _show_quiet(turn: Turn, user: User) -> None:
    mode = t.QUIET_MODE_SKIP if user.quiet_mode == QuietMode.SKIP else t.QUIET_MODE_DEFER
    await turn.say(
        t.QUIET_NOW.format(
            start=t.clock(user.quiet_start), end=t.clock(user.quiet_end), mode=mode
        ),
        [
            [
                (t.QUIET_MOVE, (Kind.QUIET, QuietMode.DEFER.value)),
                (t.QUIET_SKIP, (Kind.QUIET, QuietMode.SKIP.value)),
            ]
        ],
    )


async def quiet_mode(turn: Turn, mode: str) -> None:
    """`q:<mode>`: move or skip what falls in quiet hours."""
    user = await turn.user()
    try:
        user.quiet_mode = QuietMode(mode)
    except ValueError:
        await turn.say(t.UNKNOWN_BUTTON)
        return
    await _show_quiet(turn, user)


async def checkin_time(turn: Turn, args: list[str]) -> None:
    """`/checkin` shows the check-in time; `/checkin 20:30` changes it."""
    user = await turn.user()
    if args:
        new_time = parse_time(" ".join(args))
        if new_time is None:
            await turn.say(t.TIME_UNKNOWN)
            return
        user.checkin_time = new_time
        await turn.say(t.CHECKIN_SAVED.format(time=t.clock(new_time)))
        return
    await turn.say(t.CHECKIN_NOW.format(time=t.clock(user.checkin_time)))
