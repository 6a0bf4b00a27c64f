"""Coaching rules from the clinical articles, as plain functions tested without a bot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.rules.vocabulary import Obstacle, Outcome
from bot.texts import t

CONFIDENT_ENOUGH = 7
RETHINK_AFTER_NOT_TODAY = 3
RETHINK_WINDOW = timedelta(days=7)
STEP_UP_EVERY = 5


@dataclass(frozen=True)
class DayReport:
    """The part of a report the rules need."""

    local_date: date
    outcome: Outcome
    obstacle: Obstacle | None = None


def is_confident_enough(rating: int) -> bool:
    """Below 7 out of 10, the articles suggest making the practice smaller first."""
    return rating >= CONFIDENT_ENOUGH


def lower_the_bar(step: str) -> str:
    """Propose the same step with permission to do it imperfectly."""
    return t.LOWER_BAR.format(step=step)


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
