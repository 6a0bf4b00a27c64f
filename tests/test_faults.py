"""Faults a client on a bad day must not notice: Telegram answering 429, 500 or nothing, the
database going away, the bot killed at any moment, a client flooding the bot, a double tap.

Everything is real: the Application over HTTP against the fake Bot API, real databases, the
real Whisper model. The long runs (kill -9 twenty times, PostgreSQL stopped) are marked
`faults`; they run in the default suite too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from telegram import Bot

from bot.callbacks import CallbackSigner
from bot.config import Settings
from bot.ingest import prune_handled, store_updates
from bot.texts import t
from sandbox.botapi import BotApiStandIn
from storage.db import migrate
from storage.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    InboxStatus,
    InboxUpdate,
    JobStatus,
    Practice,
    Report,
    TranscriptionJob,
)
from tests.support.databases import POSTGRES_HOST, POSTGRES_PORT, postgres_reachable
from tests.support.harness import Harness, bot_settings
from tests.support.nudges import NUDGE, client_ready_for_nudges, make_due
from tests.support.processes import BotProcess
from tests.support.voice import AUDIO
from transcription.worker import TranscriptionWorker

SAM, ALEX = 6001, 6002
HELP_START = t.HELP.split("{", 1)[0][:40]
# Telegram's faults do not depend on the database: SQLite is enough.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Sweep the inbox often, and a flood gate small enough to see within a test."""
    return settings.model_copy(
        update={"inbox_sweep_seconds": 0.5, "flood_burst": 5, "flood_rate": 2.0}
    )


async def inbox_row(harness: Harness, update_id: int) -> InboxUpdate | None:
    async with harness.db.session() as session:
        return await session.get(InboxUpdate, update_id)


async def count_reports(harness: Harness) -> int:
    async with harness.db.session() as session:
        return await session.scalar(select(func.count()).select_from(Report)) or 0


def helps(fake: BotApiStandIn, user_id: int) -> int:
    return sum(text.startswith(HELP_START) for text in fake.texts(user_id))


# ----------------------------------------------------------------------------- the inbox


async def test_a_handled_update_keeps_its_row_but_not_its_payload_and_old_rows_go(
    harness: Harness,
) -> None:
    update_ = harness.fake.send_text(SAM, "/help")
    assert await harness.handled(update_["update_id"]) == InboxStatus.DONE

    row = await inbox_row(harness, update_["update_id"])
    assert row is not None and row.payload is None  # the row stays, to recognise a resend

    assert await prune_handled(harness.db, timedelta(hours=48)) == 0
    async with harness.db.session() as session:
        await session.execute(
            update(InboxUpdate).values(handled_at=datetime.now(UTC) - timedelta(hours=49))
        )
    assert await prune_handled(harness.db, timedelta(hours=48)) == 1
    assert await inbox_row(harness, update_["update_id"]) is None


async def test_a_pending_row_no_one_is_working_on_is_queued_again_while_running(
    harness: Harness,
) -> None:
    """Not only at start: the periodic sweep hands forgotten pending rows back."""
    payload = harness.fake.send_text(SAM, "/help")
    async with Bot(harness.fake.token, base_url=harness.fake.api_url) as bot:
        # Stored and confirmed behind the running bot's back: only the inbox has it now.
        await store_updates(harness.db, [payload], bot)
        await bot.get_updates(offset=payload["update_id"] + 1, timeout=0)

    assert await harness.handled(payload["update_id"]) == InboxStatus.DONE
    assert helps(harness.fake, SAM) == 1


# ----------------------------------------------------------------------------- one client, many


