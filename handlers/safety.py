"""Crisis words and /sos: crisis resources at once, never coaching."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import BetweenContext
from bot.safety import crisis_phrases, mentions_crisis
from bot.texts import en as t
from handlers.common import Turn
from storage.models import SafetyFlag

MAX_FLAGGED_WORDS = 2000


def crisis_text(turn: Turn) -> str:
    """The operator's crisis resources (`CRISIS_TEXT`), else a sensible default."""
    return turn.context.services.settings.crisis_text or t.DEFAULT_CRISIS


async def flag_if_crisis(turn: Turn, words: str, source: str) -> bool:
    """Answer crisis words with the crisis resources and flag them for the clinician."""
    phrases = crisis_phrases(turn.context.services.settings.crisis_phrases)
    if not mentions_crisis(words, phrases):
        return False
    user = await turn.user()
    if user.consent_version:  # nothing is stored about someone who has not agreed to it
        turn.session.add(
            SafetyFlag(user_id=user.id, source=source, words=words[:MAX_FLAGGED_WORDS])
        )
    await turn.say(t.CRISIS_REPLY.format(crisis=crisis_text(turn)))
    return True


async def screen(update: Update, context: BetweenContext) -> None:
    """Check every private text, caption or edit first; crisis words stop all other handling."""
    message = update.effective_message
    words = message and (message.text or message.caption)
    if words and await flag_if_crisis(Turn(update, context), words, "message"):
        raise ApplicationHandlerStop


async def sos(update: Update, context: BetweenContext) -> None:
    """Give the crisis resources."""
    turn = Turn(update, context)
    await turn.say(t.SOS.format(crisis=crisis_text(turn)))
