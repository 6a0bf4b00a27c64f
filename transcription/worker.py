"""Workers that claim transcription jobs with a lease, transcribe, store, and reply.

A job is a row (README, "Voice notes"). A worker claims the oldest claimable job by setting a
lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers on other machines never take the same
job; SQLite's `BEGIN IMMEDIATE` serialises claims). The worker renews its lease while it works,
so a short lease is safe; a worker that dies stops renewing, the lease runs out and another
claims the job again. The lease a worker holds is also its proof of ownership: a result is
stored only while the lease is still the one it set. The transcript is stored before the reply
is sent, and a job whose reply did not go out is claimed again just to send it, so nothing is
lost. The database or Telegram being briefly away is waited out with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.callbacks import CallbackSigner, Kind, keyboard
from bot.config import Settings
from bot.faults import backoff, is_database_outage, is_telegram_hiccup
from bot.logs import describe
from bot.messages import split_message
from bot.metrics import Metrics
from bot.rules.crisis import MAX_FLAGGED_WORDS, crisis_phrases, crisis_resources, mentions_crisis
from bot.texts import speaking, t
from storage import outbox
from storage.db import Database
from storage.files import new_private_file
from storage.models import JobStatus, Report, SafetyFlag, TranscriptionJob, User, utcnow
from transcription.engine import AudioProblem, ModelProblem, Transcriber

logger = logging.getLogger(__name__)

# A worker that stops renewing its lease (killed, or crashed by the note itself: the two cannot
# be told apart) costs the note an attempt; after this many the note is called unreadable, so a
# note that crashes the worker cannot keep the bot in a crash loop. Generous, because a bot
# killed again and again mid-transcription must still answer every note.
MAX_ATTEMPTS = 10
IDLE_POLL_SECONDS = 0.5
# How long a worker keeps retrying a database write before leaving the job to its lease.
DB_PATIENCE_SECONDS = 120.0
# How long an answer waits for the chat's earlier replies (a Telegram hiccup's first retries).
REPLY_ORDER_WAIT_SECONDS = 10.0

T = TypeVar("T")


def claimable(now: datetime) -> Any:
    """Pending jobs, jobs whose worker's lease ran out, and finished jobs whose reply is due."""
    lease_over = or_(TranscriptionJob.lease_until.is_(None), TranscriptionJob.lease_until < now)
    return or_(
        TranscriptionJob.status == JobStatus.PENDING,
        and_(TranscriptionJob.status == JobStatus.RUNNING, lease_over),
        and_(
            TranscriptionJob.status.in_([JobStatus.DONE, JobStatus.FAILED]),
            TranscriptionJob.replied.is_(False),
            lease_over,
        ),
    )


@dataclass
class _Lease:
    """The lease this worker holds on one job; `until` is also its ownership token."""

    job_id: int
    until: datetime
    lost: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class _NotNow(Exception):
    """Telegram is briefly away: leave the job for a retry soon, not counted as an attempt."""


