"""Telegram handlers: thin wrappers that parse an update, call the logic, and reply."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.texts import en as t
from handlers import router


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register every handler, in the order Telegram updates are matched against them."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE

    # 0. Every update: a client who blocked the bot and writes again is active again.
    application.add_handler(TypeHandler(Update, router.seen), group=-1)

    # 1. Commands: they work from anywhere, including the middle of a flow.
    for name, callback in (
        ("start", router.start),
        ("new", router.new_practice),
        ("done", router.done),
        ("practices", router.list_practices),
        ("timezone", router.timezone),
        ("thought", router.thought_record),
        ("pause", router.pause),
        ("resume", router.resume),
        ("quiet", router.quiet),
        ("checkin", router.checkin),
        ("cancel", router.cancel),
        ("help", router.help_command),
    ):
        application.add_handler(CommandHandler(name, callback, filters=private))
    people = ("clinician", "invite", "summary", "export", "suggest", "support")
    people += ("link", "sharing", "supporter")  # the client's side
    application.add_handler(CommandHandler(people, router.people_command, filters=private))

    # 2. Buttons: signed callback data, routed by kind.
    application.add_handler(CallbackQueryHandler(router.button))

    # 3. Free text: the answer to the current step, or a friendly pointer.
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, router.text))

    # 4. Voice notes, audio files and video notes: transcribed by the workers.
    audio = filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE | filters.Document.AUDIO
    application.add_handler(MessageHandler(private & audio, router.voice_note))

    # 5. Everything else a client can send privately (unknown commands, stickers, photos...).
    application.add_handler(MessageHandler(private, router.other_message))

    # Errors: roll back the update's changes and apologise.
    application.add_error_handler(router.error)


async def publish_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Show the command list in Telegram's menu."""
    await application.bot.set_my_commands([BotCommand(n, d) for n, d in t.COMMAND_MENU])
