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
    """Fold case and width, drop accents ("múerto", "möchte" -> "mochte", "й" -> "и") and
    apostrophes; words separated by one space. Phrases are normalised the same way."""
    folded = unicodedata.normalize("NFKD", text).casefold().translate(_APOSTROPHES)
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", bare).split())


# Each language's defaults beside English's (en.CRISIS_PHRASES). Every message is screened with
# all of them whatever its language: people write in more than one. Matched as whole words after
# normalise (any case, accents or none; "ß" folds to "ss"). German compounds are listed whole
# ("suizidgedanken"): whole-word matching cannot see inside them. Left out on purpose, for what
# they also say every day: "me corto" (el pelo), "estar muerto" (de risa), "acabar con todo".
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
        "suicidar",
        "me suicido",
        "suicida",
        "suicidas",
        "mejor muerto",
        "mejor muerta",
        "estaria mejor muerto",
        "estaria mejor muerta",
        "quisiera estar muerto",
        "quisiera estar muerta",
        "ojala estuviera muerto",
        "ojala estuviera muerta",
        "no vale la pena vivir",
        "lastimarme",
        "no quiero despertar",
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
        "bringe mich um",
        "mich umzubringen",
        "suizidgedanken",
        "selbstmordgedanken",
        "suizidale",
        "suizidalen",
        "mich selbst verletzen",
        "ritze mich",
        "will tot sein",
        "mir was antun",
        "mir etwas antun",
        "nicht mehr aufwachen",
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
        "самоубийстве",
        "самоубийством",
        "суицида",
        "суициде",
        "суицидальные",
        "суицидальных",
        "жить не хочу",
        "жить не хочется",
        "хочется умереть",
        "хочу сдохнуть",
        "повеситься",
        "не хочу просыпаться",
        "лучше бы меня не было",
        "резать себя",
        "селф харм",
        "причинить себе боль",
        "сделать себе больно",
        "наглотаться таблеток",
        "передоз",
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
