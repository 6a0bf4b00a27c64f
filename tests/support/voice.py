"""Voice notes sent as a client would, and the transcription jobs they become."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from storage.models import TranscriptionJob
from tests.support.harness import Harness

AUDIO = Path(__file__).parents[1] / "fixtures" / "audio"


async def jobs(harness: Harness) -> list[TranscriptionJob]:
    async with harness.db.session() as session:
        rows = await session.scalars(select(TranscriptionJob).order_by(TranscriptionJob.id))
        return list(rows.all())


async def settled_jobs(harness: Harness) -> list[TranscriptionJob]:
    """The jobs, once every one has been answered (the reply is sent just before it is marked)."""
    for _ in range(100):
        found = await jobs(harness)
        if found and all(job.replied for job in found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("a job was never marked replied")


async def send_voice(harness: Harness, user_id: int, clip: str, seconds: int = 6) -> list[str]:
    """Send a clip as a voice note; return the bot's replies up to and including the result."""
    before = len(harness.fake.sent(user_id))
    update_ = harness.fake.send_voice(user_id, (AUDIO / clip).read_bytes(), duration=seconds)
    await harness.handled(update_["update_id"])
    await harness.fake.wait_for(user_id, before + 2, timeout=60)
    return harness.fake.texts(user_id)[before:]
