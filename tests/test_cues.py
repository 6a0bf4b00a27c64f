"""Next-fire computation across daylight-saving changes, and quiet hours (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.rules.parsing import EVERY_DAY
from scheduler.cues import checkin_at, fit_quiet_hours, next_fire

# (zone, a date a few days before a change, the change is in the window that follows)
CHANGES = [
    ("Europe/London", date(2026, 3, 26)),  # spring forward 29 Mar
    ("Europe/London", date(2026, 10, 22)),  # fall back 25 Oct
    ("America/New_York", date(2026, 3, 5)),  # 8 Mar
    ("America/New_York", date(2026, 10, 29)),  # 1 Nov
    ("Australia/Sydney", date(2026, 4, 1)),  # fall back 5 Apr
    ("Australia/Sydney", date(2026, 10, 1)),  # spring forward 4 Oct
]


def fires(zone: str, start: date, cue: time, days: int = 7) -> list[datetime]:
    after = datetime.combine(start, time(0, 0), tzinfo=ZoneInfo(zone))
    result = []
    for _ in range(days):
        fire = next_fire(EVERY_DAY, cue, zone, after)
        assert fire is not None
        result.append(fire)
        after = fire
    return result


@pytest.mark.parametrize(("zone", "start"), CHANGES)
def test_a_0730_cue_fires_at_0730_local_every_day_around_a_change(zone: str, start: date) -> None:
    local = [f.astimezone(ZoneInfo(zone)) for f in fires(zone, start, time(7, 30))]
    assert [(f.hour, f.minute) for f in local] == [(7, 30)] * 7
    assert [f.date() for f in local] == [start + timedelta(days=i) for i in range(7)]
    assert all(f.tzinfo == UTC for f in fires(zone, start, time(7, 30)))


def test_a_cue_in_the_skipped_hour_fires_once_an_hour_later_that_day() -> None:
    """02:30 does not exist on 8 Mar 2026 in New York: it fires once, at 03:30 EDT."""
    local = [
        f.astimezone(ZoneInfo("America/New_York"))
        for f in fires("America/New_York", date(2026, 3, 7), time(2, 30), days=3)
    ]
    assert [(f.day, f.hour, f.minute) for f in local] == [(7, 2, 30), (8, 3, 30), (9, 2, 30)]


def test_a_cue_in_the_repeated_hour_fires_once() -> None:
    """01:30 happens twice on 1 Nov 2026 in New York: one fire, at the first 01:30 (EDT)."""
    utc = fires("America/New_York", date(2026, 10, 31), time(1, 30), days=3)
    assert [f.astimezone(ZoneInfo("America/New_York")).day for f in utc] == [31, 1, 2]
    assert utc[1] == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_weekday_cues_skip_the_weekend() -> None:
    friday = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    fire = next_fire("mon,tue,wed,thu,fri", time(7, 30), "Europe/London", friday)
    assert fire == datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def test_next_fire_is_strictly_after_the_given_time() -> None:
    at = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
    assert next_fire(EVERY_DAY, time(7, 30), "UTC", at) == at + timedelta(days=1)


LONDON = "Europe/London"
NIGHT = (time(22, 0), time(7, 0))


def london(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(LONDON)).astimezone(UTC)


def test_outside_quiet_hours_nothing_moves() -> None:
    assert fit_quiet_hours(london(20, 8), LONDON, *NIGHT, skip=False) == london(20, 8)


def test_inside_quiet_hours_a_nudge_moves_to_their_end_or_is_skipped() -> None:
    assert fit_quiet_hours(london(20, 23), LONDON, *NIGHT, skip=False) == london(21, 7)
    assert fit_quiet_hours(london(21, 5, 30), LONDON, *NIGHT, skip=False) == london(21, 7)
    assert fit_quiet_hours(london(20, 23), LONDON, *NIGHT, skip=True) is None


def test_daytime_quiet_hours_work_too() -> None:
    quiet = (time(13, 0), time(15, 0))
    assert fit_quiet_hours(london(20, 14), LONDON, *quiet, skip=False) == london(20, 15)


def test_checkin_comes_the_same_evening_only_if_after_the_nudge() -> None:
    assert checkin_at(london(20, 8), LONDON, time(20, 0)) == london(20, 20)
    assert checkin_at(london(20, 21), LONDON, time(20, 0)) is None