async def test_a_flooding_client_slows_down_only_themself(
    harness: Harness, settings: Settings
) -> None:
    fake = harness.fake
    flood = [fake.send_text(SAM, f"hi {i}") for i in range(300)]
    help_ = fake.send_text(ALEX, "/help")

    await harness.handled(help_["update_id"], timeout=60)
    answered_before_help = len(fake.sent(SAM))
    assert helps(fake, ALEX) == 1
    # Order, not time: without per-client flood control, /help would wait behind ~240 of them.
    assert answered_before_help < 100

    # Nothing of the flood is lost: what was still waiting at a stop is handled after it.
    await harness.stop()
    harness.settings = settings.model_copy(update={"flood_rate": 0.0})
    await harness.start()
    for update_ in flood:
        assert await harness.handled(update_["update_id"], timeout=60) == InboxStatus.DONE
    assert fake.texts(SAM) == [t.FALLBACK] * 300


async def test_a_double_tap_on_did_it_records_one_try_and_says_it_is_noted(
    harness: Harness,
) -> None:
    fake = harness.fake
    await client_ready_for_nudges(harness, SAM)
    before = len(fake.sent(SAM))
    await make_due(harness, SAM)
    [nudge] = (await fake.wait_for(SAM, before + 1))[before:]
    reports_before = await count_reports(harness)

    fake.press_button(SAM, "Did it", message_id=nudge["message_id"])
    await asyncio.sleep(0.01)
    second = fake.press_button(SAM, "Did it", message_id=nudge["message_id"])
    assert await harness.handled(second["update_id"]) == InboxStatus.DONE

    assert await count_reports(harness) == reports_before + 1
    assert fake.texts(SAM)[before + 1 :] == [t.ACK_DID, t.ASK_REFLECTION]
    noted = [a for a in fake.answered_callbacks if a.get("text") == t.ALREADY_NOTED]
    assert len(noted) == 1


async def test_a_text_and_a_button_10_ms_apart_are_handled_one_after_the_other(
    harness: Harness,
) -> None:
    fake = harness.fake
    await client_ready_for_nudges(harness, SAM)
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Did it")
    asked = fake.last(SAM)
    before = len(fake.sent(SAM))

    fake.send_text(SAM, "a calm walk")
    await asyncio.sleep(0.01)
    skip = fake.press_button(SAM, "Skip", message_id=asked["message_id"])
    await harness.handled(skip["update_id"])

    # The reflection was taken first; the Skip under the question it answered is then stale.
    assert fake.texts(SAM)[before:] == [t.REFLECTION_SAVED, f"{t.STALE_BUTTON_SHORT} {t.FALLBACK}"]
    async with harness.db.session() as session:
        report = await session.scalar(select(Report).order_by(Report.id.desc()).limit(1))
    assert report is not None and report.reflection == "a calm walk"


# ----------------------------------------------------------------------------- Telegram faults


@SQLITE_ONLY
@pytest.mark.parametrize("fault", ["500", "429", "dropped", "late"])
async def test_a_reply_telegram_did_not_take_is_sent_again_not_lost(
    harness: Harness, fault: str
) -> None:
    fake = harness.fake
    await harness.onboard(SAM)
    if fault == "500":
        fake.fail_next("sendMessage", 500, times=2)
    elif fault == "429":  # more than the rate limiter's own three retries
        fake.fail_next("sendMessage", 429, retry_after=1, times=5)
    elif fault == "dropped":
        fake.drop_next("sendMessage", times=2)
    else:  # answered after the bot stopped waiting: it took effect, but the bot cannot know
        fake.delay_next("sendMessage", 6)

    update_ = fake.send_text(SAM, "/help")

    assert await harness.handled(update_["update_id"], timeout=60) == InboxStatus.DONE
    # Honest about the one case that repeats: Telegram showed the late one, and the bot,
    # having stopped waiting, could not know (the Bot API has no idempotency key).
    assert helps(fake, SAM) == (2 if fault == "late" else 1)
    assert t.SOMETHING_WENT_WRONG not in fake.texts(SAM)


