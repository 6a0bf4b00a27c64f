"""The client's week: when the look back comes, what it says, and the next session (pure).

004: "delayed feedback supports self-reflection", "regular review … adjust goals as skills
mature"; 001: "helps the client see the payoff". Every try counts; nothing here counts what
did not happen, and a silent week gets one gentle line, not a list.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.rules import summary
from bot.rules.parsing import WEEKDAYS, parse_days, parse_time, parse_until, relative_day
from bot.texts import t
from scheduler.cues import at_local, local_now, next_fire

# Without a choice of theirs: the evening before the next session, else Sunday evening.
EVENING = time(18, 0)
DEFAULT_DAY = "sun"
# The day before a session, the client is asked whether there is anything to bring.
BRING_AT = time(12, 0)
WEEK_DAYS = 7
CHOICES = ("keep", "bigger", "smaller", "talk")
SILENT_CHOICES = ("keep", "smaller", "talk")  # nothing tried: no step up offered
LABEL_CHARS = 30


# ---------------------------------------------------------------- the next session


@dataclass(frozen=True)
class SessionPlan:
    """What the client (or clinician) typed: a weekday or a date, a time, weekly or once."""

    at: time
    weekday: int | None = None  # 0 = Monday
    on: date | None = None
    weekly: bool = False


_TIME_AT_END = re.compile(
    r"(?:\s+(?:at|around|about|a las|a la|um|gegen|в|около))?"
    r"\s+(\d{1,2}(?:\s*[:.h]\s*\d{2})?\s*(?:[ap]\.?\s*m?\.?)?(?:\s*(?:h|uhr|ч)\.?)?)$"
)
# "Every" before a day in each catalog's language ("cada martes", "jeden Dienstag", "каждый
# вторник"), and the words that say it with the day ("los martes", "по вторникам").
_EVERY = re.compile(
    r"^(?:every|each|cada|todos los|todas las|los|jeden|jede|jedes|alle"
    r"|каждый|каждую|каждое|каждая|по)\s+"
)
_GERMAN_EVERY_DAY = re.compile(  # "dienstags": on Tuesdays
    r"^(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag)s$"
)


def parse_session(text: str, today: date) -> SessionPlan | None:
    """Read "thursday 10:00", "every Tuesday 17:30", "tomorrow 9am" or "12 Dec 10:00", and
    the same in each catalog's language ("cada martes 17:30", "по вторникам в 17:30")."""
    cleaned = " " + " ".join(text.strip().lower().split())
    match = _TIME_AT_END.search(cleaned)
    if not match:
        return None
    at = parse_time(match.group(1))
    rest = cleaned[: match.start()].strip()
    if at is None or not rest:
        return None
    weekly = False
    if _EVERY.match(rest):
        weekly, rest = True, _EVERY.sub("", rest)
    elif _GERMAN_EVERY_DAY.match(rest):
        weekly = True
    offset = relative_day(rest)  # "tomorrow", "mañana", "morgen", "завтра"
    if offset is not None:
        if weekly:
            return None
        return SessionPlan(at, on=today + timedelta(days=offset))
    days = parse_days(rest)
    if days is not None:
        if "," in days:  # one day a session, not several
            return None
        return SessionPlan(at, weekday=WEEKDAYS.index(days), weekly=weekly)
    day = None if weekly else parse_until(rest, today)
    return SessionPlan(at, on=day) if day is not None else None


def first_session(plan: SessionPlan, zone: str, now: datetime) -> datetime | None:
    """The first session the plan names, strictly after `now` (UTC); None if it has passed."""
    today = local_now(zone, now).date()
    if plan.on is not None:
        moment = at_local(plan.on, plan.at, zone)
        return moment if moment > now else None
    assert plan.weekday is not None
    day = today + timedelta(days=(plan.weekday - today.weekday()) % WEEK_DAYS)
    moment = at_local(day, plan.at, zone)
    return moment if moment > now else at_local(day + timedelta(days=WEEK_DAYS), plan.at, zone)


