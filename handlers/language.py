"""`/language`: the language a client's voice notes are heard in."""

from __future__ import annotations

from bot.callbacks import Kind
from bot.languages import CHOICES, language_code, language_name
from bot.texts import supported, t, use_language
from handlers.common import Turn


async def show_or_change(turn: Turn, args: list[str]) -> None:
    """`/language` shows the language with buttons for others; `/language es` changes it."""
    user = await turn.user()
    typed = " ".join(args)
    if typed:
        code = language_code(typed)
        if code is None:
            await _offer(turn, t.LANGUAGE_UNKNOWN)
            return
        await _choose(turn, code)
        return
    now = t.LANGUAGE_NOW.format(language=language_name(user.language)) if user.language else ""
    await _offer(turn, now + t.LANGUAGE_PICK)


async def on_button(turn: Turn, code: str) -> None:
    """`c:<code>`: a language button."""
    chosen = language_code(code)
    if chosen is None:
        await turn.say(t.UNKNOWN_BUTTON)
        return
    await _choose(turn, chosen)


async def _choose(turn: Turn, code: str) -> None:
    user = await turn.user()
    user.language = code
    use_language(supported(code))  # said in the new language from this reply on
    await turn.say(t.LANGUAGE_SAVED.format(language=language_name(code)))


async def _offer(turn: Turn, text: str) -> None:
    buttons = [(name, (Kind.LANGUAGE, code)) for code, name in CHOICES]
    await turn.say(text, [buttons[i : i + 2] for i in range(0, len(buttons), 2)])
