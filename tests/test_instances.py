"""Several instances on one PostgreSQL database (README, "Several instances"): the claims that
let two sessions, two dispatchers and two real `between run` processes share the work, each
update answered once and each nudge sent once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from telegram import Bot

from bot.app import open_database
from bot.callbacks import CallbackSigner
from bot.config import Settings
from bot.ingest import store_updates
from bot.rules.parsing import EVERY_DAY
from sandbox.botapi import BotApiStandIn
from scheduler.dispatcher import Dispatcher, round_size
from storage import inbox
from storage.claims import Claimant
from storage.db import Database, migrate
from storage.models import (
    Delivery,
    DeliveryStatus,
    InboxStatus,
    InboxUpdate,
    Practice,
    TranscriptionJob,
    User,
)
from tests.support.databases import empty_database
from tests.support.harness import bot_settings
from tests.support.processes import BotProcess

pytestmark = pytest.mark.postgres

FIRST = 7001
A, B = Claimant("a", 60.0), Claimant("b", 60.0)


def step_of(user_id: int) -> str:
    return f"read one page ({user_id})"


@pytest.fixture
async def postgres_url(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh PostgreSQL database (skipped when unreachable): the claims' row locks are
    PostgreSQL's; SQLite has one writer at a time anyway."""
    async with empty_database("postgres", tmp_path) as url:
        yield url


async def add_clients(db: Database, ids: list[int], due: datetime) -> None:
    """Consented clients (UTC, quiet hours off), each with a daily practice whose cue is `due`
    (its daily time an hour ago, so once it fires the next is about a day away)."""
    cue_time = (datetime.now(UTC) - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    async with db.session() as session:
        for user_id in ids:
            user = User(
                id=user_id,
                first_name="C",
                timezone="UTC",
                consent_version="v1",
                language="en",
                checkin_time=clock_time(0, 0),
                quiet_start=clock_time(0, 0),
                quiet_end=clock_time(0, 0),
            )
            session.add(user)
            session.add(
                Practice(
                    user=user,
                    goal="reading",
                    step=step_of(user_id),
                    anchor="after lunch",
                    days=EVERY_DAY,
                    cue_time=cue_time,
                    confidence=9,
                    next_fire_at=due,
                )
            )


def opened(url: str, tmp_path: Path) -> Database:
    """The database with the key of this test's data folder."""
    return open_database(Settings(database_url=url, BETWEEN_DATA_DIR=tmp_path, _env_file=None))


async def store_pending(db: Database, fake: BotApiStandIn, ids: list[int]) -> list[int]:
    """A /help from each client stored in the inbox but not handled (as a crash leaves it),
    with update ids below those the stand-in gives."""
    command = [{"type": "bot_command", "offset": 0, "length": 5}]
    payloads = [
        {"update_id": i, "message": fake.make_message(user_id, text="/help", entities=command)}
        for i, user_id in enumerate(ids, start=1)
    ]
    async with Bot(fake.token, base_url=fake.api_url) as bot:
        await store_updates(db, payloads, bot)
    return [int(p["update_id"]) for p in payloads]


async def test_two_sessions_never_take_the_same_pending_update(
    postgres_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate, postgres_url)
    db = opened(postgres_url, tmp_path)
    now = datetime.now(UTC)
    async with db.session() as session:
        for update_id in range(1, 201):
            session.add(
                InboxUpdate(
                    update_id=update_id,
                    payload={},
                    status=InboxStatus.PENDING,
                    received_at=now,
                )
            )
        # One left by an instance that stopped (its claim ran out), one held by a live one.
        session.add(
            InboxUpdate(
                update_id=201,
                payload={},
                status=InboxStatus.PENDING,
                received_at=now,
                claimed_by="gone",
                claimed_until=now - timedelta(seconds=1),
            )
        )
        session.add(
            InboxUpdate(
                update_id=202,
                payload={},
                status=InboxStatus.PENDING,
                received_at=now,
                claimed_by="alive",
                claimed_until=now + timedelta(minutes=5),
            )
        )

    async def take(claimant: Claimant) -> list[int]:
        async with db.session() as session:
            return await inbox.take_pending(session, claimant)

    first, second = await asyncio.gather(take(A), take(B))
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(1, 202))  # 202 stays with the live instance
    # Taken is taken: the other instance gets nothing more; the owner renews its own.
    assert await take(B if first else A) == []
    assert await take(A if first else B) == sorted(first or second)
    await db.dispose()


async def test_an_update_in_one_instances_hands_is_not_handled_by_the_other(
    postgres_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate, postgres_url)
    db = opened(postgres_url, tmp_path)
    async with db.session() as session:
        session.add(
            InboxUpdate(
                update_id=5, payload={}, status=InboxStatus.PENDING, received_at=datetime.now(UTC)
            )
        )
    async with db.sessions() as first:
        assert await inbox.take_for_handling(first, 5, A)
        async with db.sessions() as second:  # while A's handler runs: the row is locked
            assert not await inbox.take_for_handling(second, 5, B)
        await first.commit()  # A's handler stopped without marking it (a retry later)
    async with db.sessions() as second:  # A's claim holds until it runs out
        assert not await inbox.take_for_handling(second, 5, B)
    async with db.sessions() as again:
        assert await inbox.take_for_handling(again, 5, A)
    await db.dispose()


