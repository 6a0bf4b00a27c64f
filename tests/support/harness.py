"""The real bot, polling the Bot API stand-in, driven like a client would drive it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.app import open_database, serve
from bot.config import Settings
from bot.texts import speaking, supported, t
from sandbox.botapi import BotApiStandIn
from storage import outbox
from storage.db import Database
from storage.models import InboxStatus, InboxUpdate

CLINICIAN_CODE = "open-sesame-42"


def bot_settings(fake: BotApiStandIn, database_url: str, tmp_path: Path) -> Settings:
    """The bot against this fake Bot API and database: fast polling and dispatch."""
    return Settings(
        telegram_bot_token=fake.token,
        telegram_api_url=fake.api_url,
        telegram_file_url=fake.file_url,
        database_url=database_url,
        BETWEEN_DATA_DIR=tmp_path / "data",
        BETWEEN_POLL_TIMEOUT=1,
        BETWEEN_DISPATCH_INTERVAL=0.2,
        clinician_code=CLINICIAN_CODE,
        _env_file=None,
    )


class Harness:
    """Drive the real bot like a client would, and wait until it has handled each update."""

    def __init__(self, fake: BotApiStandIn, settings: Settings) -> None:
        self.fake = fake
        self.settings = settings
        self.db = open_database(settings)
        self.bot_db: Database | None = None  # the running bot's own, once it is up
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.db.check_key()  # this handle's keyed hashes (codes) are the bot's too
        self._stop = asyncio.Event()
        self.bot_db = None
        self._task = asyncio.create_task(serve(self.settings, self._stop, ready=self._ready))

    def _ready(self, db: Database) -> None:
        self.bot_db = db

    async def running_db(self) -> Database:
        """The running bot's own database handle, once it is up (to watch its engine)."""
        await self.fake.wait_until(lambda: self.bot_db is not None, what="the bot to be up")
        assert self.bot_db is not None
        return self.bot_db

    async def stop(self) -> None:
        assert self._stop is not None and self._task is not None
        self._stop.set()
        await asyncio.wait_for(self._task, 30)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def handled(self, update_id: int, timeout: float = 15.0) -> InboxStatus:
        """Wait until the bot has stored and finished handling this update, and its replies
        have left the outbox (they are sent after the commit)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self._task is not None and self._task.done():
                self._task.result()  # surface a crash of the bot
            async with self.db.session() as session:
                status = await session.scalar(
                    select(InboxUpdate.status).where(InboxUpdate.update_id == update_id)
                )
                waiting = await outbox.unsent(session, update_id)
            if status in (InboxStatus.DONE, InboxStatus.FAILED) and not waiting:
                return status
            await asyncio.sleep(0.02)
        raise AssertionError(f"update {update_id} was not handled within {timeout} s")

    async def _exchange(self, user_id: int, update: dict) -> list[str]:
        before = len(self.fake.sent(user_id))
        await self.handled(update["update_id"])
        return [m.get("text") or m.get("caption") or "" for m in self.fake.sent(user_id)[before:]]

    async def send(self, user_id: int, text: str) -> list[str]:
        """Send text as the client; return the texts the bot answered with."""
        return await self._exchange(user_id, self.fake.send_text(user_id, text))

    async def press(self, user_id: int, label: str) -> list[str]:
        """Press the button whose label contains `label` on the latest message with buttons."""
        return await self._exchange(user_id, self.fake.press_button(user_id, label))

    async def press_on(self, user_id: int, message: dict, label: str) -> list[str]:
        """Press a button on a specific (perhaps older) message."""
        update = self.fake.press_button(user_id, label, message_id=message["message_id"])
        return await self._exchange(user_id, update)

    async def onboard(self, user_id: int, zone: str = "London") -> None:
        """Run /start, consent and timezone, as every client does first (pressing the buttons
        in the language of their Telegram app)."""
        with speaking(supported(self.fake.language_codes.get(user_id))):
            consent, right = t.CONSENT_YES, t.TIMEZONE_RIGHT
        await self.send(user_id, "/start")
        await self.press(user_id, consent)
        await self.send(user_id, zone)
        await self.press(user_id, right)
