"""Send what is due: nudges at each cue, a check-in in the evening, snoozed nudges again.

The database holds everything (README, "Nudges"). Each round of a tick first *plans*: every
practice whose `next_fire_at` has passed gets a delivery row with a unique key (so planning twice
changes nothing) and its next fire time advanced, in one commit. Then it *sends* pending
deliveries, oldest first, one per chat per round (Telegram allows about one message a second per
chat), each chat's oldest chosen apart so a long queue cannot crowd out the others, with
python-telegram-bot's AIORateLimiter keeping the overall rate and retrying 429 answers. Quiet
hours and pauses are checked again as it sends.

What Telegram accepted is appended to a small journal file the moment it answers, before the
database is told (which can wait behind other writers, or be away): a restart reads the journal
first, so a nudge is sent again only if the process dies in the instant between Telegram's
answer and that write. A tick that cannot reach the database backs off and tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.callbacks import CallbackSigner, Kind, keyboard, report_rows
from bot.faults import backoff, is_database_outage, retry_seconds
from bot.logs import describe
from bot.metrics import Metrics
from bot.rules import summary
from bot.texts import speaking, t
from scheduler import lookback
from scheduler.cues import checkin_at, fit_quiet_hours, local_now, next_fire
from storage import deliveries
from storage import week as week_db
from storage.claims import SOLO, Claimant
from storage.db import Database, insert_ignoring_duplicates
from storage.files import private_folder
from storage.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Practice,
    PracticeStatus,
    QuietMode,
    Report,
    User,
    utcnow,
)

logger = logging.getLogger(__name__)

# Each chat's oldest deliveries considered in a round: one is sent (Telegram allows about one
# message a second per chat), the next shows that more are waiting.
PER_CHAT_PER_ROUND = 2


def is_paused(user: User, local_date: date) -> bool:
    """All practices are paused, until the given date if there is one."""
    return user.paused and (user.paused_until is None or local_date < user.paused_until)


def plan_delivery(
    kind: DeliveryKind, key: str, practice: Practice | None, user: User, cue_at: datetime
) -> dict[str, Any]:
    """A delivery row for `cue_at`, moved or skipped by the client's quiet hours and pause."""
    zone = user.timezone or "UTC"
    local_date = local_now(zone, cue_at).date()
    row = {
        "key": key,
        "kind": kind,
        "practice_id": practice.id if practice else None,  # none: the week's look back
        "user_id": user.id,
        "cue_at": cue_at,
        "due_at": cue_at,
        "local_date": local_date,
        "status": DeliveryStatus.PENDING,
        "note": None,
    }
    if not user.active:
        row.update(status=DeliveryStatus.SKIPPED, note="inactive")
    elif is_paused(user, local_date):
        row.update(status=DeliveryStatus.SKIPPED, note="paused")
    else:
        skip = user.quiet_mode == QuietMode.SKIP
        due = fit_quiet_hours(cue_at, zone, user.quiet_start, user.quiet_end, skip=skip)
        if due is None:
            row.update(status=DeliveryStatus.SKIPPED, note="quiet hours")
        else:
            row["due_at"] = due
    return row


def after_quiet_hours(delivery: Delivery, user: User, now: datetime) -> datetime | None:
    """When a due delivery may go out, by the client's quiet hours as they are now (a nudge
    sent late, or planned before they changed): `now`, their end, or None to skip it.

    A snooze the client asked for is moved out of quiet hours, never dropped.
    """
    skip = user.quiet_mode == QuietMode.SKIP and delivery.kind != DeliveryKind.SNOOZE
    zone = user.timezone or "UTC"
    return fit_quiet_hours(now, zone, user.quiet_start, user.quiet_end, skip=skip)


class JournalUnavailable(Exception):
    """The sent journal cannot be written (disk full, read-only volume, no permission)."""