@SQLITE_ONLY
async def test_a_reply_telegram_refuses_as_a_bug_is_apologised_for_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The update's changes are committed before its replies leave (the outbox), so a refused
    reply no longer fails the update: it is logged as our bug and the client gets one apology."""
    await harness.onboard(SAM)
    harness.fake.fail_next("sendMessage", 400, description="Bad Request: message is too long")

    update_ = harness.fake.send_text(SAM, "/help")

    assert await harness.handled(update_["update_id"]) == InboxStatus.DONE
    await harness.fake.wait_until(lambda: t.SOMETHING_WENT_WRONG in harness.fake.texts(SAM))
    assert helps(harness.fake, SAM) == 0
    assert harness.fake.texts(SAM).count(t.SOMETHING_WENT_WRONG) == 1
    assert any("refused by Telegram" in r.getMessage() for r in caplog.records)


async def sent_nudges(fake: BotApiStandIn, user_id: int) -> list[dict[str, Any]]:
    return [m for m in fake.sent(user_id) if m.get("text") == NUDGE]


async def delivery_settled(harness: Harness, user_id: int) -> Delivery:
    for _ in range(300):
        async with harness.db.session() as session:
            delivery = await session.scalar(
                select(Delivery).where(
                    Delivery.user_id == user_id, Delivery.kind == DeliveryKind.NUDGE
                )
            )
        if delivery is not None and delivery.status != DeliveryStatus.PENDING:
            return delivery
        await asyncio.sleep(0.05)
    raise AssertionError("the nudge was never sent")


@SQLITE_ONLY
async def test_a_nudge_telegram_did_not_take_goes_out_in_a_later_round(harness: Harness) -> None:
    await client_ready_for_nudges(harness, SAM)
    harness.fake.fail_next("sendMessage", 500, times=2)
    await make_due(harness, SAM)

    delivery = await delivery_settled(harness, SAM)

    assert delivery.status == DeliveryStatus.SENT
    assert len(await sent_nudges(harness.fake, SAM)) == 1


@SQLITE_ONLY
async def test_a_nudge_telegram_took_just_before_a_crash_is_not_sent_again(
    harness: Harness, settings: Settings
) -> None:
    """The journal line written when Telegram answered outlives a crash before the commit."""
    await client_ready_for_nudges(harness, SAM)
    await make_due(harness, SAM)
    sent = await delivery_settled(harness, SAM)
    await harness.stop()
    # As if the process had died after Telegram's answer and its journal line, before the
    # commit: the row is still pending.
    async with harness.db.session() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.id == sent.id)
            .values(status=DeliveryStatus.PENDING, message_id=None, sent_at=None)
        )
    journal = settings.data_dir / "sent-nudges.journal"
    assert sent.message_id is not None and sent.sent_at is not None
    journal.write_text(f"{sent.id} {sent.message_id} {sent.sent_at.isoformat()}\n")

    await harness.start()
    recorded = await delivery_settled(harness, SAM)

    assert (recorded.status, recorded.message_id) == (DeliveryStatus.SENT, sent.message_id)
    assert len(await sent_nudges(harness.fake, SAM)) == 1


# ----------------------------------------------------------------------------- voice notes


@contextlib.asynccontextmanager
async def voice_job_without_workers(
    harness: Harness, settings: Settings, clip: str = "sister.ogg"
) -> AsyncIterator[tuple[Bot, Settings]]:
    """A voice note taken by the bot (no in-process workers); we then run the workers."""
    await harness.onboard(SAM)
    await harness.stop()
    harness.settings = settings.model_copy(update={"transcribe_workers": 0})
    await harness.start()
    update_ = harness.fake.send_voice(SAM, (AUDIO / clip).read_bytes(), duration=6)
    await harness.handled(update_["update_id"])
    await harness.stop()
    short_lease = settings.model_copy(update={"transcribe_lease_seconds": 1})
    async with Bot(
        settings.telegram_bot_token or "",
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
    ) as bot:
        yield bot, short_lease
    await harness.start()


async def only_job(harness: Harness) -> TranscriptionJob:
    async with harness.db.session() as session:
        return (await session.scalars(select(TranscriptionJob))).one()


def transcripts(fake: BotApiStandIn) -> list[str]:
    return [text for text in fake.texts(SAM) if text.startswith("Here's what I heard")]


@SQLITE_ONLY
async def test_a_transcript_telegram_did_not_take_is_sent_soon_after(
    harness: Harness, settings: Settings
) -> None:
    async with voice_job_without_workers(harness, settings) as (bot, short_lease):
        worker = TranscriptionWorker(harness.db, bot, CallbackSigner(b"t"), short_lease, "w")
        harness.fake.fail_next("sendMessage", 500)
        assert await worker.work_once()  # transcribed and stored; the reply did not go out
        job = await only_job(harness)
        assert (job.status, job.replied) == (JobStatus.DONE, False)

        for _ in range(100):  # claimed again once the short wait is over, just to reply
            if await worker.work_once():
                break
            await asyncio.sleep(0.1)

    job = await only_job(harness)
    assert job.replied and job.attempts == 1  # waiting for Telegram is not the note's fault
    [heard] = transcripts(harness.fake)
    assert "sister" in heard.lower()


async def test_a_worker_keeps_its_lease_while_it_works(
    harness: Harness, settings: Settings
) -> None:
    """A lease of one second, a job that takes longer: renewed, so no one else takes it."""
    async with voice_job_without_workers(harness, settings) as (bot, short_lease):
        job = await only_job(harness)
        assert job.audio_path
        Path(job.audio_path).unlink()  # as on another machine: fetched again, slowly
        harness.fake.delay_next("getFile", 3.5)
        signer = CallbackSigner(b"t")
        working = TranscriptionWorker(harness.db, bot, signer, short_lease, "working")
        other = TranscriptionWorker(harness.db, bot, signer, short_lease, "other")

        task = asyncio.create_task(working.work_once())
        while (await only_job(harness)).status == JobStatus.PENDING:
            await asyncio.sleep(0.05)
        checks = 0
        while not task.done():
            assert await other.claim() is None
            checks += 1
            await asyncio.sleep(0.25)
        assert await task
        assert checks > 8  # the job outlived several lease lengths while it was checked

    job = await only_job(harness)
    assert (job.status, job.attempts, job.replied) == (JobStatus.DONE, 1, True)
    assert len(transcripts(harness.fake)) == 1


# ----------------------------------------------------------------------------- the long runs


def pg_ctl(action: str) -> None:
    """Stop (fast: clients are cut off) or start the shared PostgreSQL cluster."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    mode = ["-m", "fast"] if action == "stop" else []
    done = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, *mode],
        capture_output=True,
        timeout=60,
    )
    # Starting a cluster that is already running is fine (the test's own finally did it).
    if done.returncode != 0 and not (action == "start" and postgres_reachable()):
        raise RuntimeError(f"pg_ctlcluster {action} failed: {done.stderr.decode()[-300:]}")


