"""Durable ingest: store each update before Telegram is told it arrived, handle it once.

python-telegram-bot's Updater confirms updates before handlers finish, so a crash would
lose what was in flight. Here the Application runs without an Updater: `Poller` stores a
batch of updates (unique `update_id`) and only then asks for the next batch, which is what
confirms the previous one to Telegram. `DurableProcessor` runs each update's handlers in
one database session and marks the inbox row handled in the same commit, so a crash
either keeps everything the handlers did or nothing, and `replay_unfinished` hands the
unfinished rows back to the Application at start.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, BaseUpdateProcessor
from telegram.warnings import PTBUserWarning

from bot.context import UnitOfWork, current_unit
from storage.db import Database, insert_ignoring_duplicates
from storage.models import InboxStatus, InboxUpdate, utcnow

logger = logging.getLogger(__name__)

# getUpdates is called through do_api_request on purpose: the raw JSON is what we store, and
# one update python-telegram-bot cannot parse must not block the whole batch.
warnings.filterwarnings("ignore", message=".*getUpdates", category=PTBUserWarning)


def _chat_key(update: object | None) -> int | None:
    if isinstance(update, Update):
        if update.effective_chat:
            return update.effective_chat.id
        if update.effective_user:
            return update.effective_user.id
    return None


def parse_update(payload: dict[str, Any], bot: Bot) -> Update | None:
    """Parse one raw update; None if python-telegram-bot cannot read it."""
    try:
        return Update.de_json(payload, bot)
    except Exception:  # one unreadable update must not stop the others
        logger.exception("could not parse update %s", payload.get("update_id"))
        return None


async def store_updates(
    db: Database, payloads: Sequence[dict[str, Any]], bot: Bot
) -> list[Update]:
    """Insert raw updates into the inbox; return the new ones, parsed (duplicates change nothing).

    An update that cannot be parsed is stored as failed, so it is confirmed and never blocks
    the updates after it.
    """
    if not payloads:
        return []
    parsed = {p["update_id"]: parse_update(p, bot) for p in payloads}
    rows = [
        {
            "update_id": p["update_id"],
            "chat_id": _chat_key(parsed[p["update_id"]]),
            "payload": p,
            "status": InboxStatus.PENDING if parsed[p["update_id"]] else InboxStatus.FAILED,
            "received_at": utcnow(),
        }
        for p in payloads
    ]
    dialect = "sqlite" if db.is_sqlite else "postgresql"
    statement = insert_ignoring_duplicates(dialect, InboxUpdate, rows, "update_id").returning(
        InboxUpdate.update_id
    )
    async with db.session() as session:
        fresh = set((await session.scalars(statement)).all())
    return [u for i, u in parsed.items() if i in fresh and u is not None]


async def replay_unfinished(
    db: Database, application: Application[Any, Any, Any, Any, Any, Any]
) -> int:
    """Queue the updates that were stored but not handled before the last stop."""
    async with db.session() as session:
        rows = (
            await session.scalars(
                select(InboxUpdate)
                .where(InboxUpdate.status == InboxStatus.PENDING)
                .order_by(InboxUpdate.update_id)
            )
        ).all()
    for row in rows:
        update = parse_update(row.payload, application.bot)
        if update is not None:
            await application.update_queue.put(update)
    if rows:
        logger.info("replaying %d unfinished updates", len(rows))
    return len(rows)


class DurableProcessor(BaseUpdateProcessor):
    """Handle different chats concurrently, each chat's updates in order, each in one commit."""

    def __init__(self, db: Database, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._db = db
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_users: dict[int, int] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await self._handle(update, coroutine)
            return
        lock = self._chat_locks.setdefault(key, asyncio.Lock())
        self._chat_users[key] = self._chat_users.get(key, 0) + 1
        try:
            async with lock:
                await self._handle(update, coroutine)
        finally:
            self._chat_users[key] -= 1
            if not self._chat_users[key]:
                del self._chat_users[key], self._chat_locks[key]

    async def _handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        unit: UnitOfWork | None = None
        async with self._db.session() as session:
            unit = UnitOfWork(session)
            token = current_unit.set(unit)
            try:
                await coroutine
            finally:
                current_unit.reset(token)
            if isinstance(update, Update):
                status = InboxStatus.FAILED if unit.failed else InboxStatus.DONE
                await session.execute(
                    sql_update(InboxUpdate)
                    .where(InboxUpdate.update_id == update.update_id)
                    .values(status=status, handled_at=utcnow())
                )
        for callback in unit.after_commit if unit and not unit.failed else ():
            callback()


def retry_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (an int or a timedelta, by PTB's settings)."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Poller:
    """Long-poll getUpdates, storing each batch before the next call confirms it."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        db: Database,
        timeout: int = 30,
    ) -> None:
        self._application = application
        self._db = db
        self._timeout = timeout

    async def run(self) -> None:
        """Poll until cancelled."""
        offset: int | None = None
        backoff = 1.0
        bot = self._application.bot
        while True:
            try:
                payloads: list[dict[str, Any]] = await bot.do_api_request(
                    "getUpdates",
                    api_kwargs={
                        "offset": offset,
                        "timeout": self._timeout,
                        "allowed_updates": Update.ALL_TYPES,
                    },
                    read_timeout=self._timeout + 10,
                )
            except RetryAfter as error:
                await asyncio.sleep(retry_seconds(error))
                continue
            except TelegramError as error:
                logger.warning(
                    "getUpdates failed (%s); retrying in %.0f s", type(error).__name__, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            if not payloads:
                continue
            try:
                fresh = await store_updates(self._db, payloads, bot)
            except SQLAlchemyError:
                # Not stored, so not confirmed: Telegram serves the same batch again.
                logger.exception("could not store updates; retrying in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            for update in fresh:
                await self._application.update_queue.put(update)
            offset = payloads[-1]["update_id"] + 1