class TranscriptionWorker:
    """One worker: one model, loaded on first use, one job at a time."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        signer: CallbackSigner,
        settings: Settings,
        name: str,
        metrics: Metrics | None = None,
    ) -> None:
        self._db = db
        self._metrics = metrics or Metrics()
        self._bot = bot
        self._signer = signer
        self._settings = settings
        self.name = name
        self._transcriber: Transcriber | None = None
        self._lease = timedelta(seconds=settings.transcribe_lease_seconds)
        self._stop = asyncio.Event()

    def _model(self) -> Transcriber:
        if self._transcriber is None:
            try:
                self._transcriber = Transcriber(
                    self._settings.whisper_model, compute_type=self._settings.whisper_compute_type
                )
            except ModelProblem as problem:  # one clear sentence for the operator
                logger.error("%s", problem)
                raise
        return self._transcriber

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Work until `stop` is set; `wake` is set when this process adds a job.

        An error is logged and the loop goes on, waiting longer after each in a row (the
        database may be restarting).
        """
        self._stop = stop
        wake = wake or asyncio.Event()
        failures = 0
        while not stop.is_set():
            try:
                worked = await self.work_once()
                failures = 0
            except Exception as error:
                failures += 1
                delay = backoff(failures)
                if is_database_outage(error):
                    logger.warning(
                        "worker %s: database unavailable (%s); retrying in %.0f s",
                        self.name,
                        type(error).__name__,
                        delay,
                    )
                else:
                    logger.error("worker %s hit an error: %s", self.name, describe(error))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), IDLE_POLL_SECONDS)
                wake.clear()

    async def work_once(self) -> bool:
        """Claim and finish one job; return whether there was one."""
        if self._transcriber is None:
            if not await self._job_waiting():
                return False
            # Load the model before claiming, so the lease covers the work, not the loading.
            await asyncio.to_thread(self._model)
        job = await self.claim()
        if job is None:
            return False
        if job.status == JobStatus.FAILED:  # e.g. out of attempts: its audio is not kept
            self._delete_audio(job)
        assert job.lease_until is not None
        lease = _Lease(job.id, job.lease_until)
        async with self._keeping(lease):
            try:
                if job.status == JobStatus.RUNNING and not await self._transcribe(job, lease):
                    return True
                if not lease.lost:
                    await self._reply(job, lease)
            except _NotNow as error:
                await self._retry_soon(job, lease, error)
        return True

    async def _job_waiting(self) -> bool:
        async with self._db.session() as session:
            return bool(await session.scalar(select(exists().where(claimable(utcnow())))))

    async def claim(self) -> TranscriptionJob | None:
        now = utcnow()
        async with self._db.session() as session:
            job = await session.scalar(
                select(TranscriptionJob)
                .where(claimable(now))
                .order_by(TranscriptionJob.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if job is None:
                return None
            job.lease_until = now + self._lease
            if job.status in (JobStatus.PENDING, JobStatus.RUNNING):
                job.attempts += 1
                job.status = JobStatus.RUNNING
                if job.attempts > MAX_ATTEMPTS:
                    job.status, job.problem = JobStatus.FAILED, "unreadable"
            logger.info("worker %s claimed job %s (attempt %s)", self.name, job.id, job.attempts)
            return job

    @contextlib.asynccontextmanager
    async def _keeping(self, lease: _Lease) -> AsyncIterator[None]:
        """Renew the lease every third of its length while the body runs."""
        renewing = asyncio.create_task(self._renew(lease))
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _renew(self, lease: _Lease) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            async with lease.lock:
                until = utcnow() + self._lease
                try:
                    async with self._db.session() as session:
                        held = await _update_held(session, lease, {"lease_until": until})
                except Exception as error:  # try again at the next renewal
                    logger.warning(
                        "worker %s could not renew its lease on job %s: %s",
                        self.name,
                        lease.job_id,
                        type(error).__name__,
                    )
                    continue
                if not held:
                    logger.warning("worker %s lost job %s to another", self.name, lease.job_id)
                    lease.lost = True
                    return
                lease.until = until

    async def _patiently(self, what: str, write: Callable[[], Awaitable[T]]) -> T:
        """Run a database write, waiting out an outage for a while (then give up: the lease
        runs out and the job is claimed again)."""
        failures, waited = 0, 0.0
        while True:
            try:
                return await write()
            except Exception as error:
                if not is_database_outage(error) or waited >= DB_PATIENCE_SECONDS:
                    raise
                failures += 1
                delay = backoff(failures)
                logger.warning(
                    "worker %s could not %s (%s); retrying in %.0f s",
                    self.name,
                    what,
                    type(error).__name__,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                if self._stop.is_set():
                    raise
                waited += delay

    def _delete_audio(self, job: TranscriptionJob) -> None:
        """Remove the job's audio as the handler stored it (audio a worker fetched again is
        removed by that worker as soon as it is done with it)."""
        path = Path(job.audio_path or "")
        if path.is_file():
            path.unlink(missing_ok=True)

    async def _audio(self, job: TranscriptionJob) -> Path:
        """The job's audio; a worker on another machine fetches it again from Telegram, into a
        file with a random name (see new_private_file)."""
        path = Path(job.audio_path or "")
        if path.is_file() or not job.file_id:
            return path
        path = new_private_file(self._settings.audio_dir, ".audio")
        try:
            await (await self._bot.get_file(job.file_id)).download_to_drive(path)
        except TelegramError as error:
            path.unlink(missing_ok=True)
            if is_telegram_hiccup(error):
                raise _NotNow(error) from error
            logger.warning("could not fetch audio for job %s: %s", job.id, type(error).__name__)
        return path

    async def _transcribe(self, job: TranscriptionJob, lease: _Lease) -> bool:
        """Transcribe and store; return False if the job was lost to another worker."""
        path = await self._audio(job)
        max_seconds = self._settings.max_voice_seconds
        declared = job.declared_seconds
        # The client's language as it is now (they may have changed it since they sent the note).
        language = await self._patiently("look up a language", lambda: self._language(job))
        try:
            transcript = await asyncio.to_thread(
                lambda: self._model().transcribe(
                    path, max_seconds=max_seconds, declared_seconds=declared, language=language
                )
            )
        except AudioProblem as problem:
            job.status, job.problem = JobStatus.FAILED, problem.kind
        except Exception as error:  # the note's own content broke something: never retried
            logger.error("job %s could not be transcribed: %s", job.id, describe(error))
            job.status, job.problem = JobStatus.FAILED, "unreadable"
        else:
            job.status = JobStatus.DONE
            job.transcript = transcript.text
            job.problem = None if transcript.heard_words else "no_words"
        job.finished_at = utcnow()
        values = {
            "status": job.status,
            "problem": job.problem,
            "transcript": job.transcript,
            "finished_at": job.finished_at,
        }
        flag = None
        if job.transcript and self._mentions_crisis(job.transcript):
            words = job.transcript[:MAX_FLAGGED_WORDS]
            flag = SafetyFlag(user_id=job.user_id, source="voice", words=words)
        reflection = None  # a note sent at "what made it easier?" becomes that reflection
        if job.report_id is not None and job.transcript and job.problem is None and not flag:
            reflection = (job.report_id, job.transcript)
        if not await self._patiently(
            "store a transcript", lambda: self._store(lease, values, flag, reflection)
        ):
            logger.info("worker %s: job %s was taken over; result dropped", self.name, job.id)
            # Erased (/forget) or taken over: a new holder fetches the audio again if need be.
            path.unlink(missing_ok=True)
            return False
        path.unlink(missing_ok=True)  # retention: none; the transcript is stored
        result = "failed" if job.status == JobStatus.FAILED else job.problem or "done"
        self._metrics.transcriptions.labels(result=result).inc()
        self._metrics.transcription_seconds.observe(
            (job.finished_at - job.created_at).total_seconds()
        )
        return True

    async def _language(self, job: TranscriptionJob) -> str | None:
        """The language the client's notes are heard in; None: detected from the note."""
        async with self._db.session() as session:
            return await session.scalar(select(User.language).where(User.id == job.user_id))

    async def _store(
        self,
        lease: _Lease,
        values: dict[str, Any],
        flag: SafetyFlag | None = None,
        reflection: tuple[int, str] | None = None,
    ) -> bool:
        """Write the result (and any crisis flag, or the report's reflection it is) only while
        this worker holds the lease."""
        async with lease.lock:
            if lease.lost:
                return False
            async with self._db.session() as session:
                if not await _update_held(session, lease, values):
                    lease.lost = True
                elif flag is not None:
                    session.add(flag)
                elif reflection is not None:
                    report_id, words = reflection
                    await session.execute(
                        update(Report)
                        .where(Report.id == report_id, Report.reflection.is_(None))
                        .values(reflection=words)
                    )
            return not lease.lost

    async def _after_earlier_replies(self, chat_id: int) -> None:
        """Wait (a little) for the chat's replies queued before now, "Got it" among them: they
        leave after their update's commit, and may be retrying while the answer is ready."""
        ready_at = utcnow()
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + REPLY_ORDER_WAIT_SECONDS
        while loop.time() < give_up_at:
            try:
                async with self._db.session() as session:
                    if not await outbox.waiting_before(session, chat_id, ready_at):
                        return
            except Exception as error:  # the database away: the answer goes on its own
                logger.warning("worker %s: reply order unknown: %s", self.name, describe(error))
                return
            await asyncio.sleep(0.1)

    async def _reply(self, job: TranscriptionJob, lease: _Lease) -> None:
        await self._after_earlier_replies(job.user_id)
        # In the client's language as it is now (the one their notes are heard in).
        language = await self._patiently("look up a language", lambda: self._language(job))
        with speaking(language):
            text, markup = self._compose(job)
        parts = split_message(text)
        try:
            for part in parts[:-1]:
                await self._bot.send_message(job.user_id, part)
            message = await self._bot.send_message(
                job.user_id,
                parts[-1],
                reply_markup=markup,
                reply_to_message_id=job.source_message_id,
                allow_sending_without_reply=True,  # the client may have deleted the note
            )
            job.reply_message_id = message.message_id
        except Forbidden:
            logger.info("a client blocked the bot before their transcript was sent")
        except BadRequest as error:  # retrying would not help; the transcript stays stored
            logger.warning("reply for job %s refused: %s", job.id, type(error).__name__)
        except TelegramError as error:
            raise _NotNow(error) from error
        job.replied = True
        await self._patiently("record a reply", lambda: self._replied(job))

    async def _replied(self, job: TranscriptionJob) -> None:
        """Record the reply at once: the message is out, whoever holds the lease now."""
        async with self._db.session() as session:
            await session.execute(
                update(TranscriptionJob)
                .where(TranscriptionJob.id == job.id)
                .values(replied=True, reply_message_id=job.reply_message_id)
                .execution_options(synchronize_session=False)
            )

    async def _retry_soon(self, job: TranscriptionJob, lease: _Lease, error: _NotNow) -> None:
        """Telegram is briefly away: shorten the lease so the job is tried again soon, and do
        not count this as one of the note's attempts."""
        cause = error.__cause__ or error
        delay = backoff(min(job.attempts, 5), error=cause)
        logger.warning(
            "worker %s: job %s waits %.0f s for Telegram (%s)",
            self.name,
            job.id,
            delay,
            type(cause).__name__,
        )
        values: dict[str, Any] = {"lease_until": utcnow() + timedelta(seconds=delay)}
        if job.status == JobStatus.RUNNING:
            values["attempts"] = max(job.attempts - 1, 0)
        await self._store(lease, values)

    def _mentions_crisis(self, words: str) -> bool:
        return mentions_crisis(words, crisis_phrases(self._settings.crisis_phrases))

    def _compose(self, job: TranscriptionJob) -> tuple[str, InlineKeyboardMarkup | None]:
        if job.status == JobStatus.FAILED:
            minutes = self._settings.max_voice_seconds // 60
            return t.VOICE_PROBLEMS.get(job.problem or "", t.VOICE_UNREADABLE).format(
                minutes=minutes
            ), None
        if job.problem == "no_words":
            return t.VOICE_NO_WORDS, None
        text = t.VOICE_HEARD.format(transcript=job.transcript)
        if self._mentions_crisis(job.transcript or ""):  # crisis resources, never coaching
            crisis = crisis_resources(self._settings)
            return f"{text}\n\n{t.CRISIS_REPLY.format(crisis=crisis)}", None
        if job.report_id is not None:
            return t.VOICE_HEARD_REFLECTION.format(transcript=job.transcript), None
        if not job.flow:
            return text, None
        rows = [[(t.VOICE_USE, (Kind.TRANSCRIPT, job.id))]]
        return text, keyboard(self._signer, job.user_id, rows)


async def _update_held(session: AsyncSession, lease: _Lease, values: dict[str, Any]) -> bool:
    """Change the job only if this lease still holds it; return whether it did."""
    result: Any = await session.execute(
        update(TranscriptionJob)
        .where(TranscriptionJob.id == lease.job_id, TranscriptionJob.lease_until == lease.until)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
