"""Cue planning: the next time a cue fires, computed in the client's own timezone (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_STRICTLY_AFTER = timedelta(seconds=1)


def next_fire(days: str, cue_time: time, timezone: str, after: datetime) -> datetime | None:
    """Return the first fire time strictly after `after`, in UTC (DST-correct via CronTrigger)."""
    zone = ZoneInfo(timezone)
    trigger = CronTrigger(
        day_of_week=days, hour=cue_time.hour, minute=cue_time.minute, timezone=zone
    )
    fire = trigger.get_next_fire_time(None, (after + _STRICTLY_AFTER).astimezone(zone))
    return fire.astimezone(UTC) if fire else None


def local_now(timezone: str, now: datetime) -> datetime:
    """Return `now` in the client's zone."""
    return now.astimezone(ZoneInfo(timezone))
