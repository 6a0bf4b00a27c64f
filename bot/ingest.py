"""Durable ingest: store each update before Telegram is told it arrived, handle it once.

python-telegram-bot's Updater confirms updates before handlers finish, so a crash would
lose what was in flight. Here the Application runs without an Updater: `Poller` stores a
batch of updates (unique `update_id`) and only then asks for the next batch, which is what
confirms the previous one to Telegram. `DurableProcessor` runs each update's handlers in
one database session and marks the inbox row handled in the same commit (dropping the raw
update, which is no longer needed), so a crash either keeps everything the handlers did or
nothing. A passing fault (Telegram or the database briefly away) rolls the update back and
leaves it pending, to be tried again with backoff; `requeue_unfinished` hands pending rows
back to the Application at start and then periodically, and `prune_handled` forgets handled
rows once they are too old to arrive again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import logging
import sys
import time
import warnings
from collections.abc import Awaitable, Hashable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot, Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, ApplicationHandlerStop, BaseUpdateProcessor
from telegram.warnings import PTBUserWarning

from bot.context import SERVICES_KEY, BetweenContext, UnitOfWork, current_unit
from bot.faults import backoff, is_database_outage, is_transient, retry_seconds
from bot.logs import describe
from bot.metrics import Metrics
from bot.rules.crisis import crisis_phrases, crisis_resources, mentions_crisis
from bot.safety import private_words
from bot.texts import speaking, t, use_language
from storage import inbox, outbox
from storage.claims import SOLO, Claimant
from storage.db import Database
from storage.models import InboxStatus, OutboxKind, utcnow

logger = logging.getLogger(__name__)

# getUpdates is called through do_api_request on purpose: the raw JSON is what we store, and
# one update python-telegram-bot cannot parse must not block the whole batch.
warnings.filterwarnings("ignore", message=".*getUpdates", category=PTBUserWarning)

# Tries of one update while it keeps its chat's place in line (1+2+4+8 s of backoff between);
# after that it waits for the periodic requeue, so one stuck update cannot hold its chat.
IN_PLACE_TRIES = 5
REQUEUE_BACKOFF_CAP = 300.0
REQUEUE_CHUNK = 1000  # pending updates loaded per statement
REPORT_BUTTON = "r"


def _chat_key(update: object | None) -> int | None:
    if isinstance(update, Update):
        if update.effective_chat:
            return update.effective_chat.id
        if update.effective_user:
            return update.effective_user.id
    return None


def _update_id(update: object) -> int | None:
    return update.update_id if isinstance(update, Update) else None


def telegram_language(update: object | None) -> str | None:
    """The language the sender's Telegram is set to: what is spoken before (or without) the
    database, which may hold the one they chose."""
    if isinstance(update, Update) and update.effective_user:
        return update.effective_user.language_code
    return None


def parse_update(payload: dict[str, Any], bot: Bot) -> Update | None:
    """Parse one raw update; None if python-telegram-bot cannot read it."""
    try:
        return Update.de_json(payload, bot)
    except Exception as error:  # one unreadable update must not stop the others
        logger.warning("could not parse update %s: %s", payload.get("update_id"), describe(error))
        return None


def press_fingerprint(update: Update | None) -> str | None:
    """Same client, same message, same button: the same fingerprint (a hash, not the data)."""
    query = update.callback_query if update else None
    if query is None or query.message is None or not query.data or query.from_user is None:
        return None
    raw = f"{query.from_user.id}:{query.message.message_id}:{query.data}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


async def store_updates(
    db: Database, payloads: Sequence[dict[str, Any]], bot: Bot, claimant: Claimant | None = None
) -> list[Update]:
    """Insert raw updates into the inbox; return the new ones, parsed (duplicates change nothing).

    An update that cannot be parsed is stored as failed, without its payload, so it is
    confirmed and never blocks the updates after it. The new ones are `claimant`'s to handle
    (another instance, which may have received the same update too, leaves them alone), or
    anyone's without one.
    """
    if not payloads:
        return []
    parsed = {p["update_id"]: parse_update(p, bot) for p in payloads}
    now = utcnow()
    rows = [
        {
            "update_id": p["update_id"],
            "chat_id": _chat_key(parsed[p["update_id"]]),
            "payload": p if parsed[p["update_id"]] else None,
            "fingerprint": press_fingerprint(parsed[p["update_id"]]),
            "status": InboxStatus.PENDING if parsed[p["update_id"]] else InboxStatus.FAILED,
            "received_at": now,
            "handled_at": None if parsed[p["update_id"]] else now,
            **(claimant.values(now) if claimant else {}),
        }
        for p in payloads
    ]
    async with db.session() as session:
        fresh = await inbox.add_new(session, rows)
    return [u for i, u in parsed.items() if i in fresh and u is not None]


async def requeue_unfinished(db: Database, processor: DurableProcessor) -> int:
    """Hand pending updates that no one is working on (any more) back to the Application.

    At start that is everything a stop or crash left unfinished; later, updates whose
    retries were handed over to this sweep, and those of another instance that stopped
    answering (its claim ran out). Only rows not already queued are loaded. Taking them
    renews this instance's claim on what it holds.
    """
    async with db.session() as session:
        ids = await inbox.take_pending(session, processor.claimant)
    wanted = [i for i in ids if processor.wants(i)]
    queued = 0
    # In chunks: one statement holds at most 32,767 parameters on asyncpg, and a chunk's
    # payloads are all that is decrypted and held in memory at once.
    for start in range(0, len(wanted), REQUEUE_CHUNK):
        chunk = wanted[start : start + REQUEUE_CHUNK]
        async with db.session() as session:
            rows = await inbox.payloads(session, chunk)
        for update_id, payload in rows:
            update = parse_update(payload, processor.bot) if payload else None
            if update is not None and await processor.enqueue(update):
                queued += 1
            elif update is None:
                logger.warning("pending update %s has no readable payload; leaving it", update_id)
    if queued:
        logger.info("queued %d unfinished updates again", queued)
    return queued


def durable_processor(application: Application[Any, Any, Any, Any, Any, Any]) -> DurableProcessor:
    """The Application's update processor, which Between always builds as a DurableProcessor."""
    processor = application.update_processor
    assert isinstance(processor, DurableProcessor)
    return processor