def can_stop_postgres() -> bool:
    return (
        postgres_reachable()
        and shutil.which("pg_ctlcluster") is not None
        and Path("/etc/postgresql").is_dir()
        and os.geteuid() == 0
    )


@contextlib.asynccontextmanager
async def own_postgres_database() -> AsyncIterator[str]:
    """An empty database for one test; dropped over a new connection (the outage closes the
    old ones)."""
    import asyncpg

    name = f"between_faults_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(user="postgres", host=POSTGRES_HOST, database="test")
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_for(fake: BotApiStandIn, database_url: str, tmp_path: Path) -> Settings:
    """For the long runs, which pick their database themselves: quick sweeps, short leases."""
    return bot_settings(fake, database_url, tmp_path).model_copy(
        update={"inbox_sweep_seconds": 0.5, "transcribe_lease_seconds": 2}
    )


@pytest.fixture
def postgres_outage() -> Iterator[None]:
    """Whatever happens in the test, PostgreSQL is started again (other tests share it)."""
    try:
        yield
    finally:
        pg_ctl("start")


OUTAGE_SECONDS = 60  # the database away for a minute
CRISIS = t.CRISIS_REPLY.format(crisis=t.DEFAULT_CRISIS)


@pytest.mark.faults
@pytest.mark.postgres
async def test_postgresql_stopped_and_started_loses_nothing(
    fake: BotApiStandIn, tmp_path: Path, postgres_outage: None
) -> None:
    """While the database is away the client is told we'll try again; then everything they
    sent is answered, the due nudge goes out once, the voice note is transcribed."""
    if not can_stop_postgres():
        pytest.skip("needs PostgreSQL at 127.0.0.1:5432 and pg_ctlcluster (as root)")
    async with own_postgres_database() as url:
        settings = settings_for(fake, url, tmp_path)
        await asyncio.to_thread(migrate, settings.resolved_database_url)
        harness = Harness(fake, settings)
        await harness.start()
        try:
            await client_ready_for_nudges(harness, SAM)
            await harness.onboard(ALEX)
            # In flight when the database goes: Telegram shows the reply but holds its answer.
            answer = fake.hold_next("sendMessage")
            in_flight = fake.send_text(ALEX, "/help")
            await fake.wait_until(
                lambda: any(
                    c.get("chat_id") == ALEX and str(c.get("text", "")).startswith(HELP_START)
                    for c in fake.calls_of("sendMessage")
                ),
                what="the reply to be on its way",
            )
            await make_due(harness, SAM, datetime.now(UTC) + timedelta(seconds=4))
            await harness.db.dispose()

            await asyncio.to_thread(pg_ctl, "stop")
            answer.set()  # sent: its row is deleted only once the database is back
            during = [fake.send_text(SAM, "/help")]
            during.append(fake.send_voice(SAM, (AUDIO / "sister.ogg").read_bytes(), duration=6))
            await fake.wait_until(
                lambda: t.TRY_AGAIN_SOON in fake.texts(SAM), timeout=30, what="an apology"
            )
            # Crisis words need no database: the resources go out during the outage.
            during.append(fake.send_text(ALEX, "I want to end my life"))
            await fake.wait_until(
                lambda: CRISIS in fake.texts(ALEX), timeout=30, what="crisis resources"
            )
            await asyncio.sleep(OUTAGE_SECONDS)  # past the nudge's time, many retries
        finally:
            await asyncio.to_thread(pg_ctl, "start")

        try:
            for update_ in [in_flight, *during]:
                assert await harness.handled(update_["update_id"], timeout=90) == InboxStatus.DONE
            await fake.wait_until(
                lambda: any(tx.startswith("Here's what I heard") for tx in fake.texts(SAM)),
                timeout=90,
                what="the transcript",
            )
            delivery = await delivery_settled(harness, SAM)
            assert delivery.status == DeliveryStatus.SENT
            assert len(await sent_nudges(fake, SAM)) == 1
            assert helps(fake, SAM) == 1
            # Alex's update had committed before its reply left: the reply is not repeated
            # and there is nothing to apologise for (before the outbox it rolled back).
            assert helps(fake, ALEX) == 1
            assert fake.texts(SAM).count(t.TRY_AGAIN_SOON) == 1  # once, not at every retry
            assert fake.texts(ALEX).count(t.TRY_AGAIN_SOON) == 0
            assert t.SOMETHING_WENT_WRONG not in fake.texts(SAM) + fake.texts(ALEX)
        finally:
            await harness.stop()
            await harness.db.dispose()


