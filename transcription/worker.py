"""Workers that claim transcription jobs with a lease, transcribe, store, and reply.

A job is a row (DESIGN.md, decision 4). A worker claims the oldest claimable job by setting a
lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers on other machines never take the same
job; SQLite's `BEGIN IMMEDIATE` serialises claims). A worker that dies leaves its lease to run
out and another claims the job again. The transcript is stored before the reply is sent, and a
job whose reply did not go out is claimed again just to send it, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.callbacks import CallbackSigner
from bot.config import Settings
from bot.summary import split_message
from bot.texts import en as t
from storage.db import Database
from storage.models import JobStatus, TranscriptionJob, utcnow
from transcription.engine import AudioProblem, Transcriber

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
IDLE_POLL_SECONDS = 0.5


def claimable(now: datetime) -> object:
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


class TranscriptionWorker:
    """One worker: one model, loaded on first use, one job at a time."""

    def __init__(
        self, db: Database, bot: Bot, signer: CallbackSigner, settings: Settings, name: str
    ) -> None:
        self._db = db
        self._bot = bot
        self._signer = signer
        self._settings = settings
        self.name = name
        self._transcriber: Transcriber | None = None
        self._lease = timedelta(seconds=settings.transcribe_lease_seconds)

    def _model(self) -> Transcriber:
        if self._transcriber is None:
            self._transcriber = Transcriber(
                self._settings.whisper_model, compute_type=self._settings.whisper_compute_type
            )
        return self._transcriber

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Work until `stop` is set; `wake` is set when this process adds a job.

        An unexpected error is logged and the loop goes on.
        """
        wake = wake or asyncio.Event()
        while not stop.is_set():
            try:
                worked = await self.work_once()
            except Exception:
                logger.exception("worker %s hit an error; carrying on", self.name)
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), IDLE_POLL_SECONDS)
                wake.clear()

    async def work_once(self) -> bool:
        """Claim and finish one job; return whether there was one."""
        job = await self.claim()
        if job is None:
            return False
        if job.status == JobStatus.RUNNING:
            await self._transcribe(job)
        await self._reply(job)
        return True

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

    async def _audio(self, job: TranscriptionJob) -> Path:
        """The job's audio; a worker on another machine fetches it again from Telegram."""
        path = Path(job.audio_path or "")
        if path.is_file() or not job.file_id:
            return path
        path = self._settings.audio_dir / f"job-{job.id}.audio"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            await (await self._bot.get_file(job.file_id)).download_to_drive(path)
        except TelegramError as error:
            logger.warning("could not fetch audio for job %s: %s", job.id, type(error).__name__)
        return path

    async def _transcribe(self, job: TranscriptionJob) -> None:
        path = await self._audio(job)
        try:
            transcript = await asyncio.to_thread(
                self._model().transcribe, path, max_seconds=self._settings.max_voice_seconds
            )
        except AudioProblem as problem:
            job.status, job.problem = JobStatus.FAILED, problem.kind
        else:
            job.status = JobStatus.DONE
            job.transcript = transcript.text
            job.problem = None if transcript.heard_words else "no_words"
        job.finished_at = utcnow()
        async with self._db.session() as session:
            await session.merge(job)
        path.unlink(missing_ok=True)  # retention: none; the transcript is stored

    async def _reply(self, job: TranscriptionJob) -> None:
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
            logger.info("user %s blocked the bot before their transcript was sent", job.user_id)
        except BadRequest as error:  # retrying would not help; the transcript stays stored
            logger.warning("reply for job %s refused: %s", job.id, error.message)
        except TelegramError as error:
            logger.warning("reply for job %s not sent yet: %s", job.id, type(error).__name__)
            return  # the job is claimed again once its lease runs out
        job.replied = True
        async with self._db.session() as session:
            await session.merge(job)

    def _compose(self, job: TranscriptionJob) -> tuple[str, InlineKeyboardMarkup | None]:
        if job.status == JobStatus.FAILED:
            minutes = self._settings.max_voice_seconds // 60
            return t.VOICE_PROBLEMS.get(job.problem or "", t.VOICE_UNREADABLE).format(
                minutes=minutes
            ), None
        if job.problem == "no_words":
            return t.VOICE_NO_WORDS, None
        text = t.VOICE_HEARD.format(transcript=job.transcript)
        if not job.flow:
            return text, None
        data = self._signer.pack(job.user_id, "v", job.id)
        return text, InlineKeyboardMarkup(
            [[InlineKeyboardButton(t.VOICE_USE, callback_data=data)]]
        )
