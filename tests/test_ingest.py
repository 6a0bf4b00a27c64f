"""Durable ingest: stored before confirmed, handled once, replayed after a crash."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError
from telegram import Bot

from bot.app import open_database
from bot.config import Settings
from bot.faults import is_database_outage
from bot.ingest import store_updates
from bot.texts import t
from sandbox.botapi import BotApiStandIn
from storage.crypto import TextCipher
from storage.db import Database, migrate
from storage.models import InboxStatus, InboxUpdate, Outcome, Practice, Report
from tests.support.databases import empty_database
from tests.support.harness import Harness, bot_settings
from tests.support.practices import saved_practice
from tests.support.processes import BotProcess

SAM = 3001


async def count(db: Database, model: type) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_duplicate_delivery_is_stored_once_and_not_handled_again(
    fake: BotApiStandIn, settings: Settings
) -> None:
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    db = open_database(settings)
    payload = fake.send_text(SAM, "hello")
    async with Bot(fake.token, base_url=fake.api_url) as bot:
        first = await store_updates(db, [payload], bot)
        again = await store_updates(db, [payload], bot)
    assert [u.update_id for u in first] == [payload["update_id"]]
    assert again == []
    assert await count(db, InboxUpdate) == 1
    await db.dispose()


async def test_updates_stored_before_a_crash_are_handled_at_start(
    fake: BotApiStandIn, settings: Settings
) -> None:
    """Updates stored but not handled (the process died) are replayed once, in order; the
    same button pressed three times is one try, and the raw updates are gone once handled."""
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    harness = Harness(fake, settings)
    await harness.start()
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/done")
    await harness.stop()

    message_id = fake.last(SAM)["message_id"]
    did_it = dict(fake.buttons(fake.last(SAM)))["Did it"]
    presses = [fake.press(SAM, message_id, did_it) for _ in range(3)]
    async with Bot(fake.token, base_url=fake.api_url) as bot:
        await store_updates(harness.db, presses, bot)
        # Confirmed, so Telegram forgets them: only our inbox has them now.
        await bot.get_updates(offset=presses[-1]["update_id"] + 1, timeout=0)
    assert fake.pending_updates() == []

    await harness.start()
    for press in presses:
        assert await harness.handled(press["update_id"]) == InboxStatus.DONE
    assert await count(harness.db, Report) == 1
    noted = [a for a in fake.answered_callbacks if a.get("text") == t.ALREADY_NOTED]
    assert len(noted) == 2
    async with harness.db.session() as session:
        payloads = (await session.scalars(select(InboxUpdate.payload))).all()
    assert payloads and all(payload is None for payload in payloads)
    await harness.stop()
    await harness.db.dispose()


async def test_unreadable_update_is_set_aside_and_the_rest_handled(harness: Harness) -> None:
    broken = harness.fake.push_update(
        {"message": harness.fake.make_message(SAM, sticker={"file_id": "no-fields"})}
    )
    after = harness.fake.send_text(SAM, "/help")

    assert await harness.handled(after["update_id"]) == InboxStatus.DONE
    assert await harness.handled(broken["update_id"]) == InboxStatus.FAILED


async def test_kill_9_with_updates_in_flight_loses_nothing_and_doubles_nothing(
    fake: BotApiStandIn, settings: Settings, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    harness = Harness(fake, settings)
    await harness.start()
    clients = [SAM + i for i in range(4)]
    for client in clients:
        await saved_practice(harness, client)
        await harness.send(client, "/done")
    await harness.stop()

    process = BotProcess(settings, tmp_path / "bot.log")
    process.start()
    # Each client double-taps each answer on their "How did it go?" message.
    asked = {client: fake.last(client) for client in clients}
    presses = []
    for label in ("Did it", "Did it", "Partly", "Partly", "Not today", "Not today"):
        for client in clients:
            data = dict(fake.buttons(asked[client]))[label]
            presses.append(fake.press(client, asked[client]["message_id"], data))
    # Kill as soon as the bot has started working through the burst.
    await fake.wait_until(lambda: fake.confirmed_offset > presses[0]["update_id"], timeout=30)
    process.kill()

    process.start()
    try:
        for press in presses:
            assert await harness.handled(press["update_id"], timeout=30) == InboxStatus.DONE
    finally:
        process.stop()

    async with harness.db.session() as session:
        reports = (
            await session.execute(
                select(Practice.user_id, Report.outcome).join(
                    Report, Report.practice_id == Practice.id
                )
            )
        ).all()
    assert Counter(reports) == Counter(
        (client, outcome) for client in clients for outcome in Outcome
    )
    await harness.db.dispose()


FLOOD = 3901
PENDING_AT_START = 40_000  # more than asyncpg's 32,767 parameters in one statement


async def test_forty_thousand_pending_updates_on_postgres_are_all_queued_at_start(
    fake: BotApiStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A long outage can leave tens of thousands of updates pending: the bot still starts,
    queues every one of them, and then answers a new client."""
    async with empty_database("postgres", tmp_path) as url:
        settings = bot_settings(fake, url, tmp_path)
        await asyncio.to_thread(migrate, url)
        harness = Harness(fake, settings)
        message = fake.make_message(FLOOD, text="hello")
        first = 1_000_000  # above the fake's own update ids
        rows = [
            {"update_id": i, "chat_id": FLOOD, "payload": {"update_id": i, "message": message}}
            for i in range(first, first + PENDING_AT_START)
        ]
        async with harness.db.session() as session:
            await session.execute(insert(InboxUpdate), rows)
        caplog.set_level(logging.INFO, logger="bot.ingest")

        await harness.start()
        try:
            # Start parses every pending update before polling (README, "Limits worth
            # knowing"), so allow for that on a loaded machine; this is not a speed check.
            update = fake.send_text(SAM, "/start")
            assert await harness.handled(update["update_id"], timeout=180) == InboxStatus.DONE
            assert "Between" in "\n".join(m.get("text", "") for m in fake.sent(SAM))
        finally:
            await harness.stop()
            await harness.db.dispose()

    queued = [r.getMessage() for r in caplog.records if "unfinished updates" in r.getMessage()]
    assert f"queued {PENDING_AT_START} unfinished updates again" in queued


async def test_a_statement_with_too_many_parameters_is_a_bug_not_an_outage(
    tmp_path: Path,
) -> None:
    async with empty_database("postgres", tmp_path) as url:
        await asyncio.to_thread(migrate, url)
        db = Database(url, TextCipher([Fernet.generate_key()]))
        try:
            async with db.session() as session:
                with pytest.raises(DBAPIError) as caught:
                    await session.scalars(
                        select(InboxUpdate.update_id).where(
                            InboxUpdate.update_id.in_(range(PENDING_AT_START))
                        )
                    )
        finally:
            await db.dispose()

    assert not is_database_outage(caught.value)
