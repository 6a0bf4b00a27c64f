"""Coaching rules from the clinical articles, as plain functions tested without a bot."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.rules.vocabulary import Obstacle, Outcome
from bot.texts import en as t

CONFIDENT_ENOUGH = 7
RETHINK_AFTER_NOT_TODAY = 3
RETHINK_WINDOW = timedelta(days=7)
STEP_UP_EVERY = 5

# What each "what got in the way?" answer leads to, in the order offered. "use_proposal"
# applies the version `proposal_for` suggests; "smaller" shows that suggestion first.
ADJUSTMENTS: dict[Obstacle, tuple[str, ...]] = {
    Obstacle.FORGOT: ("anchor", "time", "keep"),
    Obstacle.TOO_BIG: ("use_proposal", "own_smaller", "keep"),
    Obstacle.NO_TIME: ("smaller", "days", "keep"),
    Obstacle.PRESSURE: ("lower_bar", "keep"),
    Obstacle.NOT_USEFUL: ("keep", "pause", "talk_over"),
    Obstacle.OTHER: ("smaller", "anchor", "pause", "keep"),
}
RETHINK_OPTIONS: tuple[str, ...] = ("smaller", "anchor", "time", "keep")

_QUANTITY = re.compile(
    r"(\d+)(\s*(?:-\s*)?)(minutes?|mins?|min|pages?|times|reps?|seconds?|secs?)?"
)


@dataclass(frozen=True)
class DayReport:
    """The part of a report the rules need."""

    local_date: date
    outcome: Outcome


def is_confident_enough(rating: int) -> bool:
    """Below 7 out of 10, the articles suggest making the practice smaller first."""
    return rating >= CONFIDENT_ENOUGH


def suggest_smaller(step: str) -> str:
    """Propose a smaller version of a step: halve a number in it, else keep just its start."""
    match = _QUANTITY.search(step)
    if match:
        number = int(match.group(1))
        smaller = max(1, number // 2) if number > 2 else 1
        if smaller != number:
            unit = match.group(3) or ""
            if smaller == 1 and unit.endswith("s") and unit not in ("times",):
                unit = unit[:-1]
            replacement = f"{smaller}{match.group(2)}{unit}"
            return step[: match.start()] + replacement + step[match.end() :]
    return t.SMALLER_FIRST_STEP.format(step=step)


def lower_the_bar(step: str) -> str:
    """Propose the same step with permission to do it imperfectly."""
    return t.LOWER_BAR.format(step=step)


def proposal_for(obstacle: Obstacle, step: str) -> str:
    """The version the bot proposes after a skip; the client can take, edit or refuse it."""
    return lower_the_bar(step) if obstacle == Obstacle.PRESSURE else suggest_smaller(step)


def needs_rethink(reports: Sequence[DayReport], today: date) -> bool:
    """Three "not today" answers within seven days: offer a smaller or different version."""
    since = today - RETHINK_WINDOW
    recent = [r for r in reports if r.local_date > since and r.outcome == Outcome.NOT_TODAY]
    return len(recent) >= RETHINK_AFTER_NOT_TODAY


def success_run(reports: Sequence[DayReport]) -> int:
    """How many of the latest reports (given oldest first) in a row were "did it"."""
    run = 0
    for report in reversed(reports):
        if report.outcome != Outcome.DID:
            break
        run += 1
    return run


def ready_to_step_up(reports: Sequence[DayReport]) -> bool:
    """After every five "did it" in a row, offer (never order) a small step up."""
    run = success_run(reports)
    return run > 0 and run % STEP_UP_EVERY == 0
