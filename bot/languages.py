"""The languages a client can pick for their voice notes (`/language`)."""

from __future__ import annotations

from transcription.engine import whisper_language

# The buttons /language offers, each in its own words; any other Whisper language by its code.
CHOICES = (
    ("en", "English"),
    ("es", "Español"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("pt", "Português"),
    ("ru", "Русский"),
    ("uk", "Українська"),
    ("pl", "Polski"),
    ("tr", "Türkçe"),
)
NAMES = dict(CHOICES)


def language_code(tag: str | None) -> str | None:
    """The code kept for a Telegram `language_code` or a typed one (`pt-BR` -> `pt`), or None
    for one that voice notes cannot be heard in."""
    return whisper_language(tag)


def language_name(code: str) -> str:
    """A language's own name, or its code for one without a button."""
    return NAMES.get(code, code)
