"""Small pieces every handler uses: replying with buttons and checking free-text answers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.callbacks import Button, keyboard
from bot.context import BetweenContext
from bot.languages import language_code
from bot.messages import split_message
from bot.texts import t
from scheduler.cues import local_now
from storage import repo
from storage.models import Conversation, User, utcnow

logger = logging.getLogger(__name__)

MAX_SHORT_ANSWER = 1000


@dataclass
class Turn:
    """One update from one client, with what handlers need to answer it."""

    update: Update
    context: BetweenContext
    version: int | None = None  # of the conversation step this turn is asking about

    @property
    def user_id(self) -> int:
        assert self.update.effective_user is not None
        return self.update.effective_user.id

    @property
    def session(self) -> AsyncSession:
        return self.context.session

    async def user(self) -> User:
        tg_user = self.update.effective_user
        assert tg_user is not None
        return await repo.ensure_user(
            self.session,
            tg_user.id,
            tg_user.first_name or "",
            language_code(tg_user.language_code),
        )

    async def set_conversation(self, flow: str, step: str, data: dict[str, Any]) -> Conversation:
        """Move the client to a step; answer buttons made from now on belong to it."""
        conversation = await repo.set_conversation(self.session, self.user_id, flow, step, data)
        self.version = conversation.data["_v"]
        return conversation

    def keyboard(
        self, rows: Sequence[Sequence[Button]], user_id: int | None = None
    ) -> InlineKeyboardMarkup:
        """An inline keyboard signed for this client (answers carry the step's version), or,
        given `user_id`, for someone else this turn writes to (a client, a supporter)."""
        signer = self.context.services.signer
        if user_id is not None:
            return keyboard(signer, user_id, rows)
        return keyboard(signer, self.user_id, rows, self.version)

    async def acknowledge(self, text: str | None = None) -> None:
        """Answer the button press; a replayed press is too old to answer, and that is fine."""
        query = self.update.callback_query
        assert query is not None
        try:
            await query.answer(text, show_alert=bool(text))
        except BadRequest:
            logger.info("callback query %s could not be answered (too old)", query.id)

    async def say(self, text: str, rows: Sequence[Sequence[Button]] | None = None) -> Message:
        """Send text, buttons under it; text over Telegram's limit (e.g. a card holding long
        answers) goes as several messages, the buttons under the last."""
        chat = self.update.effective_chat
        assert chat is not None
        markup = self.keyboard(rows) if rows else None
        *first, last = split_message(text) or [text]
        for piece in first:
            await self.context.bot.send_message(chat.id, piece)
        return await self.context.bot.send_message(chat.id, last, reply_markup=markup)


class Flow(Protocol):
    """A conversation a client can be in (onboarding, design, report, thought...): a module
    with its name, the question for the step it is on, and what to do with an answer to it.
    Its steps are a StrEnum whose values are what conversations and answer buttons store."""

    FLOW: str

    async def prompt(self, turn: Turn, conversation: Conversation) -> None: ...

    async def answer(
        self, turn: Turn, conversation: Conversation, text: str, pressed: bool
    ) -> None: ...


def short_answer(text: str, limit: int = MAX_SHORT_ANSWER) -> tuple[str | None, str | None]:
    """Return (answer, None) for a usable answer, or (None, a kind explanation)."""
    cleaned = text.strip()
    if not cleaned:
        return None, t.EMPTY_ANSWER
    if len(cleaned) > limit:
        return None, t.TOO_LONG.format(limit=f"{limit:,}")
    return cleaned, None


def local_today(user: User) -> date:
    return local_now(user.timezone or "UTC", utcnow()).date()


def one_per_row(buttons: Sequence[Button]) -> list[list[Button]]:
    return [[button] for button in buttons]
