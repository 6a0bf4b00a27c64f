"""User-facing text in the current language: `from bot.texts import t`, then `t.WELCOME`.

- Every English text is a constant in `en.py`, marked `_("…")` for the catalogs; `t.NAME` is
  that text in the language in use now (English when the language has no catalog, or the text
  is not translated yet). Dicts and tuples of texts come back translated entry by entry.
- A text whose words follow a number is marked `N_("{count} time", "{count} times")` (another
  placeholder: `N_("… {days} day", "… {days} days", "days")`); `t.NAME.format(count=3)` picks
  the language's form (Russian has three).
- Days, dates and times: `t.clock(time)`, `t.day(date)`, `t.day(date, with_year=True)`,
  `t.day_and_clock(datetime)`, `t.short_day(date)`, `t.DAY_NAMES` (stored day -> short name),
  `t.describe_days`, `t.describe_when`, `t.practice_card`, `t.nudge`, `t.thought_card`: Babel
  (CLDR) for the dates and names, the catalogs for the words around them.
- Texts are looked up when used, never at import time (a module constant would freeze English).
- The language: `use_language(code)` for the rest of an update or job, `with speaking(code):`
  for one message to someone else (a nudge, a note to a supporter or clinician).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.texts.catalogs import (
    LANGUAGES,
    SOURCE,
    babel_locale,
    current_language,
    speaking,
    supported,
    text,
    use_language,
)
from bot.texts.formatting import FUNCTIONS, day_names

__all__ = [
    "LANGUAGES",
    "SOURCE",
    "babel_locale",
    "current_language",
    "speaking",
    "supported",
    "t",
    "use_language",
]

# Built per language when used, not kept in en.py.
_COMPUTED: dict[str, Callable[[], Any]] = {"DAY_NAMES": day_names}


class Texts:
    """`en.py`'s texts, and the functions that format days and cards, in the current language."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in FUNCTIONS:
            return FUNCTIONS[name]
        if name in _COMPUTED:
            return _COMPUTED[name]()
        return text(name, current_language())


t = Texts()
