"""The week's pure rules: when the look back comes, the next session, the week's words."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.rules import summary, week
from bot.texts import LANGUAGES, speaking, t

WED = date(2026, 12, 2)  # a Wednesday


def local(zone: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thursday 10:00", week.SessionPlan(time(10, 0), weekday=3)),
        ("Thu at 5.30pm", week.SessionPlan(time(17, 30), weekday=3)),
        ("every Tuesday 17:30", week.SessionPlan(time(17, 30), weekday=1, weekly=True)),
        ("each tues 9am", week.SessionPlan(time(9, 0), weekday=1, weekly=True)),
        ("tomorrow 9:00", week.SessionPlan(time(9, 0), on=date(2026, 12, 3))),
        ("12 Dec 10:00", week.SessionPlan(time(10, 0), on=date(2026, 12, 12))),
        ("thursday", None),
        ("10:00", None),
        ("mon wed 10:00", None),
        ("every tomorrow 10:00", None),
        ("banana 10:00", None),
    ],
)
def test_a_session_is_read_from_a_day_and_a_time_once_or_every_week(
    text: str, expected: week.SessionPlan | None
) -> None:
    assert week.parse_session(text, WED) == expected


TUESDAYS = week.SessionPlan(time(17, 30), weekday=1, weekly=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jueves 10:00", week.SessionPlan(time(10, 0), weekday=3)),
        ("el jueves a las 10:00", week.SessionPlan(time(10, 0), weekday=3)),
        ("cada martes 17:30", TUESDAYS),
        ("todos los martes 17:30", TUESDAYS),
        ("los martes a las 17.30", TUESDAYS),
        ("mañana 9 h", week.SessionPlan(time(9, 0), on=date(2026, 12, 3))),
        ("Donnerstag um 10 Uhr", week.SessionPlan(time(10, 0), weekday=3)),
        ("jeden Dienstag 17:30", TUESDAYS),
        ("dienstags 17:30 Uhr", TUESDAYS),
        ("morgen 9 Uhr", week.SessionPlan(time(9, 0), on=date(2026, 12, 3))),
        ("в четверг в 10:00", week.SessionPlan(time(10, 0), weekday=3)),
        ("каждый вторник 17:30", TUESDAYS),
        ("по вторникам в 17:30", TUESDAYS),
        ("завтра в 9 ч", week.SessionPlan(time(9, 0), on=date(2026, 12, 3))),
        ("cada mañana 10:00", None),
    ],
)
def test_a_session_is_read_in_the_clients_language_once_or_every_week(
    text: str, expected: week.SessionPlan | None
) -> None:
    """ "Every Tuesday" in Spanish, German or Russian is weekly too, not one Tuesday."""
    assert week.parse_session(text, WED) == expected


def test_the_first_session_is_the_next_such_day_in_the_clients_zone() -> None:
    now = local("America/New_York", 2026, 12, 2, 11, 0)
    plan = week.parse_session("thursday 10:00", WED)
    assert plan is not None
    assert week.first_session(plan, "America/New_York", now) == local(
        "America/New_York", 2026, 12, 3, 10, 0
    )
    today_passed = week.parse_session("wednesday 10:00", WED)
    assert today_passed is not None
    assert week.first_session(today_passed, "America/New_York", now) == local(
        "America/New_York", 2026, 12, 9, 10, 0
    )
    gone = week.parse_session("2 Dec 10:00", WED)
    assert gone is not None and week.first_session(gone, "America/New_York", now) is None


def test_weekly_sessions_keep_their_local_time_across_a_dst_change() -> None:
    zone = "Europe/London"
    first = local(zone, 2026, 10, 20, 17, 30)  # a Tuesday, summer time
    last, upcoming = week.sessions(first, True, zone, local(zone, 2026, 10, 28, 9, 0))
    assert last == local(zone, 2026, 10, 27, 17, 30)  # after the change: still 17:30 local
    assert [u.astimezone(ZoneInfo(zone)).time() for u in upcoming] == [time(17, 30)] * 2
    assert upcoming[0] == local(zone, 2026, 11, 3, 17, 30)
    once_last, once_next = week.sessions(first, False, zone, local(zone, 2026, 10, 28, 9, 0))
    assert (once_last, once_next) == (first, [])


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Australia/Sydney"])
def test_the_look_back_comes_the_evening_before_the_next_session(zone: str) -> None:
    now = local(zone, 2026, 12, 2, 9, 0)
    session = local(zone, 2026, 12, 4, 10, 0)  # Friday
    due = week.next_look_back(zone, now, day=None, at=None, upcoming=[session])
    assert due == local(zone, 2026, 12, 3, 18, 0)


def test_without_a_session_the_look_back_comes_on_sunday_evening_local() -> None:
    for zone in ("Europe/London", "Asia/Kolkata", "Pacific/Auckland"):
        due = week.next_look_back(
            zone, local(zone, 2026, 12, 2, 9), day=None, at=None, upcoming=[]
        )
        assert due == local(zone, 2026, 12, 6, 18, 0)


def test_the_look_back_keeps_sunday_18_local_over_the_spring_change() -> None:
    zone = "America/New_York"  # clocks go forward on Sunday 8 March 2026
    due = week.next_look_back(zone, local(zone, 2026, 3, 4, 9), day=None, at=None, upcoming=[])
    assert due == local(zone, 2026, 3, 8, 18, 0)
    assert (
        due.astimezone(ZoneInfo(zone)).utcoffset()
        != local(zone, 2026, 3, 4, 9).astimezone(ZoneInfo(zone)).utcoffset()
    )


def test_the_clients_own_time_wins_and_a_passed_evening_gives_the_next_session_one() -> None:
    zone = "Europe/Berlin"
    now = local(zone, 2026, 12, 2, 9)
    chosen = week.next_look_back(zone, now, day="fri", at=time(8, 0), upcoming=[])
    assert chosen == local(zone, 2026, 12, 4, 8, 0)
    evening_gone = local(zone, 2026, 12, 3, 19)  # the evening before Friday's session passed
    upcoming = [local(zone, 2026, 12, 4, 10), local(zone, 2026, 12, 11, 10)]
    due = week.next_look_back(zone, evening_gone, day=None, at=None, upcoming=upcoming)
    assert due == local(zone, 2026, 12, 10, 18, 0)


def test_anything_to_bring_is_asked_the_day_before_the_session_at_midday() -> None:
    zone = "Europe/London"
    session = local(zone, 2026, 12, 4, 10)
    assert week.next_bring(zone, local(zone, 2026, 12, 2, 9), [session]) == local(
        zone, 2026, 12, 3, 12
    )
    assert week.next_bring(zone, local(zone, 2026, 12, 3, 13), [session]) is None


def test_a_look_back_time_is_one_day_and_a_time() -> None:
    assert week.parse_look_back_time("sun 18:00") == ("sun", time(18, 0))
    assert week.parse_look_back_time("Friday at 7pm") == ("fri", time(19, 0))
    assert week.parse_look_back_time("weekdays 7pm") is None
    assert week.parse_look_back_time("sunday") is None


def practice(**counts: int) -> week.PracticeWeek:
    return week.PracticeWeek(step="read 10 minutes", counts=Counter(counts))


def test_a_week_of_tries_is_counted_in_kind_words_with_their_reflections() -> None:
    read = practice(did=3, partly=1, not_today=2)
    read.helped = ["the book was already on my pillow"]
    read.obstacles = Counter({"forgot": 2})
    read.changes = [("read 10 minutes", "read 5 minutes")]
    text = week.render(week.Week(date(2026, 11, 26), WED, [read]))
    assert t.WEEK_TRIED.format(step="read 10 minutes", count=4) in text
    assert t.WEEK_PARTLY.format(count=1) in text
    assert "“the book was already on my pillow”" in text
    assert t.WEEK_ITEM_TIMES.format(text=t.OBSTACLES["forgot"], count=2) in text
    assert "read 10 minutes → read 5 minutes" in text
    for word in ("missed", "streak", "failed", "0 of"):
        assert word not in text.lower()
    assert week.choices(week.Week(date(2026, 11, 26), WED, [read])) == week.CHOICES


def test_a_practice_not_tried_this_week_is_not_listed_beside_the_ones_tried() -> None:
    """Only tries are counted: three practices and one tried is one line, not two of
    'not this week' (a list of what was not done)."""
    read = practice(did=2)
    walk = week.PracticeWeek(step="walk to the corner", counts=Counter(not_today=1))
    call = week.PracticeWeek(step="call my sister", counts=Counter())
    text = week.render(week.Week(date(2026, 11, 26), WED, [read, walk, call]))
    assert t.WEEK_TRIED.format(step="read 10 minutes", count=2) in text
    assert "walk to the corner" not in text and "call my sister" not in text


def test_a_silent_week_gets_one_gentle_line_and_no_step_up() -> None:
    quiet = week.Week(date(2026, 11, 26), WED, [practice()])
    text = week.render(quiet)
    assert week.is_silent(quiet)
    assert text.endswith(t.WEEK_SILENT)
    assert text.count("\n") == 2  # the title, a blank line, the gentle line: no list
    assert "bigger" not in week.choices(quiet)


def test_reports_without_any_nudge_are_said_plainly_not_as_of_0_nudges() -> None:
    facts = summary.ClientFacts(
        name="Sam",
        since=date(2026, 11, 26),
        until=WED,
        practices=[
            summary.PracticeFacts(card="read", talk_over=False, planned=0, counts=Counter(did=1))
        ],
        thought_records=[],
        voice_notes=[],
        last_report=WED,
    )
    text = summary.render(facts)
    assert "of 0 nudges" not in text
    assert "Tried 1, partly 0, not today 0, reported without a nudge" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_session_and_week_examples_a_client_is_shown_read_as_they_say(language: str) -> None:
    """What a client is told to type ("/session jueves 10:00") works when they type it."""
    with speaking(language):
        shown = [t.SESSION_NONE, t.SESSION_UNKNOWN, t.WEEK_WHEN_UNKNOWN]
    sessions = [m for text in shown[:2] for m in re.findall(r"/session ([^,;/]+?\d\d:\d\d)", text)]
    weeks = re.findall(r"/week ([^,;/]+?\d\d:\d\d)", shown[2])
    assert len(sessions) == 4 and len(weeks) == 1, (sessions, weeks)
    plans = [week.parse_session(example, WED) for example in sessions]
    assert [(p.weekday, p.weekly) for p in plans if p] == [(3, False), (1, True)] * 2
    assert week.parse_look_back_time(weeks[0]) == ("sun", time(18, 0))