KILLS = 20
# A message Telegram accepted just before a kill, and the kill came before the bot could write
# that down, is sent again after the restart (the Bot API has no idempotency key). A repeat is
# accepted only when its first copy was answered at most this long before a kill.
JUST_BEFORE_A_KILL = 2.0
CLIENTS = [6101, 6102, 6103]
REPORT_LABELS = (t.DID_IT, t.PARTLY, t.NOT_TODAY)


class ScriptedDay:
    """Clients living a day with the bot: messages, flows, reports (double taps included),
    voice notes, and nudges falling due, at a human pace."""

    def __init__(self, fake: BotApiStandIn, db: Any, rng: random.Random) -> None:
        self.fake, self.db, self.rng = fake, db, rng
        self.updates: list[dict[str, Any]] = []
        self.presses: set[tuple[int, int, str]] = set()  # (client, message, button data)
        self.voices: list[dict[str, Any]] = []
        self.nudges_made_due = 0
        self.clip = (AUDIO / "sister.ogg").read_bytes()

    async def run(self, until: asyncio.Event) -> None:
        while not until.is_set():
            await self.step(self.rng.choice(CLIENTS))
            await asyncio.sleep(self.rng.uniform(0.2, 0.6))

    async def step(self, client: int) -> None:
        roll = self.rng.random()
        if roll < 0.1 and len(self.voices) < 6:
            update_ = self.fake.send_voice(client, self.clip, duration=4)
            self.voices.append(update_)
        elif roll < 0.2 and self.nudges_made_due < 12:
            async with self.db.session() as session:
                await session.execute(
                    update(Practice)
                    .where(Practice.user_id == client)
                    .values(next_fire_at=datetime.now(UTC))
                )
            self.nudges_made_due += 1
            return
        elif roll < 0.55 and (asked := self.report_questions(client)):
            message = self.rng.choice(asked[-3:])
            data = dict(self.fake.buttons(message))[self.rng.choice(REPORT_LABELS)]
            self.presses.add((client, message["message_id"], data))
            update_ = self.fake.press(client, message["message_id"], data)
            if self.rng.random() < 0.4:  # a double tap
                self.updates.append(update_)
                await asyncio.sleep(0.01)
                update_ = self.fake.press(client, message["message_id"], data)
        elif roll < 0.7:
            update_ = self.fake.send_text(client, "/done")
        elif roll < 0.85:
            update_ = self.fake.send_text(client, "/help")
        else:
            update_ = self.fake.send_text(client, "a quiet walk after lunch")
        self.updates.append(update_)

    def report_questions(self, client: int) -> list[dict[str, Any]]:
        """The bot's messages with report buttons: nudges and "how did it go?"."""
        return [
            m
            for m in self.fake.sent(client)
            if {label for label, _ in self.fake.buttons(m)} >= set(REPORT_LABELS)
        ]


