"""Benchmark the whole voice pipeline against the bare model on the same clips.

    .venv/bin/python bench/voice_pipeline.py

Runs the real bot (durable ingest, getFile download, job row, in-process worker, reply)
against the loopback fake Bot API server with SQLite, and measures:
1. per clip, warm: time from the voice update being offered to Telegram's getUpdates until the
   transcript message is sent, beside the bare model's time on the same clip;
2. a burst of 50 voice notes from 50 clients: audio-seconds transcribed per wall-second, and
   the longest wait from update to transcript;
3. the process's memory after 10 and after 200 transcriptions.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import open_database, serve  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage.db import migrate  # noqa: E402
from storage.models import User  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from transcription.engine import Transcriber, audio_duration  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
CLIPS = sorted(json.loads((AUDIO / "reference.json").read_text()))


def rss_mb() -> float:
    """Current resident memory (not the high-water mark), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def transcript_after(fake: FakeTelegram, user_id: int, clip: str) -> float:
    """Offer a voice note; return seconds until the transcript reply was sent."""
    before = len(fake.sent(user_id))
    data = (AUDIO / clip).read_bytes()
    began = time.perf_counter()
    fake.send_voice(user_id, data, duration=int(audio_duration(AUDIO / clip)) + 1)
    await fake.wait_for(user_id, before + 2, timeout=300)
    return time.perf_counter() - began


async def main() -> None:
    bare = Transcriber()
    bare_seconds = {}
    for clip in CLIPS:
        bare.transcribe(AUDIO / clip, max_seconds=600)  # warm
        began = time.perf_counter()
        bare.transcribe(AUDIO / clip, max_seconds=600)
        bare_seconds[clip] = time.perf_counter() - began
    del bare

    with tempfile.TemporaryDirectory() as folder, FakeTelegram() as fake:
        settings = Settings(
            telegram_bot_token=fake.token,
            telegram_api_url=fake.api_url,
            telegram_file_url=fake.file_url,
            BETWEEN_DATA_DIR=Path(folder),
            BETWEEN_POLL_TIMEOUT=1,
            _env_file=None,
        )
        clients = list(range(7001, 7051))
        url = settings.resolved_database_url
        await asyncio.to_thread(migrate, url)
        db = open_database(settings)
        async with db.session() as session:  # consented clients with a timezone
            session.add_all(
                User(id=c, first_name="C", timezone="Europe/London", consent_version="v")
                for c in clients
            )
        await db.dispose()
        stop = asyncio.Event()
        bot = asyncio.create_task(serve(settings, stop))

        await transcript_after(fake, clients[0], CLIPS[0])  # warm the worker's model
        print("clip            audio s   bare s   pipeline s   overhead")
        for clip in CLIPS:
            pipeline = min([await transcript_after(fake, clients[0], clip) for _ in range(3)])
            audio = audio_duration(AUDIO / clip)
            overhead = pipeline / bare_seconds[clip] - 1
            print(
                f"{clip:14} {audio:8.2f} {bare_seconds[clip]:8.2f} {pipeline:12.2f} "
                f"{overhead:9.0%}"
            )

        done = 4
        while done < 10:
            await transcript_after(fake, clients[1], CLIPS[done % len(CLIPS)])
            done += 1
        after_10 = rss_mb()

        began = time.perf_counter()
        waits = await asyncio.gather(
            *(transcript_after(fake, c, CLIPS[i % len(CLIPS)]) for i, c in enumerate(clients))
        )
        wall = time.perf_counter() - began
        audio_total = sum(audio_duration(AUDIO / CLIPS[i % len(CLIPS)]) for i in range(50))
        done += 50
        print(
            f"burst of 50 notes from 50 clients: {audio_total / wall:.1f} audio s per wall s, "
            f"longest wait {max(waits):.1f} s, wall {wall:.1f} s"
        )

        while done < 200:
            await transcript_after(fake, clients[2], CLIPS[done % len(CLIPS)])
            done += 1
        print(
            f"memory (RSS): after 10 transcriptions {after_10:.0f} MB, after 200 {rss_mb():.0f} MB"
        )
        stop.set()
        await bot


if __name__ == "__main__":
    asyncio.run(main())
