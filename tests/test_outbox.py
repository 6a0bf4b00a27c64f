"""Replies leave after the commit (bot/outbox.py): a slow Telegram holds back only its own chat,
a database fault never repeats a reply, a rollback sends nothing, each chat's replies arrive in
order, and what a crash left unsent goes out once at the next start.

Causal, not timed: Telegram is held for one chat (the stand-in's `hold_chat`) while another
client's update is stored, handled and answered.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.exc import DisconnectionError
from telegram import Bot

from bot.app import open_database
from bot.config import Settings
from bot.outbox import OutboxSender
from bot.texts import t
from sandbox.botapi import BotApiStandIn
from scheduler.dispatcher import SentJournal
from storage import outbox
from storage.db import Database, migrate
from storage.models import (
    InboxStatus,
    InboxUpdate,
    OutboxKind,
    OutboxMessage,
    User,
    utcnow,
)
from tests.support.databases import failing_commit
from tests.support.harness import Harness
from tests.support.processes import BotProcess

SAM, ALEX = 8101, 8102


async def _status(db: Database, update_id: int) -> InboxStatus | None:
    async with db.session() as session:
        return await session.scalar(
            select(InboxUpdate.status).where(InboxUpdate.update_id == update_id)
        )


async def _outbox_rows(db: Database) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


# ------------------------------------------------------------------ (a) a slow Telegram


async def test_telegram_slow_for_one_client_does_not_hold_back_another_clients_updates(
    harness: Harness,
) -> None:
    """Telegram holds every answer to Sam. While the bot is still waiting for Telegram to answer
    its first reply to Sam, Sam's update is already committed (its replies wait in the outbox),
    and Alex's update is stored, handled, its changes committed and its replies sent.

    Before the outbox, Sam's handler waited for Telegram inside the update's transaction:
    nothing of Sam's was committed until Telegram answered, and on SQLite that open write
    transaction (BEGIN IMMEDIATE) kept Alex's update from even being stored. The bot gave up on
    Telegram after its read timeout (5 s), rolled Sam's update back and tried it again, so
    Alex got through in that gap (slowed by 5 s, but inside the harness's 15 s), and Sam heard
    his first reply twice."""
    db = await harness.running_db()
    release = harness.fake.hold_chat("sendMessage", SAM)
    try:
        sams = harness.fake.send_text(SAM, "/start")
        await harness.fake.wait_until(
            lambda: len(_sends_to(harness.fake, SAM)) == 1,
            what="the bot to be waiting on Telegram for Sam",
        )

        # The cause: Sam's update does not wait for Telegram, so it holds nothing open.
        await _becomes(db, sams["update_id"], InboxStatus.DONE, within=10.0)
        async with harness.db.session() as session:
            assert await session.get(User, SAM) is not None  # Sam's changes are committed
            assert await outbox.unsent(session, sams["update_id"]) > 0  # his replies wait

        replies = await harness.send(ALEX, "/start")  # stored, handled, answered

        assert replies[0] == t.WELCOME.format(name="Sam") and replies[-1] == t.PRIVACY
        async with harness.db.session() as session:
            assert await session.get(User, ALEX) is not None  # Alex's changes are committed
            assert await outbox.unsent(session, sams["update_id"]) > 0  # Sam's still held
        assert len(_sends_to(harness.fake, SAM)) == 1  # still the first call, not given up
    finally:
        release.set()
    await harness.handled(sams["update_id"])
    assert await _status(db, sams["update_id"]) is InboxStatus.DONE
    texts = harness.fake.texts(SAM)
    assert texts[0] == t.WELCOME.format(name="Sam") and texts[-1] == t.PRIVACY
    assert len(texts) == len(set(texts)), texts  # each reply once


async def _becomes(db: Database, update_id: int, status: InboxStatus, within: float) -> None:
    """Wait (by the clock: a read may itself wait for SQLite's writer) for the update's status."""
    loop = asyncio.get_running_loop()
    deadline, now = loop.time() + within, None
    while loop.time() < deadline:
        if (now := await _status(db, update_id)) is status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"update {update_id} was {now}, not {status}, after {within} s")


def _sends_to(fake: BotApiStandIn, chat_id: int) -> list[dict[str, Any]]:
    return [p for p in _sends(fake) if p.get("chat_id") in (chat_id, str(chat_id))]


def _sends(fake: BotApiStandIn) -> list[dict[str, Any]]:
    return fake.calls_of("sendMessage")


# ------------------------------------------------------------------ (b) a database fault


async def test_a_database_fault_after_the_reply_went_out_does_not_repeat_the_reply(
    harness: Harness,
) -> None:
    """The update's commit fails once (the database dropped the connection), and the update is
    handled again: the client hears each reply once. Before the outbox the reply had already
    gone out inside the transaction, and went out again on the retry."""
    db = await harness.running_db()
    with failing_commit(db, lambda: DisconnectionError("injected: connection lost")) as raised:
        replies = await harness.send(SAM, "/start")
    assert raised  # the fault happened
    assert replies[0] == t.TRY_AGAIN_SOON  # as for any database outage
    replies = replies[1:]
    assert replies[0] == t.WELCOME.format(name="Sam") and replies[-1] == t.PRIVACY
    assert len(replies) == len(set(replies)), replies  # nothing said twice
    assert await _outbox_rows(db) == 0


async def test_a_reply_telegram_accepted_is_not_sent_again_when_its_row_cannot_be_deleted(
    harness: Harness, settings: Settings
) -> None:
    """The database fails right after Telegram accepted a reply (its row is not deleted): the
    sent journal, written first, keeps it from going out again; the row goes once the
    database answers, and the next reply of that chat goes out as usual."""
    db = await harness.running_db()
    engine = db.engine.sync_engine
    failed: list[int] = []

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if not failed and sql.lstrip().upper().startswith("DELETE FROM OUTBOX"):
            failed.append(1)
            raise DisconnectionError("injected: connection lost")

    event.listen(engine, "before_cursor_execute", statement)
    try:
        sent = harness.fake.send_text(SAM, "/help")
        await harness.fake.wait_until(lambda: bool(failed), what="the injected fault")
        await harness.restart()  # the journal is read at start: the row goes, nothing resent
        await harness.handled(sent["update_id"])
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    first = harness.fake.texts(SAM)
    assert first and len(first) == len(set(first)), first  # each once
    assert await harness.send(SAM, "/help") == first
    assert await _outbox_rows(harness.db) == 0


# ------------------------------------------------------------------ (c) a rollback


async def test_replies_of_an_update_whose_transaction_rolls_back_are_never_sent(
    harness: Harness,
) -> None:
    """A bug at commit: the update's changes roll back, so do its replies; the client gets the
    apology alone, now and after a restart. Before the outbox the reply went out first."""
    db = await harness.running_db()
    with failing_commit(db, lambda: RuntimeError("injected bug")) as raised:
        replies = await harness.send(SAM, "/start")
    assert raised
    assert replies == [t.SOMETHING_WENT_WRONG]
    async with harness.db.session() as session:
        assert await session.get(User, SAM) is None  # the changes rolled back too
    await harness.restart()
    assert await harness.send(ALEX, "/help")  # the restarted bot is up and answering
    assert harness.fake.texts(SAM) == [t.SOMETHING_WENT_WRONG]
    assert await _outbox_rows(db=harness.db) == 0


# ------------------------------------------------------------------ (d) order per chat


async def test_a_chats_replies_arrive_in_order_each_once_across_a_telegram_hiccup(
    harness: Harness,
) -> None:
    """/start answers with several messages; Telegram fails the second (502) once. The rest
    follow in order after it, none twice. Before the outbox the whole update was tried again,
    and the first message was sent a second time."""
    plain = await harness.send(ALEX, "/start")
    first = harness.fake.hold_next("sendMessage")
    sent = harness.fake.send_text(SAM, "/start")
    await harness.fake.wait_until(
        lambda: _last_to(harness.fake, SAM), what="Sam's first reply on its way"
    )
    harness.fake.fail_next("sendMessage", 502)  # the next call: Sam's second message
    first.set()

    await harness.handled(sent["update_id"])

    assert harness.fake.texts(SAM) == plain  # Alex got the same, without a hiccup


def _last_to(fake: BotApiStandIn, chat_id: int) -> bool:
    sends = _sends(fake)
    return bool(sends) and str(sends[-1].get("chat_id")) == str(chat_id)


# ------------------------------------------------------------------ (e) after a crash


async def test_replies_a_crash_left_unsent_are_sent_once_at_the_next_start(
    fake: BotApiStandIn, settings: Settings, tmp_path: Path
) -> None:
    """Telegram fails every call while Sam's /start is handled: the update is committed, its
    replies wait in the outbox; `kill -9`; at the next start they go out, once each, in order.
    (Before the outbox nothing was committed while Telegram failed.)"""
    db = open_database(settings)
    bot = BotProcess(settings, tmp_path / "bot.log")
    bot.start()
    try:
        await fake.wait_until(lambda: bool(fake.calls_of("getUpdates")), 60, "the bot to poll")
        fake.fail_next("sendMessage", 502, times=10_000)
        sent = fake.send_text(SAM, "/start")
        await fake.wait_until(lambda: bool(fake.calls_of("sendMessage")), 30, "a try to send")
        await _wait_for_status(db, sent["update_id"], InboxStatus.DONE)
        assert fake.texts(SAM) == []  # Telegram took none of them
        async with db.session() as session:
            assert await outbox.unsent(session, sent["update_id"]) >= 2
        bot.kill()
        fake.clear_faults()

        bot.start()
        await fake.wait_for(SAM, 2, timeout=60)
        await fake.wait_until(lambda: fake.texts(SAM)[-1:] == [t.PRIVACY], 30, "all of them")
        await _wait_for_empty_outbox(db)  # each row goes once Telegram has answered for it
    finally:
        if bot.process is not None and bot.process.poll() is None:
            bot.stop()
        await db.dispose()
    replies = fake.texts(SAM)
    assert replies[0] == t.WELCOME.format(name="Sam") and replies[-1] == t.PRIVACY
    assert len(replies) == len(set(replies)), replies


async def _wait_for_empty_outbox(db: Database) -> None:
    for _ in range(3000):
        if await _outbox_rows(db) == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox kept rows")


async def _wait_for_status(db: Database, update_id: int, status: InboxStatus) -> None:
    for _ in range(3000):
        if await _status(db, update_id) is status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"update {update_id} never became {status}")


# ------------------------------------------------------------- (f) instances sharing a journal


async def test_a_reply_an_instance_sent_before_it_died_is_not_sent_again_by_another(
    fake: BotApiStandIn, settings: Settings
) -> None:
    """Instance A sent a reply, wrote it in the shared journal and was killed before deleting
    its row. When A's claim has run out, instance B (started before A's send) takes the row:
    it reads the journal again, so it deletes the row instead of sending it a second time."""
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    db = open_database(settings)
    path = settings.data_dir / "sent-replies.journal"
    a_journal, b_journal = SentJournal(path), SentJournal(path)  # both instances running
    fake.send_text(SAM, "hi")  # Sam's chat exists at Telegram
    async with db.session() as session:
        row = outbox.add(session, SAM, OutboxKind.MESSAGE, update_id=1, text="hello once")
        await session.flush()
        row.claimed_by, row.claimed_until = "A", utcnow() - timedelta(seconds=1)  # run out
        row_id = row.id
    async with Bot(fake.token, base_url=settings.telegram_api_url) as bot:
        sent = await bot.send_message(SAM, "hello once")  # A's send, accepted by Telegram
        a_journal.record(row_id, sent.message_id, utcnow())  # then kill -9

        b = OutboxSender(db, bot, b_journal, "B", timedelta(seconds=120))
        await b.sweep()
        await fake.wait_until(lambda: not b._running, what="B to have drained what it took")
        await b.stop()
    assert await _outbox_rows(db) == 0
    assert fake.texts(SAM).count("hello once") == 1
    await db.dispose()


# ------------------------------------------------------------- (g) a row Telegram never takes


async def test_a_file_telegram_refuses_as_too_large_is_apologised_for_and_the_chat_goes_on(
    harness: Harness,
) -> None:
    """Telegram answers HTTP 413 to a file over its limit, every time (python-telegram-bot
    raises it as a NetworkError, like a passing hiccup). The row is refused with one apology,
    not retried for ever with every later reply to that chat waiting behind it."""
    await harness.onboard(SAM)
    harness.fake.fail_next("sendDocument", 413, description="Request Entity Too Large", times=1000)

    assert await harness.send(SAM, "/mydata") == [t.SOMETHING_WENT_WRONG]
    [helped] = await harness.send(SAM, "/help")
    assert helped.startswith(t.HELP.split("{", 1)[0])
    assert await _outbox_rows(harness.db) == 0


async def test_a_reply_still_in_flight_when_its_claim_would_run_out_is_not_sent_by_another(
    fake: BotApiStandIn, settings: Settings
) -> None:
    """One call can outlast a claim (the rate limiter sleeps out a 429's retry_after inside
    it). The sending instance keeps its claim while the call lasts, so another instance's
    sweep does not take the row and send it a second time."""
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    db = open_database(settings)
    fake.send_text(SAM, "hi")  # Sam's chat exists at Telegram
    async with db.session() as session:
        outbox.add(session, SAM, OutboxKind.MESSAGE, update_id=1, text="hello once")
    lease = timedelta(seconds=2)
    release = fake.hold_chat("sendMessage", SAM)
    async with Bot(fake.token, base_url=settings.telegram_api_url) as bot:
        a = OutboxSender(
            db, bot, SentJournal(settings.data_dir / "a" / "sent.journal"), "A", lease
        )
        b = OutboxSender(
            db, bot, SentJournal(settings.data_dir / "b" / "sent.journal"), "B", lease
        )
        try:
            a.kick(SAM)
            await fake.wait_until(lambda: len(_sends_to(fake, SAM)) == 1, what="A's call")
            await asyncio.sleep(lease.total_seconds() * 1.5)  # past the claim A took
            await b.sweep()
            await fake.wait_until(
                lambda: not b._running or len(_sends_to(fake, SAM)) > 1, what="B's sweep"
            )
        finally:
            release.set()
        await fake.wait_until(lambda: not a._running, what="A's call to be answered")
        await a.stop()
        await b.stop()
    assert fake.texts(SAM).count("hello once") == 1
    await db.dispose()
