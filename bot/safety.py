"""The words of an update that are screened for crisis words (Telegram glue for
`bot.rules.crisis`)."""

from __future__ import annotations

from collections.abc import Collection

from telegram import Update
from telegram.constants import ChatType

from bot.rules.crisis import command_name


def private_words(update: Update, commands: Collection[str] | None = None) -> str | None:
    """What a client wrote privately (text, caption or an edit), a command excepted: any
    "/name" by default, or only one of `commands` (so "/i want to die" is still read)."""
    message = update.effective_message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return None
    words = message.text or message.caption
    if not words:
        return None
    name = command_name(message.text or "")
    if name is not None and (commands is None or name in commands):
        return None
    return words
