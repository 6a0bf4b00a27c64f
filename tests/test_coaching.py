"""Coaching rules: smaller versions, rethinking after skips, stepping up after successes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.rules.coaching import (
    ADJUSTMENTS,
    DayReport,
    is_confident_enough,
    needs_rethink,
    proposal_for,
    ready_to_step_up,
    suggest_smaller,
)
from storage.models import Obstacle, Outcome

TODAY = date(2026, 11, 21)


def days_ago(n: int, outcome: Outcome) -> DayReport:
    return DayReport(TODAY - timedelta(days=n), outcome)


def test_confidence_below_seven_is_not_enough() -> None:
    assert not is_confident_enough(6)
    assert is_confident_enough(7)


@pytest.mark.parametrize(
    ("step", "smaller"),
    [
        ("read 10 minutes", "read 5 minutes"),
        ("walk for 2 minutes", "walk for 1 minute"),
        ("write 3 pages", "write 1 page"),
        ("20 push-ups", "10 push-ups"),
        ("say one clear sentence", "just the first step of it: say one clear sentence"),
    ],
)
def test_a_smaller_version_halves_numbers_or_keeps_the_first_step(step: str, smaller: str) -> None:
    assert suggest_smaller(step) == smaller


def test_pressure_lowers_the_bar_instead_of_shrinking() -> None:
    assert (
        proposal_for(Obstacle.PRESSURE, "journal")
        == "journal, any way at all (a rough try counts)"
    )
    assert proposal_for(Obstacle.TOO_BIG, "read 10 minutes") == "read 5 minutes"


def test_every_obstacle_leads_to_a_choice_that_includes_keeping_it() -> None:
    assert set(ADJUSTMENTS) == set(Obstacle)
    assert all("keep" in options for options in ADJUSTMENTS.values())


def test_three_not_todays_within_seven_days_bring_a_rethink() -> None:
    reports = [days_ago(6, Outcome.NOT_TODAY), days_ago(3, Outcome.DID)]
    reports += [days_ago(1, Outcome.NOT_TODAY), days_ago(0, Outcome.NOT_TODAY)]
    assert needs_rethink(reports, TODAY)


def test_not_todays_spread_over_more_than_a_week_do_not() -> None:
    reports = [days_ago(9, Outcome.NOT_TODAY), days_ago(8, Outcome.NOT_TODAY)]
    reports += [days_ago(0, Outcome.NOT_TODAY)]
    assert not needs_rethink(reports, TODAY)


def test_step_up_is_offered_after_five_did_its_in_a_row_and_not_every_day() -> None:
    run = [days_ago(n, Outcome.DID) for n in range(5, 0, -1)]
    assert ready_to_step_up(run)
    assert not ready_to_step_up([*run, days_ago(0, Outcome.DID)])
    assert not ready_to_step_up([days_ago(6, Outcome.DID), days_ago(5, Outcome.PARTLY), *run[1:]])
