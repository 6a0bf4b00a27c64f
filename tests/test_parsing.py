"""What clients type: times, days, timezones and ratings."""

from __future__ import annotations

from datetime import date, time

import pytest

from bot.rules.parsing import (
    parse_days,
    parse_rating,
    parse_time,
    parse_until,
    pause_holds,
    relative_day,
    resolve_timezone,
)
from bot.texts import LANGUAGES, speaking, t


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7:30", time(7, 30)),
        ("7.30am", time(7, 30)),
        ("7.30 a.m.", time(7, 30)),
        ("19:30", time(19, 30)),
        ("7pm", time(19, 0)),
        ("12am", time(0, 0)),
        ("12 pm", time(12, 0)),
        ("around 6:45", time(6, 45)),
        ("0730", time(7, 30)),
        ("21h15", time(21, 15)),
        ("noon", time(12, 0)),
        ("7", time(7, 0)),
    ],
)
def test_times_are_read_in_the_ways_people_write_them(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "25:00", "7:75", "13pm", "half past one", "soon", "7:3"])
def test_things_that_are_not_times_are_refused(text: str) -> None:
    assert parse_time(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every day", "mon,tue,wed,thu,fri,sat,sun"),
        ("Daily", "mon,tue,wed,thu,fri,sat,sun"),
        ("weekdays", "mon,tue,wed,thu,fri"),
        ("weekends", "sat,sun"),
        ("Mon, Wed and Fri", "mon,wed,fri"),
        ("tues thurs", "tue,thu"),
        ("sunday monday", "mon,sun"),
    ],
)
def test_days_are_read_from_words(text: str, expected: str) -> None:
    assert parse_days(text) == expected


def test_text_without_days_is_not_read_as_days() -> None:
    assert parse_days("whenever I can") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("London", "Europe/London"),
        ("new york", "America/New_York"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  sydney ", "Australia/Sydney"),
        ("I'm in Los Angeles", "America/Los_Angeles"),
        ("UK", "Europe/London"),
        ("sao paulo", "America/Sao_Paulo"),
    ],
)
def test_timezones_resolve_from_cities_and_iana_names(text: str, expected: str) -> None:
    assert resolve_timezone(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lisbon", "Europe/Lisbon"),
        ("São Paulo", "America/Sao_Paulo"),
        ("SÃO PAULO", "America/Sao_Paulo"),
        ("Kyiv", "Europe/Kyiv"),
        ("Kiev", "Europe/Kyiv"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("Ho Chi Minh City", "Asia/Ho_Chi_Minh"),
        ("ho chi minh city", "Asia/Ho_Chi_Minh"),
        ("Saigon", "Asia/Ho_Chi_Minh"),
        ("new york", "America/New_York"),
        ("NEW YORK", "America/New_York"),
        ("Mumbai", "Asia/Kolkata"),
        ("Bombay", "Asia/Kolkata"),
        ("Calcutta", "Asia/Kolkata"),
        ("Zürich", "Europe/Zurich"),
        ("zurich", "Europe/Zurich"),
        ("Kraków", "Europe/Warsaw"),
        ("Manchester", "Europe/London"),
        ("St. John's", "America/St_Johns"),
        ("Germany", "Europe/Berlin"),
        ("India", "Asia/Kolkata"),
    ],
)
def test_cities_and_countries_resolve_from_maintained_place_names_in_any_case_and_accents(
    text: str, expected: str
) -> None:
    """CLDR's zone cities and countries, GeoNames' cities: not a list kept by hand."""
    assert resolve_timezone(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ciudad de México", "America/Mexico_City"),
        ("ciudad de mexico", "America/Mexico_City"),
        ("Viena", "Europe/Vienna"),
        ("Alemania", "Europe/Berlin"),
        ("Wien", "Europe/Vienna"),
        ("Moskau", "Europe/Moscow"),
        ("Москва", "Europe/Moscow"),
        ("москва", "Europe/Moscow"),
        ("Алматы", "Asia/Almaty"),
        ("Россия", "Europe/Moscow"),
    ],
)
def test_places_resolve_by_their_names_in_each_catalogs_language(text: str, expected: str) -> None:
    """CLDR's names of zone cities and countries in Spanish, German and Russian, after the
    English ones (which win where both name a place)."""
    assert resolve_timezone(text) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_places_a_client_is_given_as_examples_resolve(language: str) -> None:
    with speaking(language):
        examples = t.ASK_TIMEZONE.split(":", 1)[1].split(".")[0]
    for place in examples.split(","):
        assert resolve_timezone(place), place


