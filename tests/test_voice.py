"""Voice notes end to end: download, job row, the real bundled model, reply, correction;
thought records answered by voice; workers that die mid-job."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.callbacks import CallbackSigner
from bot.config import Settings
from bot.texts import t
from storage.models import JobStatus, ThoughtRecord, TranscriptionJob
from tests.support.harness import Harness
from tests.support.practices import saved_practice
from tests.support.voice import AUDIO, jobs, send_voice, settled_jobs
from transcription.worker import TranscriptionWorker

SAM = 5001


async def test_voice_note_is_written_down_and_sent_back(harness: Harness) -> None:
    await harness.onboard(SAM)

    got_it, heard = await send_voice(harness, SAM, "sister.ogg")

    assert got_it == t.VOICE_GOT_IT
    assert heard.startswith("Here's what I heard:")
    assert "sister" in heard.lower() and "morning" in heard.lower()
    [job] = await settled_jobs(harness)
    assert job.status == JobStatus.DONE and job.replied
    assert job.transcript and "sister" in job.transcript.lower()
    assert job.audio_path and not Path(job.audio_path).exists()  # no audio kept once written


async def test_silence_is_not_turned_into_words(harness: Harness) -> None:
    await harness.onboard(SAM)
    _, reply = await send_voice(harness, SAM, "silence.ogg", seconds=3)
    assert reply == t.VOICE_NO_WORDS
    [job] = await jobs(harness)
    assert job.problem == "no_words" and not job.transcript


async def test_random_bytes_named_ogg_get_a_kind_answer_and_a_failed_job(
    harness: Harness,
) -> None:
    await harness.onboard(SAM)
    _, reply = await send_voice(harness, SAM, "random.ogg", seconds=4)
    assert reply == t.VOICE_UNREADABLE
    [job] = await jobs(harness)
    assert (job.status, job.problem) == (JobStatus.FAILED, "unreadable")


async def test_a_note_over_the_limit_is_refused_before_download(harness: Harness) -> None:
    await harness.onboard(SAM)
    update_ = harness.fake.send_voice(SAM, (AUDIO / "walk.ogg").read_bytes(), duration=40 * 60)
    replies = await harness._exchange(SAM, update_)
    assert replies == [t.VOICE_TOO_LONG.format(minutes=5)]
    assert harness.fake.calls_of("getFile") == []
    [job] = await jobs(harness)
    assert (job.status, job.problem) == (JobStatus.FAILED, "too_long")


async def test_a_reply_to_the_transcript_corrects_it_and_keeps_the_original(
    harness: Harness,
) -> None:
    await harness.onboard(SAM)
    await send_voice(harness, SAM, "sister.ogg")
    transcript_message = harness.fake.last(SAM)

    message = harness.fake.make_message(
        SAM,
        text="My sister rang this morning; we talked for an hour.",
        reply_to_message=transcript_message,
    )
    correction = harness.fake.push_update({"message": message})
    assert await harness._exchange(SAM, correction) == [t.CORRECTION_SAVED]

    [job] = await jobs(harness)
    assert job.corrected == "My sister rang this morning; we talked for an hour."
    assert job.transcript and "sister" in job.transcript.lower()


async def test_thought_record_by_text_and_voice_ends_with_one_card(harness: Harness) -> None:
    await harness.onboard(SAM)
    replies = await harness.send(SAM, "/thought")
    assert replies == [t.THOUGHT_START, t.ASK_SITUATION]

    _, heard = await send_voice(harness, SAM, "breathing.ogg")
    assert heard.startswith("Here's what I heard:")
    assert await harness.press(SAM, "Use this as my answer") == [t.ASK_THOUGHT]
    assert await harness.send(SAM, "Everyone will think I'm useless") == [t.ASK_BELIEF]
    assert await harness.press(SAM, "75") == [t.ASK_FEELING]
    assert await harness.send(SAM, "anxious") == [t.ASK_INTENSITY]
    assert await harness.send(SAM, "80") == [
        t.ASK_TRAP.format(traps="\n".join(f"• {a}: {b}" for a, b in t.TRAPS.values()))
    ]
    assert await harness.press(SAM, "Mind reading") == [t.ASK_BALANCED]
    assert await harness.send(SAM, "Most people were focused on their own work") == [
        t.ASK_BELIEF_AFTER
    ]
    assert await harness.press(SAM, "25") == [t.ASK_INTENSITY_AFTER]
    [card] = await harness.send(SAM, "40")

    assert "Thinking trap: Mind reading" in card
    assert "Thought: Everyone will think I'm useless (75%)" in card
    async with harness.db.session() as session:
        record = await session.scalar(select(ThoughtRecord))
    assert record is not None
    assert "breathing" in record.situation.lower()
    assert (record.belief_before, record.intensity_before) == (75, 80)
    assert (record.belief_after, record.intensity_after) == (25, 40)


async def test_a_thought_record_can_start_from_a_not_today(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Not today")
    assert await harness.press(SAM, "thought record") == [t.THOUGHT_START, t.ASK_SITUATION]


async def test_others_are_answered_while_a_note_is_transcribed(harness: Harness) -> None:
    await harness.onboard(SAM)
    await harness.onboard(SAM + 1)
    before = len(harness.fake.sent(SAM))
    harness.fake.send_voice(SAM, (AUDIO / "walk.ogg").read_bytes(), duration=8)
    await harness.fake.wait_for(SAM, before + 1)  # "got it": transcription has begun

    assert await harness.send(SAM + 1, "/help") != []
    assert len(harness.fake.sent(SAM)) == before + 1  # the transcript is still on its way
    await harness.fake.wait_for(SAM, before + 2, timeout=60)


async def test_a_job_left_by_a_dead_worker_is_finished_by_another(
    harness: Harness, settings: Settings
) -> None:
    await harness.onboard(SAM)
    await harness.stop()  # restart with no in-process workers: we play the workers ourselves
    harness.settings = settings.model_copy(update={"transcribe_workers": 0})
    await harness.start()
    update_ = harness.fake.send_voice(SAM, (AUDIO / "sister.ogg").read_bytes(), duration=6)
    await harness.handled(update_["update_id"])
    await harness.stop()

    short_lease = settings.model_copy(update={"transcribe_lease_seconds": 1})
    signer = CallbackSigner(b"test")
    async with Bot(settings.telegram_bot_token or "", base_url=settings.telegram_api_url) as bot:
        dying = TranscriptionWorker(harness.db, bot, signer, short_lease, name="dying")
        claimed = await dying.claim()  # ...and then it is killed: it never finishes
        assert claimed is not None
        survivor = TranscriptionWorker(harness.db, bot, signer, short_lease, name="survivor")
        assert await survivor.claim() is None  # the lease still holds
        await asyncio.sleep(1.2)
        assert await survivor.work_once()

    [job] = await jobs(harness)
    assert job.status == JobStatus.DONE and job.replied and job.attempts == 2
    assert "sister" in (job.transcript or "").lower()
    assert harness.fake.texts(SAM)[-1].startswith("Here's what I heard:")
    await harness.start()


@pytest.mark.postgres
async def test_two_workers_never_claim_the_same_job(harness: Harness, settings: Settings) -> None:
    if not harness.db.url.startswith("postgresql"):
        pytest.skip("FOR UPDATE SKIP LOCKED is the PostgreSQL claim")
    await harness.onboard(SAM)
    await harness.stop()
    async with harness.db.session() as session:
        session.add_all(
            TranscriptionJob(
                user_id=SAM, source_message_id=i, status=JobStatus.PENDING, attempts=0
            )
            for i in range(20)
        )
    signer = CallbackSigner(b"test")
    async with Bot(settings.telegram_bot_token or "", base_url=settings.telegram_api_url) as bot:
        workers = [TranscriptionWorker(harness.db, bot, signer, settings, f"w{i}") for i in (1, 2)]

        async def claim_all(worker: TranscriptionWorker) -> list[int]:
            claimed = []
            while (job := await worker.claim()) is not None:
                claimed.append(job.id)
            return claimed

        first, second = await asyncio.gather(*(claim_all(w) for w in workers))
    assert len(first) + len(second) == 20
    assert not set(first) & set(second)
    await harness.start()


async def test_a_voice_note_telegram_could_not_hand_over_is_fetched_again_not_lost(
    harness: Harness,
) -> None:
    await harness.onboard(SAM)
    harness.fake.fail_next("getFile", 502)

    got_it, heard = await send_voice(harness, SAM, "sister.ogg")

    assert got_it == t.VOICE_GOT_IT
    assert "sister" in heard.lower()
    [job] = await settled_jobs(harness)
    assert job.status == JobStatus.DONE and job.problem is None
