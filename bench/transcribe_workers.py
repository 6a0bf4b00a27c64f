"""Benchmark transcription with 1, 2 and 4 `between worker` processes on PostgreSQL.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/transcribe_workers.py
    HF_HUB_OFFLINE=1 .venv/bin/python bench/transcribe_workers.py --workers 1 2 --notes 12

`between run` (TRANSCRIBE_WORKERS=0, so it transcribes nothing itself) takes --notes voice notes
from as many clients through the stand-in Bot API (the committed speech clips in turn) and
stores their jobs; once every note has its "got it", N `between worker` processes start at
once against the same PostgreSQL database and data folder, claim the jobs (FOR UPDATE SKIP
LOCKED), transcribe them (default model, each worker its own) and send the transcripts.
For each N: audio-seconds transcribed per wall-second from the workers' start (model loading
included) and from the first transcript to the last (loaded), the workers' resident memory
and CPU time, and that every note got exactly one transcript. Each worker's model uses every
core, so on a 2-core machine more than one worker shares the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from running import (  # noqa: E402
    BetweenProcess,
    add_clients,
    code_version,
    cpu_seconds,
    fresh_database,
    machine,
    polling,
    rss_mb,
    settings_for,
    table,
    tail,
)

from bot.app import open_database  # noqa: E402
from bot.config import Settings  # noqa: E402
from sandbox.botapi import BotApiStandIn  # noqa: E402
from storage.models import JobStatus, TranscriptionJob  # noqa: E402
from transcription.engine import audio_duration  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
CLIPS = sorted(json.loads((AUDIO / "reference.json").read_text()))


async def wait_messages(
    fake: BotApiStandIn, wanted: dict[int, int], processes: list[BetweenProcess], timeout: float
) -> dict[int, list[float]]:
    """Wait until each chat has its count of bot messages; return every chat's send times."""
    deadline = time.monotonic() + timeout
    while True:
        times = fake.all_send_times()
        if all(len(times.get(c, [])) >= n for c, n in wanted.items()):
            return times
        for process in processes:
            if not process.alive():
                raise SystemExit(f"a process stopped:\n{tail(process.log)}")
        if time.monotonic() > deadline:
            missing = sum(max(0, n - len(times.get(c, []))) for c, n in wanted.items())
            raise SystemExit(f"{missing} messages missing after {timeout:.0f} s")
        await asyncio.sleep(0.1)


async def one_run(
    fake: BotApiStandIn,
    settings: Settings,
    folder: Path,
    workers: int,
    first: int,
    notes: int,
    env: dict[str, str],
) -> list[object]:
    """Queue `notes` jobs through the bot, then let `workers` processes transcribe them."""
    clients = list(range(first, first + notes))
    await add_clients(settings, fake, clients)
    audio = 0.0
    for i, client in enumerate(clients):
        clip = AUDIO / CLIPS[i % len(CLIPS)]
        seconds = audio_duration(clip)
        audio += seconds
        fake.send_voice(client, clip.read_bytes(), duration=int(seconds) + 1)
    await wait_messages(fake, dict.fromkeys(clients, 1), [], timeout=300)  # "got it"
    db = open_database(settings)
    async with db.session() as session:
        pending = await session.scalar(
            select(func.count())
            .select_from(TranscriptionJob)
            .where(TranscriptionJob.status == JobStatus.PENDING)
        )
    await db.dispose()
    assert pending == notes, f"{pending} jobs pending, {notes} expected"

    processes = [
        BetweenProcess(settings, folder / f"worker-{workers}-{i}.log", "worker", **env)
        for i in range(workers)
    ]
    began = time.monotonic()
    for process in processes:
        process.start()
    peak = 0.0
    try:
        task = asyncio.ensure_future(
            wait_messages(fake, dict.fromkeys(clients, 2), processes, timeout=60 * notes)
        )
        while not task.done():
            peak = max(peak, sum(rss_mb(p.pid) for p in processes))
            await asyncio.sleep(0.5)
        times = task.result()
        ended = time.monotonic()
        cpu = sum(cpu_seconds(p.pid) for p in processes)
        rss = sum(rss_mb(p.pid) for p in processes)
        await asyncio.sleep(2)  # a second transcript would come by now
        times = fake.all_send_times()
    finally:
        for process in processes:
            process.stop()
    doubled = sum(1 for c in clients if len(times[c]) > 2)
    done = sorted(
        (times[c][1], audio_duration(AUDIO / CLIPS[i % len(CLIPS)])) for i, c in enumerate(clients)
    )
    after_first = sum(seconds for _, seconds in done[1:])
    loaded = after_first / (done[-1][0] - done[0][0]) if len(done) > 1 else float("nan")
    return [
        workers,
        notes,
        f"{audio:.0f}",
        f"{ended - began:.1f}",
        f"{done[0][0] - began:.1f}",
        f"{audio / (ended - began):.2f}",
        f"{loaded:.2f}",
        f"{cpu:.0f}",
        f"{rss:.0f} (peak {peak:.0f})",
        doubled,
    ]


async def main(args: argparse.Namespace) -> None:
    print(f"commit {code_version()}; {machine()}", flush=True)
    env = {"WHISPER_MODEL": args.model} if args.model else {}
    rows: list[list[object]] = []
    with (
        tempfile.TemporaryDirectory(dir=args.folder) as name,
        BotApiStandIn() as fake,
    ):
        folder = Path(name)
        async with fresh_database("postgres", folder) as url:
            settings = settings_for(fake, url, folder)
            await add_clients(settings, fake, [])  # migrate, and make the key
            bot = BetweenProcess(settings, folder / "between.log", TRANSCRIBE_WORKERS="0", **env)
            bot.start()
            try:
                await polling(fake, bot)
                for n, workers in enumerate(args.workers):
                    first = 800_001 + 10_000 * n
                    row = await one_run(fake, settings, folder, workers, first, args.notes, env)
                    rows.append(row)
                    print(f"{workers} worker(s) done; {machine()}", flush=True)
            finally:
                bot.stop()
    headers = [
        "workers",
        "notes",
        "audio s",
        "wall s",
        "first after s",
        "audio s/s (with load)",
        "audio s/s (loaded)",
        "cpu s",
        "RSS MB, all workers",
        "doubled",
    ]
    print(f"\nPostgreSQL, model {args.model or 'default (base)'}\n")
    print(table(headers, rows))
    print(f"\n{machine()}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2, 4], help="processes per run (1 2 4)"
    )
    parser.add_argument("--notes", type=int, default=24, help="voice notes per run (24)")
    parser.add_argument("--model", help="WHISPER_MODEL (default: the bot's default, base)")
    parser.add_argument("--folder", help="where logs and data go while it runs (default /tmp)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