class SentJournal:
    """Deliveries Telegram accepted, written down the moment it answered.

    One line per send, appended with a single write(): it survives a kill -9 (the page cache
    outlives the process), so after a restart the nudge is recorded as sent, not sent again.
    Instances sharing a data folder share it: each write holds an flock on `<name>.lock`, and
    forgetting keeps the lines of others. A write that fails raises JournalUnavailable; the send
    is still remembered in memory, so this process never repeats it.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock_path = path.with_suffix(".lock")
        private_folder(path.parent)
        with self._locked():
            self.entries: dict[int, tuple[int, datetime]] = self._read()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the journal's lock (held for microseconds by a writer); without a writable
        folder, go on unlocked: the write that follows says what is wrong."""
        try:
            fd = os.open(self._lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # and with it the lock

    def refresh(self) -> None:
        """Take in what other instances sharing the folder wrote (one that died among them); an
        unreadable journal keeps what this one knows (the next write says what is wrong)."""
        with self._locked(), contextlib.suppress(OSError):
            self.entries.update(self._read())

    def _read(self) -> dict[int, tuple[int, datetime]]:
        entries: dict[int, tuple[int, datetime]] = {}
        if not self._path.exists():
            return entries
        for line in self._path.read_text().splitlines():
            try:
                delivery_id, message_id, sent_at = line.split()
                entries[int(delivery_id)] = (int(message_id), datetime.fromisoformat(sent_at))
            except ValueError:  # a line torn by a crash mid-write: that send is not recorded
                logger.warning("skipped an unreadable line in the sent journal")
        return entries

    def record(self, delivery_id: int, message_id: int, sent_at: datetime) -> None:
        self.entries[delivery_id] = (message_id, sent_at)
        with self._locked():
            self._append(f"{delivery_id} {message_id} {sent_at.isoformat()}\n".encode())

    def check(self) -> None:
        """Raise JournalUnavailable if the journal cannot be opened for writing."""
        self._append(b"")

    def _append(self, line: bytes) -> None:
        try:
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if line:
                    os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as error:
            raise JournalUnavailable(type(error).__name__) from error

    def forget(self, delivery_ids: Iterable[int]) -> None:
        """Drop entries the database now holds (rewritten whole, then swapped in), keeping
        what other instances wrote since this one read the file."""
        forgotten = set(delivery_ids)
        for delivery_id in forgotten:
            self.entries.pop(delivery_id, None)
        fresh = self._path.with_suffix(".tmp")
        with self._locked():
            kept = {**self._read(), **self.entries}
            try:
                fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as file:
                    file.writelines(
                        f"{d} {m} {at.isoformat()}\n"
                        for d, (m, at) in kept.items()
                        if d not in forgotten
                    )
                os.replace(fresh, self._path)
            except OSError as error:
                raise JournalUnavailable(type(error).__name__) from error


def round_size(batch: int, send_rate: float | None, claim_seconds: float) -> int:
    """How many deliveries one send round takes: the batch, or what the send rate gets out in
    half a claim if that is fewer (at 5 a second and a 120 s claim, 300)."""
    if send_rate is None:
        return batch
    return max(1, min(batch, int(send_rate * claim_seconds / 2)))


@dataclass
class Outgoing:
    delivery_id: int
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup
    kind: str = ""  # for the metrics: nudge, checkin, snooze
    due_at: datetime | None = None
    chart: summary.ClientFacts | None = None  # the week's picture, drawn and sent first


class Dispatcher:
    """Plans due cues into deliveries and sends them; safe to run again after any crash."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        signer: CallbackSigner,
        *,
        grace: timedelta,
        batch: int = 1000,
        clock: Callable[[], datetime] = utcnow,
        journal: SentJournal | None = None,
        claimant: Claimant = SOLO,
        metrics: Metrics | None = None,
        send_rate: float | None = None,
    ) -> None:
        self._db = db
        self._metrics = metrics or Metrics()
        self._claimant = claimant  # this instance: what it takes to send, no other sends
        self._bot = bot
        self._signer = signer
        self._grace = grace
        self._batch = batch
        # A round must leave within its claim, or another instance sends its tail again.
        self._send_batch = round_size(batch, send_rate, claimant.seconds)
        self._clock = clock
        self._dialect = "sqlite" if db.is_sqlite else "postgresql"
        self._busy = asyncio.Lock()
        self._stopping = False
        self._journal = journal
        self._failures = 0
        self._resume_at = 0.0  # monotonic: after a database outage or a 429, not before
        self._journal_down = False  # said once in the log per outage of the journal

    async def tick(self) -> None:
        """Plan everything due, then send rounds a second apart until nothing due is left.

        A database outage (or any other error) is logged and the next ticks back off.
        """
        if time.monotonic() < self._resume_at:
            return
        async with self._busy:
            try:
                if self._journal_down and self._journal is not None:
                    self._journal.check()  # nothing goes out until sends can be written down
                await self.settle()
                while not self._stopping:  # planned again each round: new cues join the queue
                    while not self._stopping and await self.plan(self._clock()) == self._batch:
                        pass
                    if self._stopping or not await self.send_due(self._clock()):
                        break
                    self._metrics.dispatcher_round()
                    await asyncio.sleep(1.0)
                self._metrics.dispatcher_round()
            except Exception as error:
                self._failures += 1
                delay = backoff(self._failures)
                self._resume_at = max(self._resume_at, time.monotonic() + delay)
                if isinstance(error, JournalUnavailable):
                    if not self._journal_down:
                        logger.error(
                            "sent journal cannot be written (%s): nudges stop until it can, "
                            "trying again with back-off",
                            error,
                        )
                    self._journal_down = True
                elif is_database_outage(error):
                    logger.warning(
                        "dispatch paused for %.0f s: database unavailable (%s)",
                        delay,
                        type(error).__name__,
                    )
                else:
                    logger.error("dispatch tick failed: %s", describe(error))
                return
            self._failures = 0

    async def settle(self) -> None:
        """Record as sent what the journal says Telegram accepted (after a crash or outage)."""
        if self._journal is None:
            return
        self._journal.refresh()
        if not self._journal.entries:
            return
        entries = dict(self._journal.entries)
        async with self._db.session() as session:
            for delivery_id, (message_id, sent_at) in entries.items():
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING)
                    .values(
                        status=DeliveryStatus.SENT,
                        note=None,
                        message_id=message_id,
                        sent_at=sent_at,
                    )
                )
        self._journal.forget(entries)
        logger.info("recorded %d sent deliveries from the journal", len(entries))

    async def stop(self) -> None:
        """Let the running tick finish its round (never cut a send or a commit in half)."""
        self._stopping = True
        async with self._busy:
            pass

    async def plan(self, now: datetime) -> int:
        """Turn up to one batch of passed cues into deliveries; return how many."""
        async with self._db.session() as session:
            rows = await deliveries.passed_cues(session, now, self._batch)
            planned: list[dict[str, Any]] = []
            for practice, user in rows:
                planned.extend(self._plan_practice(practice, user))
            planned.extend(await self._plan_week(session, now))
            if planned:
                await session.execute(
                    insert_ignoring_duplicates(self._dialect, Delivery, planned, "key")
                )
        return len(rows)

    async def _plan_week(self, session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
        """The week's look back and the day-before "anything to bring?" (README, "The week"):
        planned like a nudge, then each client's next one set; a first one for new clients."""
        for user in await week_db.unplanned_users(session, self._batch):
            week_db.reschedule(user, now)
        rows = []
        looks, brings = await week_db.due_users(session, now, self._batch)
        for kind, users in ((DeliveryKind.BRING, brings), (DeliveryKind.WEEK, looks)):
            for user in users:
                planned = lookback.plan_rows(user, kind)
                if planned is None:
                    continue
                key, cue_at = planned
                rows.append(plan_delivery(kind, key, None, user, cue_at))
                week_db.reschedule(
                    user, cue_at, look=kind == DeliveryKind.WEEK, bring=kind == DeliveryKind.BRING
                )
        return rows

    def _plan_practice(self, practice: Practice, user: User) -> list[dict[str, Any]]:
        cue_at = practice.next_fire_at
        assert cue_at is not None
        zone = user.timezone or "UTC"
        stamp = cue_at.strftime("%Y%m%dT%H%M%S")
        nudge = plan_delivery(
            DeliveryKind.NUDGE, f"nudge:{practice.id}:{stamp}", practice, user, cue_at
        )
        rows = [nudge]
        checkin = checkin_at(cue_at, zone, user.checkin_time)
        if nudge["status"] == DeliveryStatus.PENDING and checkin is not None:
            key = f"checkin:{practice.id}:{nudge['local_date']}"
            rows.append(plan_delivery(DeliveryKind.CHECKIN, key, practice, user, checkin))
        practice.next_fire_at = next_fire(practice.days, practice.cue_time, zone, cue_at)
        return rows

    async def send_due(self, now: datetime) -> bool:
        """Send due deliveries, oldest first, one per chat; return whether more are waiting.

        Each chat's oldest few are chosen (a window per chat), so one client with a long queue
        takes one place in the round, not the whole batch. What goes out is claimed for this
        instance in the same commit; another instance skips it, and that chat, this round.
        """
        async with self._db.session() as session:
            rows = await deliveries.due_to_send(
                session,
                now,
                batch=self._send_batch,
                per_chat=PER_CHAT_PER_ROUND,
                sent=list(self._journal.entries) if self._journal else [],
            )
            outgoing: list[Outgoing] = []
            chats: set[int] = set()
            deferred = changed = 0
            for delivery, practice, user in rows:
                if deliveries.held_by_another(delivery, self._claimant, now):
                    chats.add(user.id)  # another instance is sending it: its chat waits
                    continue
                reason = await self._reason_not_to_send(session, delivery, practice, user, now)
                quiet_end = None if reason else after_quiet_hours(delivery, user, now)
                if reason or quiet_end is None:
                    reason = reason or "quiet hours"
                    delivery.status, delivery.note = _status_for(reason), reason
                    if delivery.status == DeliveryStatus.EXPIRED:
                        self._metrics.nudges_expired.labels(kind=delivery.kind.value).inc()
                    changed += 1
                elif quiet_end > now:
                    delivery.due_at = quiet_end  # quiet hours began after it was planned
                    changed += 1
                elif user.id in chats:
                    deferred += 1  # this chat already gets a message this round
                else:
                    chats.add(user.id)
                    deliveries.claim(delivery, self._claimant, now)
                    with speaking(user.language):  # in the recipient's language
                        if practice is None:  # the week's look back, or "anything to bring?"
                            composed = await lookback.compose(session, delivery, user, now)
                            if composed is None:
                                delivery.status = DeliveryStatus.SKIPPED
                                delivery.note = "nothing"
                                changed += 1
                                continue
                            outgoing.append(self._compose_week(delivery, composed))
                            continue
                        outgoing.append(self._compose(delivery, practice))
        # All queue at the rate limiter at once, in order, so they leave it oldest first.
        results = await asyncio.gather(
            *(self._send(item) for item in outgoing), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            if not isinstance(error, JournalUnavailable):
                # Sent but not recorded: the journal has it, the next tick records it.
                logger.warning("a delivery could not be recorded yet: %s", type(error).__name__)
        journal_error = next((e for e in errors if isinstance(e, JournalUnavailable)), None)
        if journal_error is not None:
            raise journal_error  # stop sending and back off (see tick)
        return deferred > 0 or changed > 0 or len(rows) == self._send_batch

    async def _reason_not_to_send(
        self,
        session: AsyncSession,
        delivery: Delivery,
        practice: Practice | None,
        user: User,
        now: datetime,
    ) -> str | None:
        if now - delivery.due_at > self._grace:
            return "too late"
        if practice is not None and practice.status != PracticeStatus.ACTIVE:
            return "practice not active"
        if not user.active:
            return "inactive"
        if is_paused(user, delivery.local_date):
            return "paused"
        if practice is not None and delivery.kind in (DeliveryKind.CHECKIN, DeliveryKind.SNOOZE):
            reported = await session.scalar(
                select(
                    exists().where(
                        Report.practice_id == practice.id,
                        Report.local_date == delivery.local_date,
                    )
                )
            )
            if reported:
                return "reported"
        return None

    def _compose(self, delivery: Delivery, practice: Practice) -> Outgoing:
        user_id = delivery.user_id
        if delivery.kind == DeliveryKind.CHECKIN:
            checkin = t.NOTICE_QUESTION if practice.noticing else t.CHECKIN
            text = checkin.format(step=practice.step)
        else:
            text = t.nudge(
                practice.anchor, practice.step, practice.if_then, practice.space, practice.noticing
            )
        rows = report_rows(practice.id, practice.noticing)
        if delivery.kind != DeliveryKind.CHECKIN:
            rows.append(
                [(t.LATER, (Kind.LATER, delivery.id)), (t.THOUGHT_BUTTON, (Kind.THOUGHT,))]
            )
        markup = keyboard(self._signer, user_id, rows)
        return Outgoing(delivery.id, user_id, text, markup, delivery.kind.value, delivery.due_at)

    def _compose_week(self, delivery: Delivery, composed: lookback.Composed) -> Outgoing:
        markup = keyboard(self._signer, delivery.user_id, composed.rows)
        return Outgoing(
            delivery.id,
            delivery.user_id,
            composed.text,
            markup,
            delivery.kind.value,
            delivery.due_at,
            composed.chart,
        )

    async def _send_chart(self, item: Outgoing) -> None:
        """The week's picture before its words; a picture that cannot go leaves the words to."""
        assert item.chart is not None
        try:
            picture = await asyncio.to_thread(summary.chart, item.chart)
            await self._bot.send_photo(
                item.chat_id, InputFile(picture, filename="week.png"), caption=t.WEEK_CHART_CAPTION
            )
        except Exception as error:
            logger.warning(
                "delivery %s: the week's picture was not sent: %s",
                item.delivery_id,
                type(error).__name__,
            )

    async def _send(self, item: Outgoing) -> None:
        if item.chart is not None:
            await self._send_chart(item)
        try:
            message = await self._bot.send_message(
                item.chat_id, item.text, reply_markup=item.markup
            )
        except Forbidden:
            logger.info(
                "delivery %s: the client blocked the bot; no nudges until they return",
                item.delivery_id,
            )
            await self._mark(item, DeliveryStatus.BLOCKED, note="blocked", deactivate=True)
            return
        except BadRequest as error:
            logger.warning("delivery %s refused by Telegram: %s", item.delivery_id, error.message)
            await self._mark(item, DeliveryStatus.SKIPPED, note="refused")
            return
        except TelegramError as error:
            # Timeouts, 5xx, 429 after the rate limiter's retries: still pending, next tick.
            logger.warning("delivery %s not sent yet: %s", item.delivery_id, type(error).__name__)
            if isinstance(error, RetryAfter):
                self._resume_at = max(self._resume_at, time.monotonic() + retry_seconds(error))
            return
        sent_at = utcnow()
        if item.due_at is not None:
            self._metrics.nudge_sent(item.kind, (sent_at - item.due_at).total_seconds())
        journal_error = None
        if self._journal is not None:
            try:
                self._journal.record(item.delivery_id, message.message_id, sent_at)
            except JournalUnavailable as error:
                journal_error = error  # still recorded below, and remembered in memory
            else:
                self._journal_writable_again()
        await self._mark(item, DeliveryStatus.SENT, message_id=message.message_id, at=sent_at)
        if journal_error is not None:
            raise journal_error

    def _journal_writable_again(self) -> None:
        if self._journal_down:
            self._journal_down = False
            logger.info("sent journal can be written again: nudges go out again")

    async def _mark(
        self,
        item: Outgoing,
        status: DeliveryStatus,
        *,
        note: str | None = None,
        message_id: int | None = None,
        deactivate: bool = False,
        at: datetime | None = None,
    ) -> None:
        async with self._db.session() as session:
            if deactivate:
                await session.execute(
                    update(User).where(User.id == item.chat_id).values(active=False)
                )
            await session.execute(
                update(Delivery)
                .where(Delivery.id == item.delivery_id)
                .values(status=status, note=note, message_id=message_id, sent_at=at or utcnow())
            )


def _status_for(reason: str) -> DeliveryStatus:
    return DeliveryStatus.EXPIRED if reason == "too late" else DeliveryStatus.SKIPPED
