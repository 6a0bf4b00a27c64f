"""Noticing crisis words, so the reply is crisis resources and never coaching."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from bot.config import Settings
from bot.texts import current_language, en, t

MAX_FLAGGED_WORDS = 2000  # what a clinician's flag keeps of a message or transcript

_APOSTROPHES = str.maketrans({"’": "", "‘": "", "ʼ": "", "'": "", "`": ""})
_NOT_WORD = re.compile(r"[^\w]+")
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s|$)")


def normalise(text: str) -> str:
    """Fold case, width and accents' forms; drop apostrophes; words separated by one space."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    return " ".join(_NOT_WORD.sub(" ", folded).split())


# Each language's defaults beside English's (en.CRISIS_PHRASES). Every message is screened with
# all of them whatever its language: people write in more than one. Matched as whole words after
# normalise (any case; "ß" folds to "ss"), so forms without accents are listed too.
PHRASES_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "es": (
        "suicidio",
        "suicidarme",
        "suicidarse",
        "me voy a suicidar",
        "pienso en suicidarme",
        "matarme",
        "me quiero matar",
        "me voy a matar",
        "quiero morir",
        "quiero morirme",
        "me quiero morir",
        "quitarme la vida",
        "acabar con mi vida",
        "terminar con mi vida",
        "no quiero vivir",
        "no quiero seguir viviendo",
        "mejor estar muerto",
        "mejor estar muerta",
        "hacerme daño",
        "hacerme dano",
        "autolesión",
        "autolesion",
        "autolesionarme",
        "cortarme",
        "sobredosis",
    ),
    "de": (
        "selbstmord",
        "suizid",
        "suizidal",
        "mich umbringen",
        "bring mich um",
        "mich töten",
        "mich toeten",
        "ich will sterben",
        "ich möchte sterben",
        "ich moechte sterben",
        "will nicht mehr leben",
        "nicht mehr leben will",
        "mein leben beenden",
        "mir das leben nehmen",
        "tot sein will",
        "lieber tot",
        "mir weh tun",
        "mir wehtun",
        "mich verletzen",
        "selbstverletzung",
        "mich ritzen",
        "überdosis",
        "ueberdosis",
    ),
    "ru": (
        "суицид",
        "самоубийство",
        "самоубийства",
        "покончить с собой",
        "покончу с собой",
        "убить себя",
        "убью себя",
        "хочу умереть",
        "не хочу жить",
        "не хочется жить",
        "наложить на себя руки",
        "лучше бы я умер",
        "лучше бы я умерла",
        "лучше умереть",
        "причинить себе вред",
        "навредить себе",
        "порезать себя",
        "режу себя",
        "вскрыть вены",
        "селфхарм",
        "передозировка",
    ),
}


@functools.cache  # one settings value, read for every message
def crisis_phrases(extra: str | None) -> tuple[str, ...]:
    """Every language's default phrases plus the operator's (`CRISIS_PHRASES`, comma-separated)."""
    defaults = [phrase for phrases in PHRASES_BY_LANGUAGE.values() for phrase in phrases]
    raw: Iterable[str] = [*en.CRISIS_PHRASES, *defaults, *(extra or "").split(",")]
    return tuple(dict.fromkeys(phrase for phrase in map(normalise, raw) if phrase))


def crisis_resources(settings: Settings) -> str:
    """The operator's crisis resources in the current language (`CRISIS_TEXT_ES`, …, else
    `CRISIS_TEXT`), else a sensible default in it."""
    return settings.crisis_text_for(current_language()) or t.DEFAULT_CRISIS


def mentions_crisis(text: str, phrases: Iterable[str]) -> bool:
    """True if any phrase appears as whole words ("suicide" yes, "suicidesquad" no)."""
    padded = f" {normalise(text)} "
    return any(f" {phrase} " in padded for phrase in phrases)


def command_name(text: str) -> str | None:
    """The command a text starts with, as Telegram reads one: "/" and a name at the start.
    "/ I want to die" starts with none; "/Suggest@bot ..." with "suggest"."""
    match = _COMMAND.match(text)
    return match.group(1).lower() if match else None
