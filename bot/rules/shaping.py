"""Shaping a practice from what the client said: smaller versions that fit the articles'
examples, noticing before acting, motivation or friction (pure, tested without a bot)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.rules.coaching import DayReport, needs_rethink
from bot.rules.parsing import EVERY_DAY, WEEKDAYS
from bot.rules.vocabulary import Obstacle, Outcome
from bot.texts import t

# Noticings before the bot offers to turn a noticing practice into a small action (001:
# "Introduce Concepts, Delay Behavior Changes"), and again after each as many more.
NOTICE_BEFORE_ACTING = 3
# "Didn't feel useful": from the second time in the window, ask what would make it worth doing;
# dropping it is offered only from the third (000: "only after a persistent pattern").
NOT_USEFUL_ASK_FROM = 2
NOT_USEFUL_DROP_FROM = 3
NOT_USEFUL_WINDOW = timedelta(days=28)

# A number with its unit, not part of a clock time ("7:30") or a decimal.
_QUANTITY = re.compile(
    r"(?<![\d:.,])(\d+)(\s*(?:-\s*)?)"
    r"(minutes?|mins?|hours?|hrs?|pages?|lines?|sentences?|times|reps?|seconds?|secs?"
    r"|breaths?|steps?|words?|push-ups?|pushups?)?(?![\d:.,]?\d)\b",
    re.IGNORECASE,
)
_SINGULAR = {"minutes": "minute", "mins": "min", "hours": "hour", "hrs": "hr", "pages": "page",
             "lines": "line", "sentences": "sentence", "reps": "rep", "seconds": "second",
             "secs": "sec", "breaths": "breath", "steps": "step", "words": "word",
             "push-ups": "push-up", "pushups": "pushup"}  # fmt: skip
_COUNT = r"(?:\d+|two|three|four|five|six|seven)"
_FREQUENCY = re.compile(
    r"\b(?:every\s+(?:single\s+)?(?:day|morning|evening|night|weekday)"
    r"|each\s+(?:day|morning|evening|night)|daily|nightly|twice\s+(?:a|per)\s+(?:day|week)"
    rf"|{_COUNT}\s*(?:times|x|days)\s+(?:a|per|each)\s+(?:day|week))\b",
    re.IGNORECASE,
)
_WRITING = re.compile(
    r"\b(?:writ(?:e|ing|ten)|jot|journal(?:ling|ing)?|diary|notebook|worksheet|"
    r"thought record|note(?:s)? down|log)\b",
    re.IGNORECASE,
)
_WRITING_VERB = re.compile(  # the longer first: "write down" is said as a whole
    r"\b(?:write down|write out|write|jot down|jot|note down)\b", re.IGNORECASE
)
_NOTICING = re.compile(r"^\s*(?:just\s+)?(?:notic(?:e|ing)|spot|catch)\b", re.IGNORECASE)
_REWARD_RULE = re.compile(r"\b(?:earns?|for every|gets? me|buys? me)\b", re.IGNORECASE)


class Choice:
    """The smaller versions a client can pick after "too big" or "no time" (button values)."""

    SHORTER = "shorter"  # a number in it halved: "10 minutes" -> "5 minutes"
    FEWER = "fewer"  # once this week instead of every day
    VOICE = "voice"  # a voice note rather than paper (a practice that involves writing)
    FIRST_MOVE = "first_move"  # just the first move, or just getting ready (their words)
    OWN = "own_smaller"  # their own words


@dataclass(frozen=True)
class Version:
    """A smaller version the bot can apply at once: new wording, and new days if fewer."""

    step: str
    days: str | None = None
    was: str | None = None  # what "once this week" replaces, for its label


@dataclass(frozen=True)
class Offer:
    """What follows a "what got in the way?" answer: the options in order, the concrete
    versions behind some of them, and whether to ask first what would make it worth doing."""

    options: tuple[str, ...]
    versions: dict[str, Version] = field(default_factory=dict)
    ask_worth: bool = False
    rethink: bool = False


def halve(step: str) -> str | None:
    """The step with its first amount halved ("20 min" -> "10 min", "2 pages" -> "1 page");
    None when there is none. An amount has a unit: "at 6 pm", "Step 2" or "3 good things" are
    not amounts, and a range ("2-3 pages") is left to the client's own words."""
    match = next((m for m in _QUANTITY.finditer(step) if m.group(3)), None)
    if match is None:
        return None
    before = step[: match.start()].rstrip()
    if before.endswith(("-", "–")) or re.search(r"\d\s*(?:-|–|to)\s*$", before):
        return None  # the end of a range
    number = int(match.group(1))
    if number < 2:
        return None
    smaller = number // 2
    unit = match.group(3) or ""
    if smaller == 1:
        unit = _SINGULAR.get(unit.lower(), unit) if unit.lower() != "times" else unit
    replacement = f"{smaller}{match.group(2)}{unit}"
    if smaller == 1 and unit.lower() == "times":
        replacement = t.ONCE
    return step[: match.start()] + replacement + step[match.end() :]


def frequency_in(step: str) -> str | None:
    """How often the step's own words say it happens ("every day", "3 times a week")."""
    match = _FREQUENCY.search(step)
    return match.group(0) if match else None


