"""The tone rules hold for every word the bot says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bot.texts import LANGUAGES, en, speaking, t

EXCLUDED = ("homework", "assignment", "failed", "missed", "streak broken", "you should")


def all_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in all_strings(v)]
    if isinstance(value, tuple | list):
        return [s for v in value for s in all_strings(v)]
    return []


def test_no_user_facing_string_uses_words_the_tone_rules_exclude() -> None:
    strings = [s for name, value in vars(en).items() if name.isupper() for s in all_strings(value)]
    assert len(strings) > 80
    offending = [s for s in strings for word in EXCLUDED if re.search(word, s, re.IGNORECASE)]
    assert offending == []


def test_messages_stay_short_enough_for_a_phone() -> None:
    strings = [s for name, value in vars(en).items() if name.isupper() for s in all_strings(value)]
    assert max(len(s) for s in strings) < 600


# ---------------------------------------------------------------- every language's catalog
LOCALE_DIR = Path(__file__).parent.parent / "bot" / "texts" / "locale"
CATALOG_LANGUAGES = ("es", "de", "ru")
# The tone rules' words in each language (the issue's list; matched case-insensitively).
EXCLUDED_BY_LANGUAGE = {  # matched inside words too, so a stem covers its forms
    "es": (
        "tarea", "deberes", "fracas", "fallaste", "fallado", "deberías", "deberias", "debes",
        "perdiste", "te saltaste", "incumpl", "obligaci", "racha",
    ),
    "de": (
        "hausaufgabe", "versag", "verpasst", "versäumt", "solltest", "gescheitert",
        "misserfolg", "pflicht", "nicht geschafft", "strähne",
    ),
    "ru": (
        "домашн", "задани", "провал", "должен", "должна", "ты обязан", "неудач", "пропустил",
        "не справил", "серия",
    ),
}  # fmt: skip
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def read_catalog(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "between.po").open("rb") as file:
        return read_po(file, locale=language)


def translations(message: Message) -> list[str]:
    value = message.string
    return [value] if isinstance(value, str) else list(value or ())


def test_every_language_in_the_code_has_a_catalog() -> None:
    assert set(CATALOG_LANGUAGES) <= set(LANGUAGES)


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_every_text_is_translated_in_every_form_and_none_is_fuzzy(language: str) -> None:
    catalog = read_catalog(language)
    template = {message.id for message in read_pot() if message.id}
    have = {message.id: message for message in catalog if message.id}
    assert template - set(have) == set()  # the catalog was updated from the latest extract
    assert len(have) > 400
    forms = catalog.num_plurals
    untranslated = [
        key
        for key, message in have.items()
        if message.fuzzy
        or not all(translations(message))
        or (isinstance(message.id, tuple) and len(translations(message)) != forms)
    ]
    assert untranslated == []


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_every_placeholder_of_the_english_is_in_each_translation(language: str) -> None:
    missing = []
    for message in read_catalog(language):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        wanted = {p for text in ids for p in _PLACEHOLDER.findall(text)}
        for translated in translations(message):
            # A singular form may spell the number out ("один раз"), the others may not.
            if isinstance(message.id, tuple) and translated is translations(message)[0]:
                continue
            if not wanted <= set(_PLACEHOLDER.findall(translated)):
                missing.append((message.id, translated))
    assert missing == []


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_no_translation_uses_the_words_the_tone_rules_exclude(language: str) -> None:
    offending = [
        (text, word)
        for message in read_catalog(language)
        if message.id
        for text in translations(message)
        for word in EXCLUDED_BY_LANGUAGE[language]
        if word in text.casefold()
    ]
    assert offending == []


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_texts_are_looked_up_in_the_language_in_use(language: str) -> None:
    with speaking(language):
        assert t.ASK_GOAL != en.ASK_GOAL and t.ASK_GOAL
        assert t.COMMAND_MENU.keys() == en.COMMAND_MENU.keys()
    assert t.ASK_GOAL == en.ASK_GOAL


def read_pot() -> Catalog:
    """Today's texts, extracted from en.py as the translators' command does (not the committed
    messages.pot, which may be older)."""
    catalog = Catalog()
    keywords = {"_": None, "N_": (1, 2)}
    for _line, message, _comments, _context in extract_from_file("python", en.__file__, keywords):
        catalog.add(message)
    return catalog
