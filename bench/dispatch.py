"""Benchmark the database-driven dispatcher against one APScheduler job per cue.

    .venv/bin/python bench/dispatch.py --cues 100000
    .venv/bin/python bench/dispatch.py --cues 1000000 --skip-apscheduler

Fills a fresh SQLite database with N clients and practices (cues spread over the day), then
measures, in a fresh process each: the dispatcher's memory and start-up time (engine, migrations
check, first tick that finds nothing due), the time one tick takes to find the due cues, and,
for a burst of due cues, the time to plan them into deliveries. Sending is not measured here
(Telegram's 30 messages a second bound it); tests/test_nudges.py checks the pacing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(db_path: Path, cues: int, due: int) -> None:
    """Insert users and practices directly (the benchmark is of reading them, not writing)."""
    from storage.db import migrate

    migrate(f"sqlite+aiosqlite:///{db_path}")
    now = datetime.now(UTC)
    rng = random.Random(7)
    connection = sqlite3.connect(db_path)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    connection.executemany(
        "INSERT INTO users (id, first_name, timezone, consent_version, active, checkin_time,"
        " quiet_start, quiet_end, quiet_mode, paused, created_at)"
        " VALUES (?, 'c', 'Europe/London', 'v', 1, '20:00:00.000000', '00:00:00.000000',"
        " '00:00:00.000000', 'defer', 0, ?)",
        ((i, stamp) for i in range(1, cues + 1)),
    )

    def practice(i: int) -> tuple[object, ...]:
        if i <= due:
            fire = now - timedelta(seconds=rng.randint(1, 600))
        else:
            fire = now + timedelta(seconds=rng.randint(60, 86_400))
        return (i, i, fire.strftime("%Y-%m-%d %H:%M:%S.%f"), stamp)

    connection.executemany(
        "INSERT INTO practices (id, user_id, goal, step, anchor, days, cue_time, status,"
        " talk_over, next_fire_at, created_at, updated_at)"
        " VALUES (?, ?, 'g', 's', 'a', 'mon,tue,wed,thu,fri,sat,sun', '07:30:00.000000',"
        " 'active', 0, ?, ?, ?)",
        ((*practice(i), stamp) for i in range(1, cues + 1)),
    )
    connection.commit()
    connection.close()


async def measure_dispatcher(db_path: Path) -> dict[str, float]:
    """Run in a fresh process: start-up, memory, one empty tick, then planning the burst."""
    started = time.perf_counter()
    from cryptography.fernet import Fernet
    from sqlalchemy import func, select

    from bot.callbacks import CallbackSigner
    from scheduler.dispatcher import Dispatcher
    from storage.crypto import TextCipher
    from storage.db import Database
    from storage.models import Delivery

    cipher = TextCipher([Fernet.generate_key()])
    db = Database(f"sqlite+aiosqlite:///{db_path}", cipher)
    dispatcher = Dispatcher(db, bot=None, signer=CallbackSigner(b"k"), grace=timedelta(hours=2))  # type: ignore[arg-type]
    past = datetime(2000, 1, 1, tzinfo=UTC)
    await dispatcher.plan(past)  # nothing is due in 2000: this is the cost of a quiet tick
    startup = time.perf_counter() - started

    ticks = []
    for _ in range(5):
        began = time.perf_counter()
        await dispatcher.plan(past)
        ticks.append(time.perf_counter() - began)

    began = time.perf_counter()
    now = datetime.now(UTC)
    while await dispatcher.plan(now) == dispatcher._batch:
        pass
    plan_burst = time.perf_counter() - began
    async with db.session() as session:
        planned = await session.scalar(select(func.count()).select_from(Delivery)) or 0
    await db.dispose()
    return {
        "startup_s": startup,
        "quiet_tick_ms": 1000 * sorted(ticks)[len(ticks) // 2],
        "plan_burst_s": plan_burst,
        "planned": planned,
        "rss_mb": rss_mb(),
    }


def measure_apscheduler(cues: int) -> dict[str, float]:
    """The alternative the design rejected: one CronTrigger job per cue in memory."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    def job() -> None:
        pass

    before = rss_mb()
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start(paused=True)
    began = time.perf_counter()
    for i in range(cues):
        trigger = CronTrigger(hour=i % 24, minute=i % 60, timezone="Europe/London")
        scheduler.add_job(job, trigger, id=str(i))
    added = time.perf_counter() - began
    result = {"add_s": added, "rss_mb": rss_mb(), "rss_growth_mb": rss_mb() - before}
    scheduler.shutdown(wait=False)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cues", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000, help="cues due in the burst")
    parser.add_argument("--skip-apscheduler", action="store_true")
    parser.add_argument("--child", choices=["dispatcher", "apscheduler"])
    parser.add_argument("--db")
    args = parser.parse_args()

    if args.child == "dispatcher":
        print(asyncio.run(measure_dispatcher(Path(args.db))))
        return
    if args.child == "apscheduler":
        print(measure_apscheduler(args.cues))
        return

    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "bench.db"
        began = time.perf_counter()
        fill(db_path, args.cues, args.due)
        print(
            f"filled {args.cues:,} cues ({args.due:,} due) in {time.perf_counter() - began:.1f} s"
        )
        me = [sys.executable, __file__, "--cues", str(args.cues)]
        out = subprocess.run(
            [*me, "--child", "dispatcher", "--db", str(db_path)],
            capture_output=True,
            text=True,
            check=True,
        )
        print("dispatcher:", out.stdout.strip())
    if not args.skip_apscheduler:
        out = subprocess.run(
            [*me, "--child", "apscheduler"], capture_output=True, text=True, check=True
        )
        print("apscheduler, one job per cue:", out.stdout.strip())


if __name__ == "__main__":
    main()
