"""Fixtures: a real database (SQLite, and PostgreSQL when reachable), the fake Bot API
server, and the real bot polling it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import open_database, serve
from bot.config import Settings
from sandbox.botapi import BotApiStandIn
from storage.db import migrate
from storage.models import InboxStatus, InboxUpdate

POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
CLINICIAN_CODE = "open-sesame-42"
POSTGRES_ADMIN_URL = f"postgresql+asyncpg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"


def postgres_reachable() -> bool:
    with (
        contextlib.suppress(OSError),
        socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=1),
    ):
        return True
    return False


@contextlib.asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """Create an empty database for one test and drop it afterwards."""
    import asyncpg

    name = f"between_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(user="postgres", host=POSTGRES_HOST, database="test")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def empty_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database: "sqlite" in the test's folder, or "postgres" (skipped if unreachable)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'between.db'}"
        return
    if not postgres_reachable():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    async with fresh_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same suite runs on SQLite and, when it is reachable, on PostgreSQL."""
    async with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def fake() -> Iterator[BotApiStandIn]:
    with BotApiStandIn() as server:
        yield server


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


@pytest.fixture
def settings(fake: BotApiStandIn, database_url: str, tmp_path: Path) -> Settings:
    return bot_settings(fake, database_url, tmp_path)


class Harness:
    """Drive the real bot like a client would, and wait until it has handled each update."""

    def __init__(self, fake: BotApiStandIn, settings: Settings) -> None:
        self.fake = fake
        self.settings = settings
        self.db = open_database(settings)
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(serve(self.settings, self._stop))

    async def stop(self) -> None:
        assert self._stop is not None and self._task is not None
        self._stop.set()
        await asyncio.wait_for(self._task, 30)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def handled(self, update_id: int, timeout: float = 15.0) -> InboxStatus:
        """Wait until the bot has stored and finished handling this update."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self._task is not None and self._task.done():
                self._task.result()  # surface a crash of the bot
            async with self.db.session() as session:
                status = await session.scalar(
                    select(InboxUpdate.status).where(InboxUpdate.update_id == update_id)
                )
            if status in (InboxStatus.DONE, InboxStatus.FAILED):
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
        """Run /start, consent and timezone, as every client does first."""
        await self.send(user_id, "/start")
        await self.press(user_id, "Yes, that's okay")
        await self.send(user_id, zone)
        await self.press(user_id, "Yes, that's right")


@pytest.fixture
async def harness(fake: BotApiStandIn, settings: Settings) -> AsyncIterator[Harness]:
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    running = Harness(fake, settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
        await running.db.dispose()
