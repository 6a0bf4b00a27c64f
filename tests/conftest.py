"""Fixtures: a real database (SQLite, and PostgreSQL when reachable), the Bot API stand-in,
and the real bot polling it. The helpers they are built on live in tests/support/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from sandbox.botapi import BotApiStandIn
from storage.db import migrate
from tests.support.databases import empty_database
from tests.support.harness import Harness, bot_settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same suite runs on SQLite and, when it is reachable, on PostgreSQL."""
    async with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def fake() -> Iterator[BotApiStandIn]:
    with BotApiStandIn() as server:
        yield server


@pytest.fixture
def settings(fake: BotApiStandIn, database_url: str, tmp_path: Path) -> Settings:
    return bot_settings(fake, database_url, tmp_path)


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
