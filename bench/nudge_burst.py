"""Benchmark a burst of due nudges sent end to end: `between run` to the stand-in Bot API.

    .venv/bin/python bench/nudge_burst.py                     # 10,000 nudges, SQLite (~6 min)
    .venv/bin/python bench/nudge_burst.py --nudges 1000 --database postgres

bench/dispatch.py measures planning a burst in the dispatcher alone; this sends one. It stores
--nudges consented clients (UTC, quiet hours off, no check-in), each with one daily practice,
starts `between run` as its own process (default settings: a dispatch tick every 20 s, sends
capped at 29 a second), and once it polls moves every cue to now in one statement. Then, at the
stand-in, which counts what arrives per chat (one client, one practice, one delivery each):
the time from the cue to the last nudge (Telegram's pace allows no less than N / 29 s), nudges
lost (a chat with none) or doubled (a chat with two, looked for --settle seconds after the
last), the most in any one second, and each nudge's lateness (arrival minus its cue), p50 and
p99, beside the ideal of the i-th nudge arriving i / 29 s after the cue. The bot's CPU time and
memory are shown too.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from running import (  # noqa: E402
    BetweenProcess,
    add_clients,
    code_version,
    cpu_seconds,
    fresh_database,
    machine,
    percentile,
    polling,
    rss_mb,
    settings_for,
    table,
    tail,
)

from bot.app import open_database  # noqa: E402
from sandbox.botapi import BotApiStandIn  # noqa: E402
from storage.models import Delivery, Practice  # noqa: E402

FIRST_CLIENT = 700_001
TELEGRAM_RATE = 29.0


async def main(args: argparse.Namespace) -> None:
    print(f"commit {code_version()}; {machine()}", flush=True)
    clients = list(range(FIRST_CLIENT, FIRST_CLIENT + args.nudges))
    env = {"BETWEEN_DISPATCH_INTERVAL": str(args.dispatch_interval)}
    with (
        tempfile.TemporaryDirectory(dir=args.folder) as name,
        BotApiStandIn() as fake,
    ):
        folder = Path(name)
        async with fresh_database(args.database, folder) as url:
            settings = settings_for(fake, url, folder)
            began = time.perf_counter()
            tomorrow = datetime.now(UTC) + timedelta(days=1)
            await add_clients(settings, fake, clients, practice_at=tomorrow)
            print(f"stored {len(clients):,} clients in {time.perf_counter() - began:.1f} s")
            bot = BetweenProcess(settings, folder / "between.log", **env)
            bot.start()
            db = open_database(settings)
            try:
                await polling(fake, bot)
                cpu = cpu_seconds(bot.pid)
                cue = datetime.now(UTC)
                offset = time.time() - time.monotonic()  # monotonic -> wall clock
                async with db.session() as session:
                    await session.execute(update(Practice).values(next_fire_at=cue))
                print(f"{len(clients):,} cues due at {cue:%H:%M:%S} UTC", flush=True)
                arrived = await wait_all(fake, bot, clients, cue.timestamp() - offset, args)
                await asyncio.sleep(args.settle)  # a second copy would come by now
                cpu = cpu_seconds(bot.pid) - cpu
                rss = rss_mb(bot.pid)
                async with db.session() as session:
                    statuses = dict(
                        (
                            await session.execute(
                                select(Delivery.status, func.count()).group_by(Delivery.status)
                            )
                        ).all()
                    )
            finally:
                await db.dispose()
                bot.stop()
            report(fake, clients, cue.timestamp() - offset, arrived, cpu, rss, statuses, args)


async def wait_all(
    fake: BotApiStandIn,
    bot: BetweenProcess,
    clients: list[int],
    cue: float,
    args: argparse.Namespace,
) -> float:
    """Wait until every chat has a nudge (or the time allowed runs out); print progress."""
    allowed = len(clients) / TELEGRAM_RATE * 2 + 120
    shown = time.monotonic()
    while True:
        times = fake.all_send_times()
        done = sum(1 for c in clients if times.get(c))
        if done == len(clients):
            return time.monotonic()
        if not bot.alive():
            raise SystemExit(f"the bot stopped:\n{tail(bot.log)}")
        if time.monotonic() - cue > allowed:
            print(f"stopped waiting after {allowed:.0f} s: {done:,} of {len(clients):,} arrived")
            return time.monotonic()
        if time.monotonic() - shown >= 30:
            shown = time.monotonic()
            print(f"  {shown - cue:5.0f} s: {done:,} nudges arrived", flush=True)
        await asyncio.sleep(0.5)


def report(
    fake: BotApiStandIn,
    clients: list[int],
    cue: float,
    arrived: float,
    cpu: float,
    rss: float,
    statuses: dict[object, int],
    args: argparse.Namespace,
) -> None:
    times = fake.all_send_times()
    counts = collections.Counter(len(times.get(c, [])) for c in clients)
    lost, doubled = counts[0], sum(n for k, n in counts.items() if k > 1)
    firsts = sorted(times[c][0] - cue for c in clients if times.get(c))
    per_second = collections.Counter(int(t) for c in clients for t in times.get(c, []))
    ideal = [i / TELEGRAM_RATE for i in range(len(clients))]
    n = len(firsts)
    rows: list[list[object]] = [
        ["nudges due at once", f"{len(clients):,}"],
        ["arrived (once each)", f"{counts[1]:,}"],
        ["lost / doubled", f"{lost} / {doubled}"],
        ["time from the cue to the last", f"{firsts[-1]:.1f} s" if firsts else "-"],
        ["Telegram's pace allows no less than", f"{len(clients) / TELEGRAM_RATE:.1f} s"],
        ["time from the cue to the first", f"{firsts[0]:.1f} s" if firsts else "-"],
        ["from the first to the last", f"{firsts[-1] - firsts[0]:.1f} s" if firsts else "-"],
        [
            "rate, 10th to 90th percentile nudge",
            f"{0.8 * n / (firsts[n * 9 // 10] - firsts[n // 10]):.1f} /s" if n > 10 else "-",
        ],
        ["most in any one second", str(max(per_second.values(), default=0))],
        [
            "lateness p50 / p99 (ideal)",
            f"{percentile(firsts, 50):.1f} / {percentile(firsts, 99):.1f} s "
            f"({percentile(ideal, 50):.1f} / {percentile(ideal, 99):.1f} s)",
        ],
        ["deliveries in the database", ", ".join(f"{k}: {v:,}" for k, v in statuses.items())],
        ["bot CPU time over the burst", f"{cpu:.1f} s ({1000 * cpu / max(n, 1):.1f} ms a nudge)"],
        ["bot resident memory at the end", f"{rss:.0f} MB"],
    ]
    print(
        f"\n{args.database}, dispatch tick every {args.dispatch_interval:g} s; "
        f"doubles looked for {args.settle:g} s after the last\n"
    )
    print(table(["", "value"], rows))
    print(f"\n{machine()}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    parser.add_argument("--nudges", type=int, default=10_000, help="due at once (10,000)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--dispatch-interval",
        type=float,
        default=20.0,
        help="BETWEEN_DISPATCH_INTERVAL for the bot (default 20, the bot's own default)",
    )
    parser.add_argument(
        "--settle", type=float, default=30.0, help="seconds to look for doubles after (30)"
    )
    parser.add_argument("--folder", help="where logs and data go while it runs (default /tmp)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
