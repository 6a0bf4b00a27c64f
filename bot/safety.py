"""Noticing crisis words, so the reply is crisis resources and never coaching (pure)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.texts import en as t

_APOSTROPHES = str.maketrans({"’": "", "‘": "", "ʼ": "", "'": "", "`": ""})
_NOT_WORD = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    """Fold case, width and accents' forms; drop apostrophes; words separated by one space."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def crisis_phrases(configured: str | None) -> tuple[str, ...]:
    """The operator's phrases (`CRISIS_PHRASES`, comma-separated), else the defaults."""
    raw: Iterable[str] = configured.split(",") if configured else t.CRISIS_PHRASES
    return tuple(phrase for phrase in (normalise(p) for p in raw) if phrase)


def mentions_crisis(text: str, phrases: Iterable[str]) -> bool:
    """True if any phrase appears as whole words ("suicide" yes, "suicidesquad" no)."""
    padded = f" {normalise(text)} "
    return any(f" {phrase} " in padded for phrase in phrases)