async def prune_handled(db: Database, keep: timedelta) -> int:
    """Delete handled rows older than `keep`: Telegram never serves them again by then."""
    async with db.session() as session:
        return await inbox.prune_handled(session, keep)


@dataclass
class _Attempt:
    """What the error handler learned during one try of one update."""

    transient: BaseException | None = None


_attempt: ContextVar[_Attempt | None] = ContextVar("ingest_attempt", default=None)


def defer_if_transient(error: object) -> bool:
    """For the error handler: a passing fault leaves the update pending, to be tried again.

    Returns whether it was one (then the handler must not apologise for a bug).
    """
    if not isinstance(error, BaseException) or not is_transient(error):
        return False
    attempt = _attempt.get()
    if attempt is not None:
        attempt.transient = error
    return True


async def ignore_double_taps(update: Update, context: BetweenContext) -> None:
    """A report button pressed again on the same message was already noted: say so kindly,
    change nothing (a double tap must not record two tries)."""
    fingerprint = press_fingerprint(update)
    query = update.callback_query
    if fingerprint is None or query is None or query.from_user is None:
        return
    parts = context.services.signer.unpack(query.from_user.id, query.data)
    if not parts or parts[0] != REPORT_BUTTON:
        return
    if not await inbox.pressed_before(context.session, fingerprint, update.update_id):
        return
    # Answered after the commit, like every reply (bot/outbox.py): no Telegram call while
    # this update's write transaction is open.
    chat_id = update.effective_chat.id if update.effective_chat else query.from_user.id
    outbox.add(
        context.session,
        chat_id,
        OutboxKind.ANSWER,
        update_id=update.update_id,
        target=query.id,
        text=t.ALREADY_NOTED,
    )
    unit, sender = current_unit.get(), context.services.outbox
    if sender is not None and chat_id not in unit.outbox_chats:
        unit.outbox_chats.add(chat_id)
        unit.after_commit.append(lambda: sender.kick(chat_id))
    raise ApplicationHandlerStop


class _Result(enum.Enum):
    DONE = "done"
    FAILED = "failed"
    RETRY = "retry"
    SKIPPED = "skipped"  # already handled (queued twice): nothing to do


