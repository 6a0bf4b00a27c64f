"""Coaching rules: smaller versions, rethinking after skips, stepping up after successes."""

from __future__ import annotations

from datetime import date, timedelta

from bot.rules.coaching import (
    DayReport,
    is_confident_enough,
    lower_the_bar,
    needs_rethink,
    ready_to_step_up,
)
from storage.models import Outcome

TODAY = date(2026, 11, 21)


def days_ago(n: int, outcome: Outcome) -> DayReport:
    return DayReport(TODAY - timedelta(days=n), outcome)


def test_confidence_below_seven_is_not_enough() -> None:
    assert not is_confident_enough(6)
    assert is_confident_enough(7)


def test_pressure_lowers_the_bar_instead_of_shrinking() -> None:
    assert lower_the_bar("journal") == "journal, any way at all (a rough try counts)"


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
