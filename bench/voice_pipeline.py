"""Benchmark the whole voice pipeline against the bare model on the same clips.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/voice_pipeline.py
    HF_HUB_OFFLINE=1 TRANSCRIBE_WORKERS=2 .venv/bin/python bench/voice_pipeline.py

Runs `between run` as its own process (durable ingest, getFile download, job row, in-process
worker, reply; SQLite; the default model) against the loopback fake Bot API server, and
measures:
1. per clip, warm: time from the voice update being offered to Telegram's getUpdates until the
   transcript message is sent, beside the bare model (WhisperModel.transcribe on the file, same
   language, beam and VAD) in this process; bare and pipeline alternate, three times each, and
   the fastest of each is kept, so both see the same load. Once for a client whose language is
   English, once for a client with no language (Whisper detects it: the bare call too);
2. a burst of 50 voice notes from 50 clients: audio-seconds transcribed per wall-second, and
   the longest wait from update to transcript;
3. `between run`'s resident memory (VmRSS, and its peak VmHWM) after 10 and 200 transcriptions.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import open_database  # noqa: E402
from bot.config import Settings  # noqa: E402
from sandbox.botapi import BotApiStandIn as FakeTelegram  # noqa: E402
from storage.db import migrate  # noqa: E402
from storage.models import User  # noqa: E402
from transcription.engine import Transcriber, audio_duration  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
CLIPS = sorted(json.loads((AUDIO / "reference.json").read_text()))


def memory(pid: int) -> str:
    """A process's resident memory now (VmRSS) and at its peak (VmHWM), from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return f"{values['VmRSS']:.0f} MB (peak {values['VmHWM']:.0f} MB)"


def bare_seconds(model: Transcriber, path: Path, language: str | None) -> float:
    """The bare model on the file: WhisperModel.transcribe with our language, beam and VAD."""
    began = time.perf_counter()
    segments, _ = model.model.transcribe(
        str(path), language=language, beam_size=model.beam_size, vad_filter=True
    )
    list(segments)  # the segments are decoded as they are read
    return time.perf_counter() - began


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


async def transcript_after(fake: FakeTelegram, user_id: int, clip: str) -> float:
    """Offer a voice note; return seconds until the transcript reply was sent."""
    before = len(fake.sent(user_id))
    data = (AUDIO / clip).read_bytes()
    began = time.perf_counter()
    fake.send_voice(user_id, data, duration=int(audio_duration(AUDIO / clip)) + 1)
    await fake.wait_for(user_id, before + 2, timeout=300)
    return time.perf_counter() - began


async def main() -> None:
    print(f"TRANSCRIBE_WORKERS={os.environ.get('TRANSCRIBE_WORKERS', '1')}, {load()}")
    bare = Transcriber()
    for clip in CLIPS:  # warm, and load the VAD model
        bare_seconds(bare, AUDIO / clip, "en")

    with tempfile.TemporaryDirectory() as folder, FakeTelegram() as fake:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.api_url,
            "TELEGRAM_FILE_URL": fake.file_url,
            "BETWEEN_DATA_DIR": folder,
            "BETWEEN_POLL_TIMEOUT": "1",
        }
        settings = Settings(
            telegram_bot_token=fake.token, BETWEEN_DATA_DIR=Path(folder), _env_file=None
        )
        clients = list(range(7001, 7051))
        unknown = 7100  # a client whose language is not known: Whisper detects it per note
        await asyncio.to_thread(migrate, settings.resolved_database_url)
        db = open_database(settings)
        async with db.session() as session:  # consented clients with a timezone
            session.add_all(
                User(
                    id=c,
                    first_name="C",
                    timezone="Europe/London",
                    consent_version="v",
                    language=None if c == unknown else "en",
                )
                for c in [*clients, unknown]
            )
        await db.dispose()
        log = (Path(folder) / "between.log").open("w")
        between = Path(sys.executable).with_name("between")
        process = subprocess.Popen(
            [str(between), "run"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            done = 0
            while done < 10:  # the first loads the model
                await transcript_after(fake, clients[1], CLIPS[done % len(CLIPS)])
                done += 1
            after_10 = memory(process.pid)

            print("client language  clip            audio s   bare s   pipeline s   overhead")
            for user, language in ((clients[0], "en"), (unknown, None)):
                for clip in CLIPS:
                    bares, pipelines = [], []
                    for _ in range(3):
                        bares.append(bare_seconds(bare, AUDIO / clip, language))
                        pipelines.append(await transcript_after(fake, user, clip))
                        done += 1
                    audio = audio_duration(AUDIO / clip)
                    b, p = min(bares), min(pipelines)
                    print(
                        f"{language or 'none (detected)':16} {clip:14} {audio:8.2f} {b:8.2f} "
                        f"{p:12.2f} {p / b - 1:9.0%}",
                        flush=True,
                    )

            began = time.perf_counter()
            waits = await asyncio.gather(
                *(transcript_after(fake, c, CLIPS[i % len(CLIPS)]) for i, c in enumerate(clients))
            )
            wall = time.perf_counter() - began
            audio_total = sum(audio_duration(AUDIO / CLIPS[i % len(CLIPS)]) for i in range(50))
            done += 50
            print(
                f"burst of 50 notes from 50 clients: {audio_total / wall:.1f} audio s per wall "
                f"s, longest wait {max(waits):.1f} s, wall {wall:.1f} s",
                flush=True,
            )

            while done < 200:
                await transcript_after(fake, clients[2], CLIPS[done % len(CLIPS)])
                done += 1
            print(
                f"between run's memory: after 10 transcriptions {after_10}, "
                f"after {done} {memory(process.pid)}"
            )
            print(load())
        finally:
            process.terminate()
            process.wait(timeout=60)
            log.close()


if __name__ == "__main__":
    asyncio.run(main())
