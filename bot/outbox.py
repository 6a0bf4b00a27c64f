"""Replies leave after the commit: queue them with the update's changes, send them once it holds.

A handler never talks to Telegram inside the update's write transaction. `queue` writes each
reply as an `outbox` row in the update's own session, so the replies exist exactly when the
changes do (a rollback sends nothing), and once the unit of work has committed the
`OutboxSender` drains each chat's rows, oldest first, chats in parallel, through the bot's
AIORateLimiter. A slow Telegram then holds only the chat it is slow for; on SQLite no other
writer waits for it.

What Telegram accepted is written to the sent journal (`SentJournal`, as for nudges) before the
row is deleted, so a database fault (or crash) between the two never sends it again: the
claim skips what the journal holds, and the next sweep deletes it. Rows a crash left unsent are
sent by the sweep at start, and then periodically (also after a Telegram hiccup, quiet hours).

Files (the summary chart, the CSV export, /mydata) go through the outbox too, as base64 in an
encrypted column: one path for everything a turn sends, so a chart stays after its summary, a
file is never sent for a rollback, and a crash does not lose it. They are a few kilobytes to a
few megabytes, and the row is deleted once sent.

Several processes on one database: a chat's rows are claimed (storage/outbox.py) by the
process that sends them, with a lease, so no row is sent by two.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.context import UnitOfWork
from bot.faults import backoff
from bot.logs import describe
from bot.texts import t
from scheduler.cues import fit_quiet_hours
from scheduler.dispatcher import JournalUnavailable, SentJournal
from storage import outbox, repo
from storage.db import Database
from storage.models import OutboxKind, OutboxMessage, User, utcnow

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)  # a claim's life by default; renewed while a long queue is sent


def queue(
    unit: UnitOfWork,
    sender: OutboxSender | None,
    chat_id: int,
    kind: OutboxKind,
    *,
    update_id: int | None,
    markup: InlineKeyboardMarkup | None = None,
    data: bytes | None = None,
    **fields: Any,
) -> None:
    """Write one reply with the update's changes; its chat is drained once they commit."""
    outbox.add(
        unit.session,
        chat_id,
        kind,
        update_id=update_id,
        buttons=markup.to_dict() if markup is not None else None,
        file=base64.b64encode(data).decode("ascii") if data is not None else None,
        **fields,
    )
    if sender is not None and chat_id not in unit.outbox_chats:
        unit.outbox_chats.add(chat_id)
        unit.after_commit.append(lambda: sender.kick(chat_id))


def after_quiet_hours(user: User | None, now: datetime) -> datetime | None:
    """When a note to this person may arrive: None for now, else the end of their quiet hours."""
    if user is None or user.quiet_start is None or user.quiet_end is None:
        return None
    zone = user.timezone or "UTC"
    at = fit_quiet_hours(now, zone, user.quiet_start, user.quiet_end, skip=False)
    return at if at is not None and at > now else None


