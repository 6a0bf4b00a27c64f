"""Texts put together from templates, days, dates and times, in the current language.

Day names, dates and times come from CLDR through Babel (`babel.dates`), so they read as each
language writes them ("12 Dec", "12 dic", "12. Dez.", "12 дек."); the words around them are
templates in `en.py`, translated in the catalogs.
"""

from __future__ import annotations

from datetime import date, datetime, time

from babel.dates import format_skeleton, format_time, get_day_names

from bot.texts.catalogs import babel_locale, current_language, text

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as stored: Monday is 0
_WEEKDAYS_ONLY = list(WEEKDAYS[:5])
_WEEKENDS = list(WEEKDAYS[5:])


def _t(name: str) -> object:
    return text(name, current_language())


def _s(name: str) -> str:
    value = _t(name)
    assert isinstance(value, str)
    return value


def day_names() -> dict[str, str]:
    """Each stored day ("mon") by its short name in the current language ("Mon", "lun")."""
    names = get_day_names("abbreviated", locale=babel_locale())
    return {key: names[number] for number, key in enumerate(WEEKDAYS)}


def clock(value: time | datetime) -> str:
    """A time of day as the language writes it ("07:30"; Spanish "7:30")."""
    return format_time(value, "short", locale=babel_locale())


def day(value: date | datetime, *, with_year: bool = False) -> str:
    """A day of the year ("12 Dec", "12 dic"), with its year when asked."""
    return format_skeleton("yMMMd" if with_year else "MMMd", value, locale=babel_locale())


def day_and_clock(value: datetime) -> str:
    """A weekday, day and time ("Sat 12 Dec, 07:30")."""
    return f"{format_skeleton('MMMEd', value, locale=babel_locale())}, {clock(value)}"


def short_day(value: date) -> str:
    """A weekday and day of the month, for a chart's axis ("Sat 12")."""
    return format_skeleton("Ed", value, locale=babel_locale())


def describe_days(days: str) -> str:
    names = days.split(",")
    if len(names) == 7:
        return _s("DAYS_EVERY")
    if names == _WEEKDAYS_ONLY:
        return _s("DAYS_WEEKDAYS")
    if names == _WEEKENDS:
        return _s("DAYS_WEEKENDS")
    short = day_names()
    return ", ".join(short[name] for name in names)


def describe_when(days: str, cue_time: time) -> str:
    """Return e.g. "weekdays around 07:30"."""
    names = days.split(",")
    at = clock(cue_time)
    if len(names) == 7:
        return _s("WHEN_EVERY_DAY").format(time=at)
    if names == _WEEKDAYS_ONLY:
        return _s("WHEN_WEEKDAYS").format(time=at)
    if names == _WEEKENDS:
        return _s("WHEN_WEEKENDS").format(time=at)
    return _s("WHEN_ON_DAYS").format(days=describe_days(days), time=at)


def practice_card(
    *,
    step: str,
    anchor: str,
    days: str,
    cue_time: time,
    if_then: str | None,
    reward: str | None,
    space: str | None = None,
    noticing: bool = False,
) -> str:
    """One line in the client's words, then the optional plan, reward and what is in view."""
    line = _s("CARD_LINE").format(
        days=describe_days(days), time=clock(cue_time), anchor=anchor, step=step
    )
    lines = [line]
    if if_then:
        lines.append(_s("CARD_PLAN").format(if_then=if_then))
    if reward:
        lines.append(_s("CARD_REWARD").format(reward=reward))
    if space:
        lines.append(_s("SPACE_LINE").format(space=space))
    if noticing:
        lines.append(_s("NOTICING_MARK"))
    return "\n".join(lines)


def nudge(
    anchor: str,
    step: str,
    if_then: str | None,
    space: str | None = None,
    noticing: bool = False,
) -> str:
    """The nudge in the client's words: "While my coffee brews: one clear sentence out loud",
    then what they put in plain view, their plan, and for a noticing practice its question."""
    lines = [_s("NUDGE").format(anchor=f"{anchor[:1].upper()}{anchor[1:]}", step=step)]
    if space:
        lines.append(_s("SPACE_LINE").format(space=space))
    if if_then:
        lines.append(_s("YOUR_PLAN").format(if_then=if_then))
    if noticing:
        lines.append(_s("NUDGE_NOTICE"))
    return "\n".join(lines)


def thought_card(
    *,
    situation: str,
    thought: str,
    belief_before: int,
    feeling: str,
    intensity_before: int,
    trap: str,
    balanced: str,
    belief_after: int,
    intensity_after: int,
) -> str:
    """The whole thought record as one card."""
    traps = _t("TRAPS")
    assert isinstance(traps, dict)
    return _s("THOUGHT_CARD").format(
        situation=situation,
        thought=thought,
        belief_before=belief_before,
        feeling=feeling,
        intensity_before=intensity_before,
        trap=traps[trap][0],
        balanced=balanced,
        belief_after=belief_after,
        intensity_after=intensity_after,
    )


# What `bot.texts.t` offers besides en.py's texts.
FUNCTIONS = {
    function.__name__: function
    for function in (
        clock,
        day,
        day_and_clock,
        short_day,
        describe_days,
        describe_when,
        practice_card,
        nudge,
        thought_card,
    )
}