class DurableProcessor(BaseUpdateProcessor):
    """Handle different chats concurrently, each chat's updates in order, each in one commit.

    python-telegram-bot takes its semaphore before calling `do_process_update`, so with a
    bounded one a flooding chat's queued updates would hold every slot. So the library's bound
    is left open (it only counts updates in hand) and the bound that matters is ours, taken
    after the chat's lock and its flood gate: a chat holds at most one of `max_concurrent_updates`
    slots. The flood gate is a leaky bucket per chat (aiolimiter): `flood_burst` updates at once,
    then `flood_rate` a second; nothing is dropped, a flooding client only slows down their own
    answers. A rate of 0 turns it off.
    """

    def __init__(
        self,
        db: Database,
        max_concurrent_updates: int = 64,
        *,
        flood_burst: int = 20,
        flood_rate: float = 1.0,
        claimant: Claimant = SOLO,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(sys.maxsize)  # in hand, not running: see the class docstring
        self._db = db
        self.metrics = metrics or Metrics()
        self.claimant = claimant  # this instance, for the inbox's claims
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._chat_locks: dict[Hashable, asyncio.Lock] = {}
        self._chat_users: dict[Hashable, int] = {}
        self._flood_burst = max(flood_burst, 1)
        self._flood_rate = flood_rate
        self._flood: dict[int, AsyncLimiter] = {}  # by chat; full (idle) buckets are forgotten
        self._in_hand: set[int] = set()  # queued or being handled
        self._failures: dict[int, int] = {}  # passing faults in a row, by update
        self._retry_at: dict[int, float] = {}  # handed to the sweep: not before (monotonic)
        self._waiting_for_db: set[int] = set()  # of those, the ones the database failed
        self._apologised: set[int] = set()  # updates whose bug we apologised for
        self._sorry_chats: set[int] = set()  # told "I'll try again" during this outage
        self._stopping = asyncio.Event()

    def attach(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Know the Application, to queue updates and to run an update's handlers again."""
        self._application = application

    @property
    def bot(self) -> Bot:
        assert self._application is not None
        return self._application.bot

    async def initialize(self) -> None:
        self._stopping.clear()

    async def shutdown(self) -> None:
        pass

    def stop_waiting(self) -> None:
        """Let queued updates go without handling (they stay pending): the bot is stopping."""
        self._stopping.set()

    def wants(self, update_id: int) -> bool:
        """Not queued already, and not waiting out a backoff."""
        if update_id in self._in_hand:
            return False
        return self._retry_at.get(update_id, 0.0) <= time.monotonic()

    async def enqueue(self, update: Update) -> bool:
        """Queue an update for handling unless it is already queued; return whether it was."""
        assert self._application is not None
        if update.update_id in self._in_hand:
            return False
        self._in_hand.add(update.update_id)
        await self._application.update_queue.put(update)
        return True

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Chat lock, then flood gate, then one of our slots to run the handlers."""
        key: Hashable = _chat_key(update)
        if key is None:
            key = ("update", _update_id(update) or id(update))
        lock = self._chat_locks.setdefault(key, asyncio.Lock())
        self._chat_users[key] = self._chat_users.get(key, 0) + 1
        try:
            async with lock:
                if self._stopping.is_set():
                    _close(coroutine)
                    return
                if isinstance(key, int) and await self._flood_gate(key):
                    _close(coroutine)
                    return
                await self._run(update, coroutine)
        finally:
            self._chat_users[key] -= 1
            if not self._chat_users[key]:
                del self._chat_users[key], self._chat_locks[key]
            if (update_id := _update_id(update)) is not None:
                self._in_hand.discard(update_id)

    async def _flood_gate(self, chat_id: int) -> bool:
        """Wait for the chat's turn (at once within its burst); return whether it is stopping."""
        if self._flood_rate <= 0:
            return False
        limiter = self._flood.get(chat_id)
        if limiter is None:
            if len(self._flood) > 10_000:
                self._flood = {
                    chat: bucket
                    for chat, bucket in self._flood.items()
                    if not bucket.has_capacity(self._flood_burst)  # not yet empty again
                }
            limiter = AsyncLimiter(self._flood_burst, self._flood_burst / self._flood_rate)
            self._flood[chat_id] = limiter
        if limiter.has_capacity():
            await limiter.acquire()  # at once
            return False
        return await self._unless_stopping(limiter.acquire())

    async def _run(self, update: object, coroutine: Awaitable[Any]) -> None:
        update_id = _update_id(update)
        use_language(telegram_language(update))  # router.seen then reads the stored one
        while True:
            async with self._slots:
                started = time.perf_counter()
                result, error = await self._attempt(update, coroutine)
                if result is not _Result.SKIPPED:
                    self.metrics.handler_seconds.observe(time.perf_counter() - started)
                    self.metrics.updates_handled.labels(result=result.value).inc()
            if result is not _Result.RETRY or update_id is None:
                if update_id is not None:
                    self._forget(update_id)
                return
            assert error is not None
            failures = self._failures[update_id] = self._failures.get(update_id, 0) + 1
            chat_id = _chat_key(update)
            if is_database_outage(error) and chat_id is not None:
                await self.tell_outage(chat_id)
            if failures >= IN_PLACE_TRIES or self._stopping.is_set():
                delay = backoff(failures, cap=REQUEUE_BACKOFF_CAP, error=error)
                self._retry_at[update_id] = time.monotonic() + delay
                if is_database_outage(error):
                    self._waiting_for_db.add(update_id)
                logger.warning(
                    "update %s not handled yet (%s); trying again in about %.0f s",
                    update_id,
                    type(error).__name__,
                    delay,
                )
                return
            delay = backoff(failures, error=error)
            logger.warning(
                "update %s not handled yet (%s); trying again in %.0f s",
                update_id,
                type(error).__name__,
                delay,
            )
            if await self._stop_within(delay):
                return
            assert self._application is not None
            coroutine = self._application.process_update(update)

    def _forget(self, update_id: int) -> None:
        self._failures.pop(update_id, None)
        self._retry_at.pop(update_id, None)
        self._waiting_for_db.discard(update_id)
        self._apologised.discard(update_id)

    def outage_over(self) -> None:
        """The database answered again: what waited for it is due at the next sweep, and a
        next outage gets its own apology."""
        self._sorry_chats.clear()
        for update_id in self._waiting_for_db:
            self._retry_at.pop(update_id, None)
        self._waiting_for_db.clear()

    async def tell_outage(self, chat_id: int) -> None:
        """Once per chat per outage: something went wrong on our side, we will try again."""
        if chat_id in self._sorry_chats or self._application is None:
            return
        self._sorry_chats.add(chat_id)
        try:
            await self._application.bot.send_message(chat_id, t.TRY_AGAIN_SOON)
        except TelegramError as error:
            logger.warning("could not ask a client to wait: %s", type(error).__name__)

    async def _stop_within(self, seconds: float) -> bool:
        """Wait `seconds`, or less if the bot stops; return whether it is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def _unless_stopping(self, work: Awaitable[None]) -> bool:
        """Await `work`, or give it up if the bot stops first; return whether it is stopping."""
        waiting = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((waiting, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            stopping.cancel()
        return self._stopping.is_set()

    async def _attempt(
        self, update: object, coroutine: Awaitable[Any]
    ) -> tuple[_Result, BaseException | None]:
        """Run the handlers once in one session; mark the inbox row in the same commit."""
        attempt = _Attempt()
        attempt_token = _attempt.set(attempt)
        unit: UnitOfWork | None = None
        committed = False
        update_id = _update_id(update)
        try:
            async with self._db.sessions() as session:
                if update_id is not None and not await inbox.take_for_handling(
                    session, update_id, self.claimant
                ):
                    _close(coroutine)
                    return _Result.SKIPPED, None
                unit = UnitOfWork(session)
                token = current_unit.set(unit)
                try:
                    await coroutine
                finally:
                    current_unit.reset(token)
                if attempt.transient is not None:
                    await session.rollback()
                    return _Result.RETRY, attempt.transient
                if update_id is not None:
                    await inbox.mark_handled(session, update_id, unit.failed)
                await session.commit()
                committed = True
        except Exception as error:
            _close(coroutine)
            if is_transient(error):
                return _Result.RETRY, error
            logger.error("could not finish update %s: %s", update_id, describe(error))
            await self._give_up(update)
            return _Result.FAILED, error
        finally:
            _attempt.reset(attempt_token)
            if unit is not None and (unit.failed or not committed):
                for undo in unit.after_rollback:
                    undo()
        assert unit is not None
        self.outage_over()
        if unit.failed:
            return _Result.FAILED, None
        for callback in unit.after_commit:
            callback()
        return _Result.DONE, None

    async def _give_up(self, update: object) -> None:
        """A bug, not a passing fault: mark the update failed on its own and apologise."""
        update_id = _update_id(update)
        if update_id is not None:
            try:
                async with self._db.session() as session:
                    await inbox.mark_handled(session, update_id, failed=True)
            except Exception as error:  # it stays pending and is tried again later
                logger.warning(
                    "could not mark update %s failed: %s", update_id, type(error).__name__
                )
        await self._apologise(update)

    async def _apologise(self, update: object) -> None:
        """Say sorry for a bug, once per update; if Telegram is away too, only log it."""
        update_id = _update_id(update)
        chat_id = _chat_key(update)
        if chat_id is None or update_id in self._apologised or self._application is None:
            return
        if update_id is not None:
            self._apologised.add(update_id)
        try:
            await self._application.bot.send_message(chat_id, t.SOMETHING_WENT_WRONG)
        except TelegramError as error:
            logger.warning("could not send an apology: %s", type(error).__name__)


def _close(coroutine: Awaitable[Any]) -> None:
    """Drop a handlers' coroutine that will not run (no "never awaited" warning)."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()


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
        self._processor = durable_processor(application)
        self._tasks: set[asyncio.Future[None]] = set()
        self._crisis_answered: set[int] = set()  # while the database is away

    async def run(self) -> None:
        """Poll until cancelled."""
        offset: int | None = None
        backoff_seconds = 1.0  # getUpdates failing
        store_failures = 0  # the database failing, in a row
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
                self._processor.metrics.telegram_errors.labels(kind="RetryAfter").inc()
                await asyncio.sleep(retry_seconds(error))
                continue
            except TelegramError as error:
                self._processor.metrics.telegram_errors.labels(kind=type(error).__name__).inc()
                logger.warning(
                    "getUpdates failed (%s); retrying in %.0f s",
                    type(error).__name__,
                    backoff_seconds,
                )
                await asyncio.sleep(backoff_seconds)
                backoff_seconds = min(backoff_seconds * 2, 30.0)
                continue
            backoff_seconds = 1.0
            if not payloads:
                continue
            try:
                await self.accept(payloads)
            except Exception as error:
                # Not stored, so not confirmed: Telegram serves the same batch again.
                store_failures += 1
                delay = backoff(store_failures, cap=10.0)
                logger.warning(
                    "could not store %d updates (%s); retrying in %.0f s",
                    len(payloads),
                    type(error).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            store_failures = 0
            offset = payloads[-1]["update_id"] + 1

    async def accept(self, payloads: Sequence[dict[str, Any]]) -> None:
        """Store a batch, then queue the new updates; raise if it could not be stored (after
        telling waiting clients, if the database is away). The webhook (bot/web.py) too."""
        try:
            fresh = await store_updates(
                self._db, payloads, self._application.bot, self._processor.claimant
            )
        except Exception as error:
            if is_database_outage(error):
                self._tell_waiting_clients(payloads)
            raise
        self._processor.metrics.updates_received.inc(len(fresh))
        self._crisis_answered.clear()
        self._processor.outage_over()
        for update in fresh:
            await self._processor.enqueue(update)

    def _tell_waiting_clients(self, payloads: Sequence[dict[str, Any]]) -> None:
        """The database is away: crisis words still get the crisis resources at once (once
        per update); every other waiting client is told, once, that we will get to them."""
        settings = self._application.bot_data[SERVICES_KEY].settings
        phrases = crisis_phrases(settings.crisis_phrases)
        for payload in payloads:
            update = parse_update(payload, self._application.bot)
            chat = _chat_key(update)
            if update is None or chat is None:
                continue
            words = private_words(update)
            with speaking(telegram_language(update)):  # the task keeps the language
                if words and mentions_crisis(words, phrases):
                    if update.update_id in self._crisis_answered:
                        continue
                    self._crisis_answered.add(update.update_id)
                    reply = t.CRISIS_REPLY.format(crisis=crisis_resources(settings))
                    self._spawn(self._send(chat, reply))
                else:
                    self._spawn(self._processor.tell_outage(chat))

    async def _send(self, chat_id: int, text: str) -> None:
        try:
            await self._application.bot.send_message(chat_id, text)
        except TelegramError as error:
            logger.warning("could not send crisis resources: %s", type(error).__name__)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
