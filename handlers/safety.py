"""Crisis words and /sos: crisis resources at once, never coaching."""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import BetweenContext
from bot.rules.crisis import MAX_FLAGGED_WORDS, crisis_phrases, crisis_resources, mentions_crisis
from bot.safety import private_words
from bot.texts import t
from handlers.common import Turn
from storage.models import SafetyFlag, User


def crisis_text(turn: Turn) -> str:
    return crisis_resources(turn.context.services.settings)


def screen_all_but(
    commands: Collection[str],
) -> Callable[[Update, BetweenContext], Coroutine[Any, Any, None]]:
    """The screen for everything but these commands (a clinician's `/suggest` about suicide
    prevention is not a crisis; "/ I want to die", or an unknown "/i want to die", is)."""
    names = frozenset(commands)

    async def screen_words(update: Update, context: BetweenContext) -> None:
        await screen(update, context, names)

    return screen_words


async def screen(
    update: Update, context: BetweenContext, commands: Collection[str] | None = None
) -> None:
    """Crisis words get the crisis resources first (no database needed), then a flag for the
    clinician; every other handler is stopped, so nothing answers them with coaching."""
    words = private_words(update, commands)
    settings = context.services.settings
    if not words or not mentions_crisis(words, crisis_phrases(settings.crisis_phrases)):
        return
    turn = Turn(update, context)
    await turn.say(t.CRISIS_REPLY.format(crisis=crisis_text(turn)))
    user = await turn.session.get(User, turn.user_id)
    if user is not None and user.consent_version:  # nothing stored without consent
        turn.session.add(
            SafetyFlag(user_id=user.id, source="message", words=words[:MAX_FLAGGED_WORDS])
        )
    raise ApplicationHandlerStop


async def sos(turn: Turn) -> None:
    """Give the crisis resources."""
    await turn.say(t.SOS.format(crisis=crisis_text(turn)))
