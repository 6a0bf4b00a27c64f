"""The tone rules hold for every word the bot says."""

from __future__ import annotations

import re

from bot.texts import en

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
