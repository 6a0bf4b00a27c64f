"""Shaping rules: smaller versions that fit the articles' examples, noticing before acting,
motivation or friction, rewards as rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.rules.coaching import DayReport
from bot.rules.parsing import EVERY_DAY, WEEKDAYS_ONLY
from bot.rules.shaping import (
    NOTICE_BEFORE_ACTING,
    Choice,
    Version,
    frequency_in,
    halve,
    involves_writing,
    is_noticing,
    is_reward_rule,
    offer_after,
    once_this_week,
    ready_to_act,
    smaller_menu,
    voice_version,
)
from storage.models import Obstacle, Outcome

TODAY = date(2026, 12, 2)  # a Wednesday


def days_ago(n: int, outcome: Outcome, obstacle: Obstacle | None = None) -> DayReport:
    return DayReport(TODAY - timedelta(days=n), outcome, obstacle)


@pytest.mark.parametrize(
    ("step", "halved"),
    [
        ("read 10 minutes", "read 5 minutes"),
        ("walk 20 min", "walk 10 min"),
        ("write 2 pages", "write 1 page"),
        ("a 10-minute speech exercise", "a 5-minute speech exercise"),
        ("20 push-ups", "10 push-ups"),
        ("stretch 2 times", "stretch once"),
        ("at 7:30 read 4 pages", "at 7:30 read 2 pages"),
        ("Step 2: read 10 pages", "Step 2: read 5 pages"),
        ("say 1 kind thing, 10 times", "say 1 kind thing, 5 times"),
        ("90 seconds of breathing", "45 seconds of breathing"),
    ],
)
def test_a_shorter_version_halves_the_number_in_it(step: str, halved: str) -> None:
    assert halve(step) == halved


@pytest.mark.parametrize(
    "step",
    [
        "say one clear sentence out loud",
        "read 1 page",
        "open the notebook at 7:30",
        "walk at 6 pm",
        "go to bed by 11",
        "write 3 good things",
        "read 2-3 pages",
        "read 2 to 4 pages",
    ],
)
def test_nothing_to_halve_gives_no_shorter_version(step: str) -> None:
    assert halve(step) is None


@pytest.mark.parametrize(
    ("step", "said"),
    [
        ("walk every day", "every day"),
        ("journal 3 times a week", "3 times a week"),
        ("practise daily for 10 minutes", "daily"),
        ("call mum twice a week", "twice a week"),
        ("stretch five days a week", "five days a week"),
        ("read 10 minutes", None),
    ],
)
def test_frequency_words_are_found_in_the_step(step: str, said: str | None) -> None:
    assert frequency_in(step) == said


def test_fewer_times_is_once_this_week_on_the_next_of_its_days() -> None:
    assert once_this_week("journal 3 times a week", EVERY_DAY, TODAY) == Version(
        "journal once this week", "wed", "3 times a week"
    )
    assert once_this_week("read 10 minutes", EVERY_DAY, TODAY) == Version(
        "read 10 minutes", "wed", "every day"
    )
    assert once_this_week("read", "mon,tue", TODAY) == Version("read", "mon", "2 days a week")
    saturday = date(2026, 12, 5)
    assert once_this_week("read", WEEKDAYS_ONLY, saturday) == Version(
        "read", "mon", "5 days a week"
    )


def test_a_practice_once_a_week_already_has_no_fewer_version() -> None:
    assert once_this_week("read 10 minutes", "sat", TODAY) is None


def test_a_writing_practice_has_a_voice_note_version_and_others_do_not() -> None:
    assert involves_writing("write 3 lines about my day")
    spoken = "say 3 lines about my day in a voice note"
    assert voice_version("write 3 lines about my day") == spoken
    assert voice_version("journal for 5 minutes") == "journal for 5 minutes, by voice note"
    assert voice_version("Write down 1 worry") == "say 1 worry in a voice note"
    assert voice_version("jot down three things") == "say three things in a voice note"
    assert not involves_writing("walk to the corner")
    assert voice_version("walk to the corner") is None


def test_too_big_offers_shorter_fewer_voice_first_move_and_own_words() -> None:
    offer = offer_after(Obstacle.TOO_BIG, "write 2 pages", EVERY_DAY, [], TODAY)
    assert offer.options == (
        Choice.SHORTER,
        Choice.FEWER,
        Choice.VOICE,
        Choice.FIRST_MOVE,
        Choice.OWN,
        "keep",
    )
    assert offer.versions[Choice.SHORTER] == Version("write 1 page")
    assert offer.versions[Choice.FEWER].days == "wed"
    assert offer.versions[Choice.VOICE] == Version("say 2 pages in a voice note")


def test_no_time_offers_smaller_versions_and_other_days_but_no_voice() -> None:
    offer = offer_after(Obstacle.NO_TIME, "write 2 pages", WEEKDAYS_ONLY, [], TODAY)
    assert offer.options == (
        Choice.SHORTER,
        Choice.FEWER,
        Choice.FIRST_MOVE,
        Choice.OWN,
        "days",
        "keep",
    )


def test_nothing_to_halve_leaves_out_the_shorter_choice_instead_of_an_odd_one() -> None:
    offer = offer_after(Obstacle.TOO_BIG, "say one clear sentence out loud", "sat", [], TODAY)
    assert offer.options == (Choice.FIRST_MOVE, Choice.OWN, "keep")
    assert offer.versions == {}


def test_forgot_offers_setting_up_the_space_before_moving_the_cue() -> None:
    offer = offer_after(Obstacle.FORGOT, "read 10 minutes", EVERY_DAY, [], TODAY)
    assert offer.options == ("space", "anchor", "time", "keep")


def test_make_it_smaller_opens_the_concrete_versions() -> None:
    menu = smaller_menu("read 10 minutes", EVERY_DAY, TODAY)
    assert menu.options == (Choice.SHORTER, Choice.FEWER, Choice.FIRST_MOVE, Choice.OWN, "keep")


def test_every_offer_includes_keeping_it() -> None:
    for obstacle in Obstacle:
        assert "keep" in offer_after(obstacle, "read 10 minutes", EVERY_DAY, [], TODAY).options


def test_a_first_didnt_feel_useful_asks_nothing_and_never_offers_dropping() -> None:
    history = [days_ago(0, Outcome.NOT_TODAY, Obstacle.NOT_USEFUL)]
    offer = offer_after(Obstacle.NOT_USEFUL, "read", EVERY_DAY, history, TODAY)
    assert not offer.ask_worth
    assert "drop" not in offer.options


def test_a_repeated_didnt_feel_useful_asks_what_would_make_it_worth_doing() -> None:
    history = [
        days_ago(9, Outcome.NOT_TODAY, Obstacle.NOT_USEFUL),
        days_ago(0, Outcome.NOT_TODAY, Obstacle.NOT_USEFUL),
    ]
    offer = offer_after(Obstacle.NOT_USEFUL, "read", EVERY_DAY, history, TODAY)
    assert offer.ask_worth
    assert "drop" not in offer.options


def test_dropping_is_offered_only_after_a_persistent_pattern() -> None:
    history = [
        days_ago(20, Outcome.NOT_TODAY, Obstacle.NOT_USEFUL),
        days_ago(9, Outcome.NOT_TODAY, Obstacle.NOT_USEFUL),
        days_ago(0, Outcome.NOT_TODAY, Obstacle.NOT_USEFUL),
    ]
    offer = offer_after(Obstacle.NOT_USEFUL, "read", EVERY_DAY, history, TODAY)
    assert offer.ask_worth and "drop" in offer.options
    # Long ago it is no pattern: the window is four weeks.
    old = [days_ago(60, Outcome.NOT_TODAY, Obstacle.NOT_USEFUL), *history[1:]]
    assert "drop" not in offer_after(Obstacle.NOT_USEFUL, "read", EVERY_DAY, old, TODAY).options


def test_motivation_comes_before_a_rethink_after_three_skips() -> None:
    history = [days_ago(n, Outcome.NOT_TODAY, Obstacle.NOT_USEFUL) for n in (2, 1, 0)]
    offer = offer_after(Obstacle.NOT_USEFUL, "read", EVERY_DAY, history, TODAY)
    assert not offer.rethink and offer.ask_worth
    skips = [days_ago(n, Outcome.NOT_TODAY, Obstacle.NO_TIME) for n in (2, 1, 0)]
    assert offer_after(Obstacle.NO_TIME, "read", EVERY_DAY, skips, TODAY).rethink


@pytest.mark.parametrize(
    ("step", "noticing"),
    [
        ("notice when I start to avoid something", True),
        ("Noticing my shoulders tense", True),
        ("just notice the urge to check my phone", True),
        ("read 10 minutes", False),
        ("say what I notice to a friend", False),
    ],
)
def test_a_noticing_practice_is_known_by_its_words(step: str, noticing: bool) -> None:
    assert is_noticing(step) is noticing


def test_the_offer_to_act_comes_after_a_few_noticings_never_before() -> None:
    noticed = [days_ago(n, Outcome.DID) for n in range(10, 0, -1)]
    not_this_time = days_ago(0, Outcome.NOT_TODAY)
    for count in range(1, NOTICE_BEFORE_ACTING):
        assert not ready_to_act([*noticed[:count], not_this_time])
    assert ready_to_act(noticed[:NOTICE_BEFORE_ACTING])
    assert not ready_to_act(noticed[: NOTICE_BEFORE_ACTING + 1])
    assert ready_to_act(noticed[: 2 * NOTICE_BEFORE_ACTING])


@pytest.mark.parametrize(
    ("reward", "rule"),
    [
        ("ten minutes of work earns two minutes of reward", True),
        ("every page earns a square of chocolate", True),
        ("a favourite song", False),
    ],
)
def test_a_reward_can_be_a_rule(reward: str, rule: bool) -> None:
    assert is_reward_rule(reward) is rule