def once_this_week(step: str, days: str, today: date) -> Version | None:
    """Fewer times (000: "can we try once this week instead of five?"): the step's frequency
    words become "once this week" and its days the next one of them; None if already once."""
    picked = [d for d in days.split(",") if d in WEEKDAYS]
    said = frequency_in(step)
    if said is None and len(picked) <= 1:
        return None
    new_step = step
    if said is not None:
        new_step = re.sub(r"\s{2,}", " ", step.replace(said, t.ONCE_THIS_WEEK, 1)).strip()
    was = said
    if was is None:
        was = t.EVERY_DAY_WORDS if days == EVERY_DAY else t.DAYS_A_WEEK.format(count=len(picked))
    new_days = None
    if len(picked) > 1:
        order = WEEKDAYS[today.weekday() :] + WEEKDAYS[: today.weekday()]
        new_days = next(d for d in order if d in picked)
    return Version(new_step, new_days, was)


def involves_writing(step: str) -> bool:
    """Whether the practice is done on paper or a screen (journal, write, notebook...)."""
    return _WRITING.search(step) is not None


def voice_version(step: str) -> str | None:
    """The same practice by voice note (000: "what about a voice note rather than paper?")."""
    if not involves_writing(step):
        return None
    verb = _WRITING_VERB.search(step)
    if verb is not None:
        said = step[: verb.start()] + t.SAY + step[verb.end() :]
        return t.IN_A_VOICE_NOTE.format(step=said)
    return t.BY_VOICE_NOTE.format(step=step)


def smaller_versions(step: str, days: str, today: date, *, by_voice: bool) -> dict[str, Version]:
    """The concrete smaller versions that fit this step, in the order offered."""
    versions: dict[str, Version] = {}
    shorter = halve(step)
    if shorter is not None:
        versions[Choice.SHORTER] = Version(shorter)
    fewer = once_this_week(step, days, today)
    if fewer is not None:
        versions[Choice.FEWER] = fewer
    voice = voice_version(step) if by_voice else None
    if voice is not None:
        versions[Choice.VOICE] = Version(voice)
    return versions


def is_noticing(step: str) -> bool:
    """A practice of noticing, in the client's words ("notice when I start to avoid it")."""
    return _NOTICING.search(step) is not None


def noticings(reports: Sequence[DayReport]) -> int:
    """How many times a noticing practice was noticed ("did it" is "noticed it")."""
    return sum(1 for r in reports if r.outcome == Outcome.DID)


def ready_to_act(reports: Sequence[DayReport]) -> bool:
    """After a few noticings (three, then every three more), offer a small action; never
    before. Called after a report of "noticed it"."""
    count = noticings(reports)
    return count >= NOTICE_BEFORE_ACTING and count % NOTICE_BEFORE_ACTING == 0


def not_useful_count(reports: Sequence[DayReport], today: date) -> int:
    """Count the "didn't feel useful" answers in the recent window."""
    since = today - NOT_USEFUL_WINDOW
    return sum(1 for r in reports if r.local_date > since and r.obstacle == Obstacle.NOT_USEFUL)


def is_reward_rule(reward: str) -> bool:
    """A reward stated as a rule (000: "ten minutes of work earns two minutes of reward")."""
    return _REWARD_RULE.search(reward) is not None


def offer_after(
    obstacle: Obstacle, step: str, days: str, history: Sequence[DayReport], today: date
) -> Offer:
    """What to offer after a "what got in the way?" answer; `history` includes this report."""
    if obstacle == Obstacle.NOT_USEFUL:
        # Motivation or friction (000): their reasons first, then, only after a pattern, dropping.
        count = not_useful_count(history, today)
        options: tuple[str, ...] = ("keep", "pause", "talk_over")
        if count >= NOT_USEFUL_DROP_FROM:
            options = ("keep", "talk_over", "pause", "drop")
        return Offer(options, ask_worth=count >= NOT_USEFUL_ASK_FROM)
    if needs_rethink(history, today):
        return Offer(("smaller", "anchor", "time", "keep"), rethink=True)
    if obstacle in (Obstacle.TOO_BIG, Obstacle.NO_TIME):
        versions = smaller_versions(step, days, today, by_voice=obstacle == Obstacle.TOO_BIG)
        tail = ("days",) if obstacle == Obstacle.NO_TIME else ()
        return Offer((*versions, Choice.FIRST_MOVE, Choice.OWN, *tail, "keep"), versions)
    return Offer(_OPTIONS[obstacle])


# What the other answers lead to, in the order offered; "smaller" opens the smaller versions.
_OPTIONS: dict[Obstacle, tuple[str, ...]] = {
    Obstacle.FORGOT: ("space", "anchor", "time", "keep"),  # set up the space (000)
    Obstacle.PRESSURE: ("lower_bar", "keep"),
    Obstacle.OTHER: ("smaller", "anchor", "pause", "keep"),
}


def smaller_menu(step: str, days: str, today: date) -> Offer:
    """The smaller versions, after "make it smaller" (a rethink, or "something else")."""
    versions = smaller_versions(step, days, today, by_voice=True)
    return Offer((*versions, Choice.FIRST_MOVE, Choice.OWN, "keep"), versions)
