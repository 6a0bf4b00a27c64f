"""The languages Between speaks, the one in use now, and their gettext catalogs.

English (`en.py`) is the source text and the default. Each other language is a GNU gettext
catalog, `locale/<code>/LC_MESSAGES/between.po`, managed with Babel (README, "For translators").
The `.po` files are read as they are, at first use, into `gettext.GNUTranslations` (Babel's
`read_po`, then `write_mo` in memory): no compile step, so no compiled file can be out of date
with its source, and an installed wheel needs nothing but the `.po` files. Fuzzy entries are left
out, so a text whose English changed reads in English until a translator checks it.

The language in use is a `ContextVar`, set per update (from the stored language, else Telegram's
`language_code`), per nudge (the recipient's) and per transcript (the job's client).
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.texts import en
from bot.texts.marks import Plural

SOURCE = "en"
DOMAIN = "between"
LOCALE_DIR = Path(__file__).with_name("locale")
# The Babel (CLDR) locale for dates, times and day names; English is British here, as its texts.
_BABEL_LOCALES = {"en": "en_GB"}


def _catalog_languages() -> tuple[str, ...]:
    found = sorted(
        path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )
    return (SOURCE, *found)


# Every language with a catalog, English first: a new one is picked up from its folder.
LANGUAGES: tuple[str, ...] = _catalog_languages()

_current: ContextVar[str] = ContextVar("language", default=SOURCE)


def supported(code: str | None) -> str:
    """The language to speak for a stored or Telegram code ("pt-BR" -> "pt"); English for one
    without a catalog."""
    base = (code or "").replace("_", "-").split("-", 1)[0].strip().lower()
    return base if base in LANGUAGES else SOURCE


def current_language() -> str:
    return _current.get()


def use_language(code: str | None) -> Token[str]:
    """Speak this language (or English) from now on in this update, job or task."""
    return _current.set(supported(code))


@contextmanager
def speaking(code: str | None) -> Iterator[str]:
    """Speak this language inside the block, e.g. one nudge to one client."""
    token = use_language(code)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def babel_locale(code: str | None = None) -> str:
    """The CLDR locale for dates and day names in a language (the current one by default)."""
    language = supported(code) if code else current_language()
    return _BABEL_LOCALES.get(language, language)


@functools.cache
def translations(code: str) -> gettext.NullTranslations:
    """The language's catalog, read once from its `.po` file (English: the source itself)."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if code == SOURCE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@functools.cache
def text(name: str, code: str) -> Any:
    """The text `en.NAME` in a language: strings, the strings inside dicts and tuples, and
    plural texts (formatted by their number); anything else as it is."""
    return _translate(getattr(en, name), translations(code))


def _translate(value: Any, catalog: gettext.NullTranslations) -> Any:
    if isinstance(value, str):
        return catalog.gettext(value) if value else value
    if isinstance(value, Plural):
        return TranslatedPlural(value, catalog)
    if isinstance(value, dict):
        return {key: _translate(item, catalog) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_translate(item, catalog) for item in value)
    return value


class TranslatedPlural:
    """A plural text in one language: `.format(count=3)` picks the language's form for 3."""

    def __init__(self, source: Plural, catalog: gettext.NullTranslations) -> None:
        self._source = source
        self._catalog = catalog

    def format(self, **values: Any) -> str:
        number = values[self._source.number]
        form = self._catalog.ngettext(self._source.singular, self._source.plural, int(number))
        return form.format(**values)
