"""Cue planning: the next time a cue fires, computed in the client's own timezone (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_STRICTLY_AFTER = timedelta(seconds=1)


def next_fire(days: str, cue_time: time, timezone: str, after: datetime) -> datetime | None:
    """Return the first fire time strictly after `after`, in UTC (DST-correct via CronTrigger).

    A cue in the hour skipped by a spring change fires once, an hour later on the wall clock
    (02:30 becomes 03:30). A cue in the hour repeated by an autumn change fires once, at the
    first of the two: a fire whose local wall-clock time is not later than `after`'s is skipped.
    """
    zone = ZoneInfo(timezone)
    trigger = CronTrigger(
        day_of_week=days, hour=cue_time.hour, minute=cue_time.minute, timezone=zone
    )
    wall_after = after.astimezone(zone).replace(tzinfo=None)
    fire = trigger.get_next_fire_time(None, (after + _STRICTLY_AFTER).astimezone(zone))
    if fire is not None and fire.replace(tzinfo=None) <= wall_after:
        # A cue fires at most once a local day: look again from the next local midnight
        # (CronTrigger can return the same wall-clock time again inside a repeated hour).
        next_day = datetime.combine(fire.date() + timedelta(days=1), time(0), tzinfo=zone)
        fire = trigger.get_next_fire_time(None, next_day)
    return fire.astimezone(UTC) if fire else None


def local_now(timezone: str, now: datetime) -> datetime:
    """Return `now` in the client's zone."""
    return now.astimezone(ZoneInfo(timezone))


def at_local(day: date, clock_time: time, timezone: str) -> datetime:
    """Return a local date and time in the client's zone, as UTC."""
    return datetime.combine(day, clock_time, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def in_quiet_hours(local: datetime, start: time, end: time) -> bool:
    """Whether a local time falls in quiet hours (which may span midnight)."""
    if start == end:
        return False
    now = local.time()
    return start <= now < end if start < end else (now >= start or now < end)


def fit_quiet_hours(
    due: datetime, timezone: str, start: time, end: time, *, skip: bool
) -> datetime | None:
    """Return when to send something due at `due`: as planned, at the end of quiet hours,
    or None when the client chose to skip what falls inside them."""
    local = local_now(timezone, due)
    if not in_quiet_hours(local, start, end):
        return due
    if skip:
        return None
    end_at = at_local(local.date(), end, timezone)
    return end_at if end_at > due else at_local(local.date() + timedelta(days=1), end, timezone)


def checkin_at(cue_at: datetime, timezone: str, checkin_time: time) -> datetime | None:
    """The day's check-in for a nudge at `cue_at`, if the check-in time comes after it."""
    local = local_now(timezone, cue_at)
    when = at_local(local.date(), checkin_time, timezone)
    return when if when > cue_at else None
