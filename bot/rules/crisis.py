"""Noticing crisis words, so the reply is crisis resources and never coaching."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from bot.texts import t

MAX_FLAGGED_WORDS = 2000  # what a clinician's flag keeps of a message or transcript

_APOSTROPHES = str.maketrans({"’": "", "‘": "", "ʼ": "", "'": "", "`": ""})
_NOT_WORD = re.compile(r"[^\w]+")
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s|$)")


def normalise(text: str) -> str:
    """Fold case, width and accents' forms; drop apostrophes; words separated by one space."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    return " ".join(_NOT_WORD.sub(" ", folded).split())


@functools.cache  # one settings value, read for every message
def crisis_phrases(extra: str | None) -> tuple[str, ...]:
    """The default phrases plus the operator's (`CRISIS_PHRASES`, comma-separated)."""
    raw: Iterable[str] = [*t.CRISIS_PHRASES, *(extra or "").split(",")]
    return tuple(dict.fromkeys(phrase for phrase in map(normalise, raw) if phrase))


def crisis_resources(configured: str | None) -> str:
    """The operator's crisis resources (`CRISIS_TEXT`), else a sensible default."""
    return configured or t.DEFAULT_CRISIS


def mentions_crisis(text: str, phrases: Iterable[str]) -> bool:
    """True if any phrase appears as whole words ("suicide" yes, "suicidesquad" no)."""
    padded = f" {normalise(text)} "
    return any(f" {phrase} " in padded for phrase in phrases)


def command_name(text: str) -> str | None:
    """The command a text starts with, as Telegram reads one: "/" and a name at the start.
    "/ I want to die" starts with none; "/Suggest@bot ..." with "suggest"."""
    match = _COMMAND.match(text)
    return match.group(1).lower() if match else None
