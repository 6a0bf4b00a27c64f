"""Small pieces every handler uses: replying with buttons and checking free-text answers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update

from bot import outbox
from bot.callbacks import Button, keyboard
from bot.context import BetweenContext, current_unit
from bot.languages import language_code
from bot.messages import split_message
from bot.outbox import after_quiet_hours
from bot.texts import t
from scheduler.cues import local_now
from storage import repo
from storage.models import Conversation, OutboxKind, User, utcnow

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
        """Answer the button press once this update commits (a replayed press is too old to
        answer, and that is fine)."""
        query = self.update.callback_query
        assert query is not None
        self._queue(self.chat_id, OutboxKind.ANSWER, target=query.id, text=text)

    async def say(self, text: str, rows: Sequence[Sequence[Button]] | None = None) -> None:
        """Reply with text, buttons under it, once this update's changes are committed (the
        outbox, bot/outbox.py); text over Telegram's limit (e.g. a card holding long answers)
        goes as several messages, the buttons under the last."""
        markup = self.keyboard(rows) if rows else None
        *first, last = split_message(text) or [text]
        for piece in first:
            self.send(self.chat_id, piece)
        self.send(self.chat_id, last, markup)

    def send(
        self,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        to: User | None = None,
        if_sent: dict[str, Any] | None = None,
        if_refused: dict[str, Any] | None = None,
    ) -> None:
        """Queue a message to any chat, sent after the commit. A note to someone else (`to`)
        waits for the end of their quiet hours; `if_sent`/`if_refused`: storage.outbox.follow_up.
        """
        later = after_quiet_hours(to, utcnow()) if to is not None else None
        self._queue(
            chat_id,
            OutboxKind.MESSAGE,
            text=text,
            markup=markup,
            if_sent=if_sent,
            if_refused=if_refused,
            not_before=later,
        )

    def send_file(self, data: bytes, filename: str, caption: str, photo: bool = False) -> None:
        """Queue a document (or a photo) to this chat, after the replies queued before it."""
        kind = OutboxKind.PHOTO if photo else OutboxKind.DOCUMENT
        self._queue(self.chat_id, kind, data=data, filename=filename, text=caption)

    def edit_buttons(self, message_id: int, markup: InlineKeyboardMarkup | None) -> None:
        """Queue new buttons (None: none) under a message of this chat."""
        self._queue(self.chat_id, OutboxKind.EDIT_BUTTONS, target=str(message_id), markup=markup)

    @property
    def chat_id(self) -> int:
        chat = self.update.effective_chat
        assert chat is not None
        return chat.id

    def _queue(self, chat_id: int, kind: OutboxKind, **fields: Any) -> None:
        unit = current_unit.get()
        sender = self.context.services.outbox
        outbox.queue(unit, sender, chat_id, kind, update_id=self.update.update_id, **fields)


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
