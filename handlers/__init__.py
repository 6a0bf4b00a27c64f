"""Telegram handlers: thin wrappers that parse an update, call the logic, and reply."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.ingest import ignore_double_taps
from bot.texts import LANGUAGES, SOURCE, speaking, t
from handlers import router, safety
from handlers.router import COMMANDS

# Nothing else that starts with "/" is a command (it is read, and screened).
COMMAND_NAMES = frozenset(command.name for command in COMMANDS)
# The commands whose arguments the crisis screen does not read (a code, a clinician's text).
UNSCREENED = frozenset(command.name for command in COMMANDS if not command.screened)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register every handler, in the order Telegram updates are matched against them."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE

    # Groups below 0 run first, each its own check; one may stop everything after it.
    # -3. Private text, captions and edits (commands too, but UNSCREENED): crisis words get the
    # crisis resources at once, before anything that needs the database, and nothing else.
    words = filters.ChatType.PRIVATE & (filters.TEXT | filters.CAPTION)
    application.add_handler(MessageHandler(words, safety.screen_all_but(UNSCREENED)), group=-3)

    # -2. A second press of a report button on the same message: noted once, kindly.
    application.add_handler(TypeHandler(Update, ignore_double_taps), group=-2)

    # -1. Every private update: blocking the bot stops nudges; writing again restarts them.
    application.add_handler(TypeHandler(Update, router.seen), group=-1)

    # 1. Commands: they work from anywhere, including the middle of a flow.
    # Each passes the same guard as the buttons (handlers/router.py: COMMANDS, BUTTON_ROUTES).
    for command in COMMANDS:
        application.add_handler(CommandHandler(command.name, command.run, filters=private))

    # 2. Buttons: signed callback data, routed by kind.
    application.add_handler(CallbackQueryHandler(router.button))

    # 3. Free text: the answer to the current step, or a friendly pointer.
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, router.text))

    # 4. Voice notes, audio files and video notes: transcribed by the workers.
    audio = filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE | filters.Document.AUDIO
    application.add_handler(MessageHandler(private & audio, router.voice_note))

    # 5. Everything else a client can send privately (unknown commands, stickers, photos...).
    application.add_handler(MessageHandler(private, router.other_message))

    # 6. An edited text is not read again; the client is told so.
    edited = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE & filters.TEXT
    application.add_handler(MessageHandler(edited, router.edited_message))

    # 7. Groups: a command meant for the bot, or being added, gets one pointer to a private
    # chat; nothing else from a group (or a channel) is read.
    in_group = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & filters.COMMAND
    application.add_handler(MessageHandler(in_group, router.group_command))
    application.add_handler(ChatMemberHandler(router.bot_added, ChatMemberHandler.MY_CHAT_MEMBER))

    # Errors: roll back the update's changes and apologise.
    application.add_error_handler(router.error)


async def publish_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Show the command list in Telegram's menu in each language (English names, translated
    descriptions): English for everyone by default, and each catalog's for its language_code."""
    for language in LANGUAGES:
        with speaking(language):
            lines = t.COMMAND_MENU
            menu = [BotCommand(c.name, lines[c.name]) for c in COMMANDS if c.name in lines]
        code = None if language == SOURCE else language
        await application.bot.set_my_commands(menu, language_code=code)