async def settled(fake: BotApiStandIn, db: Any, day: ScriptedDay, timeout: float = 120) -> None:
    """Wait until every update is handled, every note answered and every due nudge sent."""
    deadline = time.monotonic() + timeout
    ids = [u["update_id"] for u in day.updates]
    while time.monotonic() < deadline:
        async with db.session() as session:
            handled = await session.scalar(
                select(func.count())
                .select_from(InboxUpdate)
                .where(InboxUpdate.update_id.in_(ids), InboxUpdate.status != InboxStatus.PENDING)
            )
            unreplied = await session.scalar(
                select(func.count())
                .select_from(TranscriptionJob)
                .where(TranscriptionJob.replied.is_(False))
            )
            due = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(
                    Delivery.status == DeliveryStatus.PENDING,
                    Delivery.due_at <= datetime.now(UTC),
                )
            )
            unplanned = await session.scalar(
                select(func.count())
                .select_from(Practice)
                .where(Practice.next_fire_at <= datetime.now(UTC))
            )
        if (handled, unreplied, due, unplanned) == (len(ids), 0, 0, 0) and not (
            fake.pending_updates()
        ):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not settled: {handled}/{len(ids)} handled, {unreplied} unreplied")


def copies(fake: BotApiStandIn, chat: int, is_it: Any) -> list[float]:
    """When the fake answered each message in the chat that `is_it` picks out."""
    times = fake.send_times(chat)
    return [times[i] for i, m in enumerate(fake.sent(chat)) if is_it(m)]