class OutboxSender:
    """Drains chats' outboxes after each commit, at start and periodically; see the module."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        journal: SentJournal,
        owner: str | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self._db = db
        self._bot = bot
        self._journal = journal
        # This process in the rows it claims: its instance name, so after a restart it takes
        # back at once what it had claimed (BETWEEN_INSTANCE, README "Several instances").
        self._owner = owner or secrets.token_hex(8)
        self._lease = lease
        self._running: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()  # chats kicked while being drained: look once more
        self._failures: dict[int, int] = {}  # Telegram hiccups in a row, by chat
        self._retries: dict[int, asyncio.TimerHandle] = {}
        self._apologised: set[int] = set()  # updates whose refused reply we said sorry for
        self._journal_down = False
        self._stopping = False

    def kick(self, chat_id: int) -> None:
        """Send what the chat has waiting, now (in the background, after what is in flight)."""
        if self._stopping:
            return
        if chat_id in self._running:
            self._again.add(chat_id)
            return
        self._running[chat_id] = asyncio.get_running_loop().create_task(self._drain(chat_id))

    async def sweep(self) -> None:
        """Record what the journal says was sent, then drain every chat with rows no one is
        sending: a crash's leftovers (at start), retries whose wait is over, quiet hours over."""
        try:
            await self.settle()
            async with self._db.session() as session:
                chats = await outbox.waiting_chats(session, utcnow(), self._owner)
        except Exception as error:  # the next sweep tries again
            logger.warning("outbox sweep skipped: %s", describe(error))
            return
        for chat_id in chats:
            self.kick(chat_id)

    async def settle(self) -> None:
        """Delete the rows the journal says Telegram accepted, and do what follows them."""
        if self._journal_down:
            self._journal.check()
            self._journal_down = False
        self._journal.refresh()  # what other instances sharing the folder sent (one that died)
        entries = dict(self._journal.entries)
        if not entries:
            return
        async with self._db.session() as session:
            rows = await outbox.done(session, entries)
            chats = [await outbox.follow_up(session, row, row.if_sent) for row in rows]
        self._journal.forget(entries)
        for chat_id in chats:
            if chat_id is not None:
                self.kick(chat_id)

    async def stop(self) -> None:
        """Let each chat finish the send in flight; what is left is sent at the next start."""
        self._stopping = True
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _drain(self, chat_id: int) -> None:
        try:
            while not self._stopping:
                self._again.discard(chat_id)
                more = await self._pass(chat_id)
                if not more and chat_id not in self._again:
                    return
        except Exception as error:  # e.g. the database away: the rows wait for a sweep
            self._retry_later(chat_id, error)
            logger.warning("replies to a chat wait: %s", describe(error))
        finally:
            del self._running[chat_id]

    async def _pass(self, chat_id: int) -> bool:
        """Claim the chat's due rows and send them in order; whether to look again."""
        if self._journal_down:
            self._journal.check()  # nothing goes out until sends can be written down
            self._journal_down = False
        self._journal.refresh()  # a row another instance sent is not claimed to send again
        async with self._db.session() as session:
            rows = await outbox.claim(
                session, chat_id, self._owner, utcnow(), self._lease, self._journal.entries
            )
        renew_at = time.monotonic() + self._lease.total_seconds() / 2
        for place, row in enumerate(rows):
            rest = [r.id for r in rows[place:]]
            if self._stopping:
                await self._release(rest, utcnow())  # the next start takes them at once
                return False
            if time.monotonic() > renew_at:
                await self._release(rest, utcnow() + self._lease)  # renewed
                renew_at = time.monotonic() + self._lease.total_seconds() / 2
            try:
                await self._send_keeping_claim(row, rest)
            except TelegramError as error:  # a hiccup: _send handled the refusals
                delay = self._retry_later(chat_id, error)
                await self._release(rest, utcnow() + timedelta(seconds=delay))
                logger.warning(
                    "a reply not sent yet (%s): again in %.0f s", describe(error), delay
                )
                return False
            except JournalUnavailable:
                self._journal_down = True
                logger.error("sent journal cannot be written: replies wait until it can")
                delay = self._retry_later(chat_id, None)
                await self._release(rest[1:], utcnow() + timedelta(seconds=delay))
                return False
        self._failures.pop(chat_id, None)
        return bool(rows)

    async def _send_keeping_claim(self, row: OutboxMessage, rest: list[int]) -> None:
        """Send one row, renewing the claim on the chat's rows while the call lasts: one call
        can outlast a claim (the rate limiter sleeps out a 429's retry_after inside it), and
        another instance would then take the row and send it again."""
        send = asyncio.ensure_future(self._send(row))
        try:
            while not (await asyncio.wait({send}, timeout=self._lease.total_seconds() / 3))[0]:
                try:
                    await self._release(rest, utcnow() + self._lease)  # renewed
                except Exception as error:  # the database away: the call goes on
                    logger.warning("a reply's claim not renewed: %s", describe(error))
            await send
        finally:
            send.cancel()  # only if we were cancelled ourselves

    def _retry_later(self, chat_id: int, error: BaseException | None) -> float:
        failures = self._failures[chat_id] = self._failures.get(chat_id, 0) + 1
        delay = backoff(failures, cap=300.0, error=error)
        if not self._stopping and chat_id not in self._retries:
            loop = asyncio.get_running_loop()
            self._retries[chat_id] = loop.call_later(delay, self._retry, chat_id)
        return delay

    def _retry(self, chat_id: int) -> None:
        self._retries.pop(chat_id, None)
        self.kick(chat_id)

    async def _release(self, ids: Collection[int], until: datetime) -> None:
        async with self._db.session() as session:
            await outbox.keep_claim(session, list(ids), self._owner, until)

    async def _send(self, row: OutboxMessage) -> None:
        """One row to Telegram; its answer written down, then the row deleted. A hiccup
        (timeout, 5xx, 429 after the rate limiter's retries) is raised: the row stays."""
        try:
            message_id = await self._call(row)
        except Forbidden:
            logger.info("a reply could not be delivered: the recipient blocked the bot")
            await self._finish(row, None, refused=True, gone=True)
            return
        except BadRequest as error:
            if "chat not found" in error.message.lower():  # never started us, or left Telegram
                logger.info("a reply could not be delivered: the recipient's chat is gone")
                await self._finish(row, None, refused=True, gone=True)
                return
            if row.kind in (OutboxKind.ANSWER, OutboxKind.EDIT_BUTTONS):
                logger.info("a %s was refused (%s)", row.kind, error.message)  # too old
            else:
                logger.error("a reply was refused by Telegram: %s", error.message)
                await self._apologise(row)
            await self._finish(row, None, refused=True)
            return
        except NetworkError as error:
            if "too large" not in error.message.lower():
                raise  # a hiccup: the row stays
            # HTTP 413, a file over Telegram's limit: every try would be refused the same way.
            logger.error("a reply was refused by Telegram as too large")
            await self._apologise(row)
            await self._finish(row, None, refused=True)
            return
        except TelegramError:
            raise
        except Exception as error:  # a row we cannot send (a bug): it must not hold the chat
            logger.error("a reply could not be sent: %s", describe(error))
            await self._apologise(row)
            await self._finish(row, None, refused=True)
            return
        journal_error = None
        try:
            self._journal.record(row.id, message_id, utcnow())
        except JournalUnavailable as error:
            journal_error = error  # remembered in memory: never sent again by this process
        await self._finish(row, message_id)
        if journal_error is not None:
            raise journal_error

    async def _call(self, row: OutboxMessage) -> int:
        """Make the Bot API call a row stands for; the message id Telegram gave, or 0."""
        bot, chat_id = self._bot, row.chat_id
        markup = InlineKeyboardMarkup.de_json(row.buttons, bot) if row.buttons else None
        sent: Message | bool
        if row.kind == OutboxKind.MESSAGE:
            sent = await bot.send_message(chat_id, row.text or "", reply_markup=markup)
        elif row.kind in (OutboxKind.PHOTO, OutboxKind.DOCUMENT):
            upload = InputFile(base64.b64decode(row.file or ""), filename=row.filename)
            if row.kind == OutboxKind.PHOTO:
                sent = await bot.send_photo(chat_id, upload, caption=row.text)
            else:
                sent = await bot.send_document(chat_id, upload, caption=row.text)
        elif row.kind == OutboxKind.EDIT_BUTTONS:
            edited = await bot.edit_message_reply_markup(
                chat_id, int(row.target or 0), reply_markup=markup
            )
            sent = edited if isinstance(edited, Message) else True
        else:
            sent = await bot.answer_callback_query(
                row.target or "", row.text, show_alert=bool(row.text)
            )
        return sent.message_id if isinstance(sent, Message) else 0

    async def _finish(
        self,
        row: OutboxMessage,
        message_id: int | None,
        *,
        refused: bool = False,
        gone: bool = False,
    ) -> None:
        """Delete the row and do what follows it; a database fault leaves that to the journal
        (a sent row) or to the lease running out (a refused one)."""
        try:
            async with self._db.session() as session:
                if gone:
                    await repo.set_reachable(session, row.chat_id, False)
                deleted = await outbox.done(session, [row.id])
                plan = row.if_refused if refused else row.if_sent
                chat_id = await outbox.follow_up(session, row, plan) if deleted else None
        except Exception as error:
            logger.warning("a reply's row not deleted yet: %s", describe(error))
            return
        if chat_id is not None:
            self.kick(chat_id)

    async def _apologise(self, row: OutboxMessage) -> None:
        """A reply Telegram refused is our bug: say sorry, once per update."""
        if row.update_id is None or row.update_id in self._apologised:
            return
        self._apologised.add(row.update_id)
        try:
            await self._bot.send_message(row.chat_id, t.SOMETHING_WENT_WRONG)
        except TelegramError as error:
            logger.warning("could not send an apology: %s", type(error).__name__)