async def test_two_dispatchers_send_each_due_nudge_once(postgres_url: str, tmp_path: Path) -> None:
    await asyncio.to_thread(migrate, postgres_url)
    with BotApiStandIn() as fake:
        settings = bot_settings(fake, postgres_url, tmp_path)
        db = open_database(settings)
        clients = list(range(FIRST, FIRST + 30))
        now = datetime.now(UTC)
        await add_clients(db, clients, due=now - timedelta(seconds=1))
        for client in clients:
            fake.add_chat(client, "C")
        signer = CallbackSigner(b"k" * 32)
        async with Bot(fake.token, base_url=fake.api_url) as bot:
            first, second = (
                Dispatcher(db, bot, signer, grace=timedelta(hours=2), claimant=claimant)
                for claimant in (A, B)
            )
            await asyncio.gather(first.plan(now), second.plan(now))
            for _ in range(3):  # rounds at the same moment, as two processes' ticks may be
                await asyncio.gather(first.send_due(now), second.send_due(now))
        sent = {c: [m for m in fake.sent(c) if step_of(c) in m.get("text", "")] for c in clients}
        assert {c: len(messages) for c, messages in sent.items()} == dict.fromkeys(clients, 1)
        async with db.session() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(Delivery.status, func.count()).group_by(Delivery.status)
                    )
                ).all()
            )
        assert statuses == {DeliveryStatus.SENT: len(clients)}
        await db.dispose()


async def wait_for(
    condition: Callable[[], Awaitable[bool]],
    what: str,
    processes: list[BotProcess],
    timeout: float,
) -> None:
    """Until `condition` holds; a bot that stopped fails the test with its log's end."""
    deadline = time.monotonic() + timeout
    while not await condition():
        for process in processes:
            assert process.process is not None
            if process.process.poll() is not None:
                raise AssertionError(f"a bot stopped:\n{process.log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout} s")
        await asyncio.sleep(0.2)


async def test_two_between_run_processes_answer_each_update_once_and_send_each_nudge_once(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two `between run` on one database and one data folder, as behind one webhook URL:
    Telegram gives both every update (each process polls a stand-in of its own holding the
    same updates); updates a crash left in the inbox are there for both at start; a voice
    note's download takes a second, while the other instance sweeps the inbox twice a second.
    Every update is answered once and every due nudge is sent once, across both."""
    await asyncio.to_thread(migrate, postgres_url)
    with BotApiStandIn() as fake_a, BotApiStandIn() as fake_b:
        fakes = (fake_a, fake_b)
        settings: Settings = bot_settings(fake_a, postgres_url, tmp_path)
        db = open_database(settings)  # creates the data folder's key before both start
        clients = list(range(FIRST, FIRST + 40))
        left, live = clients[:20], clients[20:]
        await add_clients(db, clients, due=datetime.now(UTC) + timedelta(days=1))
        for fake in fakes:
            for client in clients:
                fake.add_chat(client, "C")
        await store_pending(db, fake_a, left)

        processes = [
            BotProcess(
                bot_settings(fake, postgres_url, tmp_path),
                tmp_path / f"{name}.log",
                BETWEEN_INSTANCE=name,
                BETWEEN_DISPATCH_INTERVAL="0.2",
                BETWEEN_INBOX_SWEEP_SECONDS="0.5",
                TRANSCRIBE_WORKERS="0",  # the voice notes wait for a worker: no model here
            )
            for name, fake in zip(("one", "two"), fakes, strict=True)
        ]
        for process in processes:
            process.start()
        try:
            for fake in fakes:
                fake.delay_next("getFile", 1.0, times=len(live))
            for client in live:  # the same update (and file) reaches both instances
                ids = {
                    fake.send_voice(client, b"OggS voice", duration=3)["update_id"]
                    for fake in fakes
                }
                assert len(ids) == 1
            async with db.session() as session:
                await session.execute(
                    update(Practice).values(next_fire_at=datetime.now(UTC) - timedelta(seconds=1))
                )

            def sent(client: int) -> list[str]:
                return [m.get("text", "") for fake in fakes for m in fake.sent(client)]

            async def all_done() -> bool:
                async with db.session() as session:
                    handled = await session.scalar(
                        select(func.count())
                        .select_from(InboxUpdate)
                        .where(InboxUpdate.status == InboxStatus.DONE)
                    )
                    delivered = await session.scalar(
                        select(func.count())
                        .select_from(Delivery)
                        .where(Delivery.status == DeliveryStatus.SENT)
                    )
                return (
                    handled == len(clients)
                    and delivered == len(clients)
                    and all(len(sent(c)) >= 2 for c in clients)
                )

            await wait_for(all_done, "every update handled and every nudge sent", processes, 90)
            await asyncio.sleep(1.5)  # a second copy of anything would have left by now
        finally:
            for process in processes:
                process.stop()
        nudges = {c: sum(step_of(c) in text for text in sent(c)) for c in clients}
        replies = {c: sum(step_of(c) not in text for text in sent(c)) for c in clients}
        assert nudges == dict.fromkeys(clients, 1)
        assert replies == dict.fromkeys(clients, 1)
        async with db.session() as session:
            jobs = await session.scalar(select(func.count()).select_from(TranscriptionJob))
        assert jobs == len(live)
        await db.dispose()


def test_a_send_round_is_no_bigger_than_the_send_rate_gets_out_within_its_claim() -> None:
    """At TELEGRAM_MAX_SEND_RATE=5 a round of 1,000 would take 200 s, past the 120 s claim,
    and another instance would send its tail again: the round is cut to half a claim's worth."""
    assert round_size(1000, 5, 120) == 300
    assert round_size(1000, 29, 120) == 1000  # the default: 34 s a round
    assert round_size(1000, 0.001, 120) == 1
    assert round_size(1000, None, 120) == 1000