@pytest.mark.faults
async def test_kill_9_twenty_times_during_a_day_loses_nothing_and_doubles_nothing(
    fake: BotApiStandIn, database_url: str, tmp_path: Path
) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    settings = settings_for(fake, database_url, tmp_path)
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    harness = Harness(fake, settings)
    await harness.start()
    for client in CLIENTS:
        await client_ready_for_nudges(harness, client)
    await harness.stop()

    process = BotProcess(settings, tmp_path / "bot.log")
    process.env.update(
        BETWEEN_DISPATCH_INTERVAL="0.2",
        BETWEEN_TRANSCRIBE_LEASE_SECONDS="2",
        BETWEEN_INBOX_SWEEP_SECONDS="1",
    )
    day = ScriptedDay(fake, harness.db, rng)
    over = asyncio.Event()
    script = asyncio.create_task(day.run(over))
    kills: list[float] = []
    try:
        for _ in range(KILLS):
            started = len(fake.calls_of("setMyCommands"))
            process.start()
            await fake.wait_until(
                lambda n=started: len(fake.calls_of("setMyCommands")) > n, timeout=60
            )
            await asyncio.sleep(rng.uniform(0.3, 4.0))
            kills.append(time.monotonic())
            process.kill()
        over.set()
        await script
        process.start()
        await settled(fake, harness.db, day)
    finally:
        over.set()
        if process.process is not None and process.process.poll() is None:
            process.stop()

    def just_before_a_kill(answered: float) -> bool:
        return any(0 <= kill - answered <= JUST_BEFORE_A_KILL for kill in kills)

    context = f"seed {seed}"
    repeats: Counter[str] = Counter()
    async with harness.db.session() as session:
        # Every update served is handled, once, and its raw payload is gone.
        served = set(fake.served_count)
        rows = {
            row.update_id: row
            for row in (
                await session.scalars(select(InboxUpdate).where(InboxUpdate.update_id.in_(served)))
            ).all()
        }
        assert {u["update_id"] for u in day.updates} <= served, context
        assert set(rows) == served, context
        assert {row.status for row in rows.values()} == {InboxStatus.DONE}, context
        assert all(row.payload is None for row in rows.values()), context

        # Each distinct press of a report button is one try; a double tap adds nothing.
        reports = await session.scalar(select(func.count()).select_from(Report))
        assert reports == len(day.presses), context

        # Every voice note has one job, transcribed and answered.
        jobs = (await session.scalars(select(TranscriptionJob))).all()
        by_source = Counter((job.user_id, job.source_message_id) for job in jobs)
        for voice in day.voices:
            key = (voice["message"]["chat"]["id"], voice["message"]["message_id"])
            assert by_source[key] == 1, context
        outcomes = [(job.id, job.status, job.problem, job.attempts, job.replied) for job in jobs]
        assert all(job.status == JobStatus.DONE and job.replied for job in jobs), (
            context,
            outcomes,
        )
        assert all("sister" in (job.transcript or "").lower() for job in jobs), context
        for job in jobs:
            sent = copies(
                fake,
                job.user_id,
                lambda m, job=job: (
                    (m.get("reply_to_message") or {}).get("message_id") == job.source_message_id
                    and m.get("text", "").startswith("Here's what I heard")
                ),
            )
            assert sent, context
            if len(sent) > 1:
                repeats["transcript"] += len(sent) - 1
                assert len(sent) == 2 and just_before_a_kill(sent[0]), context

        # Every nudge due was sent; a repeat only where Telegram answered just before a kill.
        deliveries = (await session.scalars(select(Delivery))).all()
        nudges = [d for d in deliveries if d.kind == DeliveryKind.NUDGE]
        assert nudges and all(d.status == DeliveryStatus.SENT for d in nudges), context
        for delivery in nudges:
            marker = f"l:{delivery.id}:"
            sent = copies(
                fake,
                delivery.user_id,
                lambda m, marker=marker: any(
                    data.startswith(marker) for _, data in fake.buttons(m)
                ),
            )
            assert sent, context
            if len(sent) > 1:
                repeats["nudge"] += len(sent) - 1
                assert len(sent) == 2 and just_before_a_kill(sent[0]), context
    assert fake.pending_updates() == []
    print(  # shown with -s, and in the report of a failure
        f"{context}: {len(kills)} kills, {len(day.updates)} updates, {len(day.presses)} "
        f"reports, {len(day.voices)} voice notes (most tries: {max(o[3] for o in outcomes)}), "
        f"{len(nudges)} nudges; repeats: {dict(repeats) or 'none'}"
    )
    await harness.db.dispose()
