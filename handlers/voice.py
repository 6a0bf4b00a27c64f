"""Voice notes: fetch the audio, store a job row, say "got it"; corrections to transcripts."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from pathlib import Path

from telegram import Message
from telegram.error import TelegramError

from bot.context import current_unit
from bot.faults import is_telegram_hiccup
from bot.texts import t
from handlers import reports
from handlers.common import Flow, Turn, short_answer
from storage import repo, transcripts
from storage.files import new_private_file
from storage.models import JobStatus, Report, TranscriptionJob

logger = logging.getLogger(__name__)

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024


def audio_of(message: Message) -> tuple[str, int | None, int | None] | None:
    """(file_id, declared seconds, size) of a voice note, audio file or video note."""
    media = message.voice or message.audio or message.video_note
    if media is not None:
        # python-telegram-bot gives a timedelta instead of seconds when PTB_TIMEDELTA is set.
        duration = media.duration
        if isinstance(duration, timedelta):
            duration = int(duration.total_seconds())
        return media.file_id, duration, media.file_size
    document = message.document
    if document is not None and (document.mime_type or "").startswith("audio/"):
        return document.file_id, None, document.file_size
    return None


async def receive(turn: Turn) -> None:
    """Store the note and its job before saying "got it", so nothing said is lost."""
    message = turn.update.effective_message
    assert message is not None
    found = audio_of(message)
    if found is None:
        await turn.say(t.VOICE_NOT_AUDIO)
        return
    file_id, seconds, size = found
    settings = turn.context.services.settings
    conversation = await repo.get_conversation(turn.session, turn.user_id)
    # At a report's "what made it easier?", the note is that report's reflection (reference
    # 000: "a voice note rather than paper"): kept once written down, no button needed.
    reflecting = (
        conversation is not None
        and conversation.flow == reports.FLOW
        and conversation.step == reports.Step.REFLECTION
    )
    job = TranscriptionJob(
        user_id=turn.user_id,
        source_message_id=message.message_id,
        file_id=file_id,
        declared_seconds=seconds,
        flow=conversation.flow if conversation else None,
        step=conversation.step if conversation else None,
        status=JobStatus.PENDING,
        replied=False,
        attempts=0,
    )
    turn.session.add(job)
    problem = None
    if seconds is not None and seconds > settings.max_voice_seconds:
        problem = "too_long"
    elif size is not None and size > TELEGRAM_DOWNLOAD_LIMIT:
        problem = "too_big"
    else:
        path = new_private_file(settings.audio_dir, ".audio")  # a random name: see its doc
        # No job row if the update rolls back: nothing may then refer to the file.
        current_unit.get().after_rollback.append(partial(_delete, path))
        try:
            telegram_file = await turn.context.bot.get_file(file_id)
            await telegram_file.download_to_drive(path)
            job.audio_path = str(path)
        except TelegramError as error:
            if is_telegram_hiccup(error):
                raise  # Telegram is briefly away: the whole update is tried again later
            logger.warning("could not fetch a voice note: %s", error.message)
            _delete(path)  # whatever the failed download left
            problem = "too_big" if "too big" in error.message.lower() else "unreadable"
    if problem:
        job.status, job.problem, job.replied = JobStatus.FAILED, problem, True
        minutes = settings.max_voice_seconds // 60
        await turn.say(t.VOICE_PROBLEMS[problem].format(minutes=minutes))
        return
    current_unit.get().after_commit.append(turn.context.services.jobs_waiting.set)
    if reflecting and conversation is not None:
        job.report_id = conversation.data.get("report_id")
        job.flow = job.step = None  # answered: no "use this as my answer" button
        await turn.say(t.VOICE_GOT_IT_REFLECTION)
        await reports.reflected_by_voice(turn, conversation)
        return
    await turn.say(t.VOICE_GOT_IT)


def _delete(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:  # the sweep at start takes what is left
        logger.warning("could not delete audio: %s", type(error).__name__)


async def correct(turn: Turn, reply_to: Message, text: str) -> bool:
    """If the client replied to one of their transcripts, keep their words; say if handled."""
    job = await transcripts.replied_with(turn.session, turn.user_id, reply_to.message_id)
    if job is None:
        return False
    words, problem = short_answer(text)
    if words is None:
        await turn.say(problem or t.EMPTY_ANSWER)
        return True
    job.corrected = words
    if job.report_id is not None:  # the note was a report's reflection: it follows the fix
        report = await turn.session.get(Report, job.report_id)
        if report is not None:
            report.reflection = words
    await turn.say(t.CORRECTION_SAVED)
    return True


async def use_as_answer(turn: Turn, job_id: str, flows: Mapping[str, Flow]) -> None:
    """`v:<job>`: answer the step the client was on with what they said."""
    job = await turn.session.get(TranscriptionJob, int(job_id)) if job_id.isdigit() else None
    conversation = await repo.get_conversation(turn.session, turn.user_id)
    turn.version = conversation.data.get("_v") if conversation else None
    if job is None or job.user_id != turn.user_id or not job.words:
        await turn.say(t.STALE_BUTTON_SHORT)
        return
    if conversation is None or (conversation.flow, conversation.step) != (job.flow, job.step):
        await turn.say(t.VOICE_ANSWER_STALE if conversation else t.STALE_BUTTON_SHORT)
        if conversation:
            await flows[conversation.flow].prompt(turn, conversation)
        return
    await flows[conversation.flow].answer(turn, conversation, job.words, False)