@pytest.mark.parametrize("text", ["Atlantis", "", "my house", "Europe/Nowhere"])
def test_unknown_places_do_not_resolve(text: str) -> None:
    assert resolve_timezone(text) is None


def test_ratings_are_read_within_their_range() -> None:
    assert parse_rating("7", 0, 10) == 7
    assert parse_rating("maybe 6/10", 0, 10) == 6
    assert parse_rating("11", 0, 10) is None
    assert parse_rating("no idea", 0, 10) is None


def test_a_pause_holds_something_back_only_until_a_day_still_ahead() -> None:
    today = date(2026, 3, 1)
    past = parse_until("until 2020-01-05", today)
    assert past == date(2020, 1, 5)
    assert not pause_holds(past, today)
    assert not pause_holds(today, today)  # nudges come back on that day: nothing would pause
    assert pause_holds(date(2026, 3, 2), today)
    assert parse_until("12 Dec", today) == date(2026, 12, 12)
    assert parse_until("until 12/1", today) == date(2027, 1, 12)


@pytest.mark.parametrize(
    "said",
    [
        "until 12 Dec",
        "Dec 12th",
        "hasta el 12 de diciembre",
        "12 dic",
        "bis zum 12. Dezember",
        "12. Dez.",
        "до 12 декабря",
        "12 дек",
    ],
)
def test_a_pause_date_is_read_with_the_month_in_any_catalogs_language(said: str) -> None:
    assert parse_until(said, date(2026, 3, 1)) == date(2026, 12, 12)


def test_a_word_that_only_looks_like_a_month_is_not_a_date() -> None:
    assert parse_until("12 decks", date(2026, 3, 1)) is None
    assert parse_until("maybe", date(2026, 3, 1)) is None


@pytest.mark.parametrize(
    ("said", "days"),
    [
        ("todos los días", "mon,tue,wed,thu,fri,sat,sun"),
        ("entre semana", "mon,tue,wed,thu,fri"),
        ("fines de semana", "sat,sun"),
        ("lun mié vie", "mon,wed,fri"),
        ("el miercoles y el sábado", "wed,sat"),
        ("jeden Tag", "mon,tue,wed,thu,fri,sat,sun"),
        ("werktags", "mon,tue,wed,thu,fri"),
        ("am Wochenende", "sat,sun"),
        ("Mo Mi Fr", "mon,wed,fri"),
        ("montags und donnerstags", "mon,thu"),
        ("каждый день", "mon,tue,wed,thu,fri,sat,sun"),
        ("по будням", "mon,tue,wed,thu,fri"),
        ("по выходным", "sat,sun"),
        ("пн ср пт", "mon,wed,fri"),
        ("в среду и в пятницу", "wed,fri"),
    ],
)
def test_days_are_read_in_every_catalogs_language(said: str, days: str) -> None:
    assert parse_days(said) == days


@pytest.mark.parametrize(
    ("said", "days"),
    [
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("Monday to Friday", "mon,tue,wed,thu,fri"),
        ("fri - mon", "mon,fri,sat,sun"),
        ("lun-vie", "mon,tue,wed,thu,fri"),
        ("de martes a jueves", "tue,wed,thu"),
        ("Mo–Fr", "mon,tue,wed,thu,fri"),
        ("Di bis Do", "tue,wed,thu"),
        ("пн-пт", "mon,tue,wed,thu,fri"),
        ("с понедельника по пятницу", "mon,tue,wed,thu,fri"),
        ("mon, fri", "mon,fri"),
        ("lunes y viernes", "mon,fri"),
        ("monday and a friday", "mon,fri"),
    ],
)
def test_a_range_of_days_is_every_day_from_the_first_to_the_last(said: str, days: str) -> None:
    """"Mo–Fr" (the German weekdays button) is five days, not Monday and Friday."""
    assert parse_days(said) == days


@pytest.mark.parametrize(
    ("said", "at"),
    [
        ("19 h", time(19, 0)),
        ("a las 7:30", time(7, 30)),
        ("um 7 Uhr", time(7, 0)),
        ("19.30 Uhr", time(19, 30)),
        ("в 7:30", time(7, 30)),
        ("около 21:00", time(21, 0)),
    ],
)
def test_times_are_read_with_each_languages_words_around_the_digits(said: str, at: time) -> None:
    assert parse_time(said) == at


@pytest.mark.parametrize(
    ("said", "offset"),
    [("hoy", 0), ("mañana", 1), ("heute", 0), ("Morgen", 1), ("сегодня", 0), ("завтра", 1)],
)
def test_today_and_tomorrow_are_read_in_every_catalogs_language(said: str, offset: int) -> None:
    assert relative_day(said) == offset