def sessions(
    first: datetime | None, weekly: bool, zone: str, now: datetime
) -> tuple[datetime | None, list[datetime]]:
    """(the last session before `now`, the next ones: two when weekly, so the evening before
    the one after is known too). Weekly sessions keep their local wall-clock time across DST."""
    if first is None:
        return None, []
    if not weekly:
        return (first, []) if first <= now else (None, [first])
    local = local_now(zone, first)
    weeks = max(0, (now - first).days // WEEK_DAYS - 1)

    def nth(n: int) -> datetime:
        return at_local(local.date() + timedelta(days=WEEK_DAYS * n), local.time(), zone)

    while nth(weeks) <= now:
        weeks += 1
    last = nth(weeks - 1) if weeks > 0 else None
    return last, [nth(weeks), nth(weeks + 1)]


# ---------------------------------------------------------------- when the look back comes


def next_look_back(
    zone: str,
    after: datetime,
    *,
    day: str | None,
    at: time | None,
    upcoming: list[datetime],
) -> datetime | None:
    """The first look back strictly after `after` (UTC): at the client's chosen day and time;
    else the evening before their next session; else Sunday evening, in their zone."""
    if day and at:
        return next_fire(day, at, zone, after)
    for session in upcoming:
        evening = at_local(local_now(zone, session).date() - timedelta(days=1), EVENING, zone)
        if evening > after:
            return evening
    return next_fire(DEFAULT_DAY, EVENING, zone, after)


def next_bring(zone: str, after: datetime, upcoming: list[datetime]) -> datetime | None:
    """The day before the next session, midday: "anything you'd like to bring?"."""
    for session in upcoming:
        moment = at_local(local_now(zone, session).date() - timedelta(days=1), BRING_AT, zone)
        if after < moment < session:
            return moment
    return None


def parse_look_back_time(text: str) -> tuple[str, time] | None:
    """Read "sun 18:00", "friday 7pm": one day and a time for the weekly look back."""
    cleaned = " " + " ".join(text.strip().lower().split())
    match = _TIME_AT_END.search(cleaned)
    if not match:
        return None
    at = parse_time(match.group(1))
    days = parse_days(cleaned[: match.start()])
    if at is None or days is None or "," in days:
        return None
    return days, at


# ---------------------------------------------------------------- what it says


@dataclass
class PracticeWeek:
    """One practice's week in the client's own words."""

    step: str
    counts: Counter[str] = field(default_factory=Counter)
    helped: list[str] = field(default_factory=list)  # their reflections after a try
    obstacles: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)  # what got in the way, in their words
    changes: list[tuple[str | None, str | None]] = field(default_factory=list)
    days: list[summary.DayMark] = field(default_factory=list)

    @property
    def tries(self) -> int:
        return self.counts["did"] + self.counts["partly"]


@dataclass
class Week:
    since: date
    until: date
    practices: list[PracticeWeek]


def is_silent(week: Week) -> bool:
    """Nothing reported and nothing changed: a gentle line, not a list."""
    return not any(p.counts or p.changes for p in week.practices)


def choices(week: Week) -> tuple[str, ...]:
    """The one question's answers; a step up only after some tries."""
    return SILENT_CHOICES if not any(p.tries for p in week.practices) else CHOICES


def _quoted(text: str) -> str:
    return t.WEEK_QUOTE.format(text=text)


def _day(day: date) -> str:
    return t.day(day)


def render(week: Week) -> str:
    """The look back: kind counts, what helped, what got in the way, what changed."""
    title = t.WEEK_TITLE.format(since=_day(week.since), until=_day(week.until))
    if is_silent(week):
        return f"{title}\n\n{t.WEEK_SILENT}"
    lines = [title, ""]
    for practice in week.practices:  # the tries only: no list of what was not done
        if practice.tries:
            lines.append(t.WEEK_TRIED.format(step=practice.step, count=practice.tries))
            if practice.counts["partly"]:
                lines.append(t.WEEK_PARTLY.format(count=practice.counts["partly"]))
    helped = [text for p in week.practices for text in p.helped]
    if helped:
        lines += ["", t.WEEK_HELPED_TITLE, *(t.WEEK_ITEM.format(text=_quoted(h)) for h in helped)]
    obstacles: Counter[str] = Counter()
    for practice in week.practices:
        obstacles.update(practice.obstacles)
    notes = [note for p in week.practices for note in p.notes]
    if obstacles or notes:
        lines += ["", t.WEEK_IN_THE_WAY_TITLE]
        for key, count in obstacles.most_common():
            label = t.OBSTACLES.get(key, key)
            lines.append(
                t.WEEK_ITEM_TIMES.format(text=label, count=count)
                if count > 1
                else t.WEEK_ITEM.format(text=label)
            )
        lines += [t.WEEK_ITEM.format(text=_quoted(note)) for note in notes]
    changes = [c for p in week.practices for c in p.changes]
    if changes:
        lines += ["", t.WEEK_CHANGED_TITLE]
        lines += [t.WEEK_CHANGE.format(before=b or "", after=a or "") for b, a in changes]
    return "\n".join(lines)


def chart_facts(week: Week) -> summary.ClientFacts:
    """The week as the summary's chart reads it (the same day-by-day picture)."""
    return summary.ClientFacts(
        name="",
        since=week.since,
        until=week.until,
        practices=[
            summary.PracticeFacts(card=p.step, talk_over=False, planned=0, days=p.days)
            for p in week.practices
        ],
        thought_records=[],
        voice_notes=[],
        last_report=None,
    )


def week_until(now: datetime, zone: str) -> date:
    """The look back covers the seven local days up to and including today."""
    return local_now(zone, now).date()


def label(text: str) -> str:
    """A button label from the client's words, short enough for a phone."""
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def describe_session(moment: datetime, zone: str) -> str:
    """E.g. "Thu, Dec 10, 10:00", in the client's zone and language."""
    return t.day_and_clock(moment.astimezone(ZoneInfo(zone)))
