"""The typed context handlers receive: services and this update's database session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, CallbackContext, ExtBot

from bot.callbacks import CallbackSigner
from bot.config import Settings
from bot.metrics import Metrics
from storage.db import Database
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.outbox import OutboxSender

SERVICES_KEY = "services"


@dataclass
class UnitOfWork:
    """The session that one update's handlers share; committed with the inbox row."""

    session: AsyncSession
    failed: bool = False
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # Undo what the database cannot, such as a downloaded file, when the changes are not kept.
    after_rollback: list[Callable[[], None]] = field(default_factory=list)
    outbox_chats: set[int] = field(default_factory=set)  # chats with replies queued (bot.outbox)


current_unit: ContextVar[UnitOfWork] = ContextVar("current_unit")


@dataclass
class Services:
    """What handlers and jobs need, passed in instead of living in globals."""

    settings: Settings
    db: Database
    signer: CallbackSigner
    jobs_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    # The bot's "now": the dispatcher and handlers read it; `between sandbox` moves it forward.
    clock: Callable[[], datetime] = utcnow
    outbox: OutboxSender | None = None  # sends replies once their update has committed
    # This process's Prometheus metrics (bot/metrics.py), served at /metrics.
    metrics: Metrics = field(default_factory=Metrics)


class BetweenContext(
    CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]
):
    """CallbackContext with typed access to Between's services and the update's session."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        return self.application.bot_data[SERVICES_KEY]

    @property
    def session(self) -> AsyncSession:
        """Return the session opened for the update being handled."""
        return current_unit.get().session

    def pack(self, *parts: object) -> str:
        """Sign button data for the user this update came from."""
        assert self._user_id is not None
        return self.services.signer.pack(self._user_id, *parts)
