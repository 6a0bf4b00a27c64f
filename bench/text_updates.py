"""Benchmark text updates through Between beside a bare python-telegram-bot echo bot.

    .venv/bin/python bench/text_updates.py                        # SQLite and PostgreSQL
    .venv/bin/python bench/text_updates.py --database sqlite --seconds 20 --backlog 600

Both bots run as their own processes against the loopback stand-in Bot API, which runs in this
process with the simulated clients: `between run` (durable ingest, the handlers, one database
commit per update, the reply through its rate limiter) and a bare Application with an Updater,
one MessageHandler echoing the text and python-telegram-bot's own `AIORateLimiter` (30 a
second). Each client is consented, with a timezone, and writes free text outside a flow:
Between answers that with one message, as the echo bot does.

For each bot (Between once per database, the echo bot once, in the same run):
1. latency at --rate updates a second for --seconds, spread over --clients chats: from the
   moment getUpdates hands the update to the bot until the stand-in receives the reply;
2. throughput at saturation: a backlog of --backlog updates offered at once; replies a second
   between the 10th and the 90th percentile reply (both bots are held near Telegram's 30 a
   second: Between by its own limiter, the echo bot by AIORateLimiter's default);
3. the processing ceiling with the send cap lifted (Between: TELEGRAM_MAX_SEND_RATE=10000, if
   this commit has that setting; the echo bot: no rate limiter), a backlog of --ceiling-backlog.
Beside each, the CPU time the bot's process spent per update. The stand-in, the clients and
the bot share the machine's cores, so the ceiling is the whole loop's, not the bot's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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
    settings_for,
    table,
    tail,
)

from bot.config import Settings  # noqa: E402
from sandbox.botapi import BotApiStandIn  # noqa: E402

FIRST_CLIENT = 500_001
UNCAPPED = "10000"


@dataclass
class Result:
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    latency_cpu_ms: float = float("nan")
    saturation: float = float("nan")
    saturation_cpu_ms: float = float("nan")
    ceiling: float = float("nan")
    ceiling_cpu_ms: float = float("nan")


class EchoProcess:
    """The anchor: a bare python-telegram-bot echo bot, as its own process."""

    def __init__(self, fake: BotApiStandIn, log: Path, *, capped: bool, concurrency: int) -> None:
        self.argv = [
            sys.executable,
            __file__,
            "--child-echo",
            fake.api_url,
            fake.file_url,
            fake.token,
            "--echo-concurrency",
            str(concurrency),
            *([] if capped else ["--uncapped"]),
        ]
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=log)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)


def run_echo(api_url: str, file_url: str, token: str, capped: bool, concurrency: int) -> None:
    """The echo bot's process: polling, one handler, the library's limiter (or none)."""
    from telegram import Update
    from telegram.ext import (
        AIORateLimiter,
        ApplicationBuilder,
        ContextTypes,
        MessageHandler,
        filters,
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        await context.bot.send_message(update.effective_chat.id, update.effective_message.text)

    builder = ApplicationBuilder().token(token).base_url(api_url).base_file_url(file_url)
    if concurrency > 1:
        builder = builder.concurrent_updates(concurrency)
    if capped:
        builder = builder.rate_limiter(AIORateLimiter())
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(poll_interval=0, timeout=10)


def replies_so_far(fake: BotApiStandIn, clients: list[int]) -> dict[int, int]:
    times = fake.all_send_times()
    return {c: len(times.get(c, [])) for c in clients}


async def wait_replies(
    fake: BotApiStandIn, bot: BetweenProcess | EchoProcess, wanted: dict[int, int], timeout: float
) -> dict[int, list[float]]:
    """Wait until each chat has its count of bot messages; return every chat's send times."""
    deadline = time.monotonic() + timeout
    while True:
        times = fake.all_send_times()
        if all(len(times.get(c, [])) >= n for c, n in wanted.items()):
            return times
        if not bot.alive():
            raise SystemExit(f"the bot stopped:\n{tail(bot.log)}")
        if time.monotonic() > deadline:
            short = sum(max(0, n - len(times.get(c, []))) for c, n in wanted.items())
            raise SystemExit(f"{short} replies missing after {timeout:.0f} s; see {bot.log}")
        await asyncio.sleep(0.05)


async def latency(
    fake: BotApiStandIn,
    bot: BetweenProcess | EchoProcess,
    clients: list[int],
    rate: float,
    seconds: float,
) -> tuple[list[float], float]:
    """Offer updates at `rate` a second; return each one's served-to-reply seconds, and the
    bot's CPU seconds per update."""
    before = replies_so_far(fake, clients)
    offered: list[tuple[int, int, int]] = []  # (chat, update_id, index of its reply)
    counts = dict(before)
    cpu = cpu_seconds(bot.pid)
    began = time.monotonic()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
        chat = clients[i % len(clients)]
        update = fake.send_text(chat, f"a thought, number {i}")
        offered.append((chat, update["update_id"], counts[chat]))
        counts[chat] += 1
    times = await wait_replies(fake, bot, counts, timeout=120)
    cpu = cpu_seconds(bot.pid) - cpu
    waits = []
    for chat, update_id, index in offered:
        served = fake.served_at(update_id)
        assert served is not None
        waits.append(times[chat][index] - served)
    return waits, cpu / len(offered)


async def saturation(
    fake: BotApiStandIn, bot: BetweenProcess | EchoProcess, clients: list[int], backlog: int
) -> tuple[float, float]:
    """Offer a backlog at once; return replies a second (10th to 90th percentile reply) and
    the bot's CPU seconds per update."""
    before = replies_so_far(fake, clients)
    counts = dict(before)
    cpu = cpu_seconds(bot.pid)
    for i in range(backlog):
        chat = clients[i % len(clients)]
        fake.send_text(chat, f"a thought, number {i}")
        counts[chat] += 1
    times = await wait_replies(fake, bot, counts, timeout=max(120, backlog / 10))
    cpu = cpu_seconds(bot.pid) - cpu
    replies = sorted(t for c in clients for t in times[c][before[c] :])
    low, high = replies[len(replies) // 10], replies[len(replies) * 9 // 10]
    return (len(replies) * 0.8) / (high - low), cpu / backlog


def describe(waits: list[float], cpu: float, result: Result) -> None:
    result.p50_ms = 1000 * percentile(waits, 50)
    result.p99_ms = 1000 * percentile(waits, 99)
    result.max_ms = 1000 * max(waits)
    result.latency_cpu_ms = 1000 * cpu


def has_send_cap_setting() -> bool:
    """Whether this commit reads TELEGRAM_MAX_SEND_RATE (issue 14, helper "web")."""
    os.environ["TELEGRAM_MAX_SEND_RATE"] = "12345"
    try:
        values = Settings(_env_file=None).model_dump().values()
    finally:
        del os.environ["TELEGRAM_MAX_SEND_RATE"]
    return any(v == 12345 for v in values if isinstance(v, int | float))


async def bench_echo(args: argparse.Namespace, folder: Path) -> Result:
    result = Result()
    clients = list(range(FIRST_CLIENT, FIRST_CLIENT + args.clients))
    with BotApiStandIn() as fake:
        for user_id in clients:
            fake.add_chat(user_id)
        bot = EchoProcess(fake, folder / "echo.log", capped=True, concurrency=args.echo_conc)
        bot.start()
        try:
            await polling(fake, bot)  # type: ignore[arg-type]
            await saturation(fake, bot, clients[:50], 50)  # warm up
            describe(*await latency(fake, bot, clients, args.rate, args.seconds), result)
            result.saturation, cpu = await saturation(fake, bot, clients, args.backlog)
            result.saturation_cpu_ms = 1000 * cpu
        finally:
            bot.stop()
        bot = EchoProcess(fake, folder / "echo.log", capped=False, concurrency=args.echo_conc)
        bot.start()
        try:
            await saturation(fake, bot, clients[:50], 50)
            result.ceiling, cpu = await saturation(fake, bot, clients, args.ceiling_backlog)
            result.ceiling_cpu_ms = 1000 * cpu
        finally:
            bot.stop()
    return result


async def bench_between(args: argparse.Namespace, kind: str, folder: Path) -> Result:
    result = Result()
    clients = list(range(FIRST_CLIENT, FIRST_CLIENT + args.clients))
    data = folder / kind
    data.mkdir()
    with BotApiStandIn() as fake:
        async with fresh_database(kind, data) as url:
            settings = settings_for(fake, url, data)
            await add_clients(settings, fake, clients)
            bot = BetweenProcess(settings, data / "between.log")
            bot.start()
            try:
                await polling(fake, bot)
                await saturation(fake, bot, clients[:50], 50)  # warm up
                describe(*await latency(fake, bot, clients, args.rate, args.seconds), result)
                result.saturation, cpu = await saturation(fake, bot, clients, args.backlog)
                result.saturation_cpu_ms = 1000 * cpu
            finally:
                bot.stop()
            if not has_send_cap_setting():
                print(f"{kind}: TELEGRAM_MAX_SEND_RATE is not on this commit: no ceiling")
                return result
            bot = BetweenProcess(settings, data / "between.log", TELEGRAM_MAX_SEND_RATE=UNCAPPED)
            bot.start()
            try:
                await saturation(fake, bot, clients[:50], 50)
                result.ceiling, cpu = await saturation(fake, bot, clients, args.ceiling_backlog)
                result.ceiling_cpu_ms = 1000 * cpu
            finally:
                bot.stop()
    return result


async def main(args: argparse.Namespace) -> None:
    print(f"commit {code_version()}; {machine()}")
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(dir=args.folder) as name:
        folder = Path(name)
        print(f"logs and data in {folder} (removed at the end)")
        echo = await bench_echo(args, folder)
        results = {"echo": echo}
        for kind in kinds:
            results[kind] = await bench_between(args, kind, folder)
            print(f"after {kind}: {machine()}", flush=True)
    for name, r in results.items():
        rows.append(
            [
                "python-telegram-bot echo" if name == "echo" else f"Between, {name}",
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                f"{r.max_ms:.1f}",
                f"{r.latency_cpu_ms:.2f}",
                f"{r.saturation:.1f}",
                f"{r.saturation / echo.saturation:.3f}",
                f"{r.ceiling:.1f}",
                f"{r.ceiling / echo.ceiling:.2f}",
                f"{r.ceiling_cpu_ms:.2f}",
            ]
        )
    print(
        f"\nlatency at {args.rate:g} updates/s for {args.seconds:g} s over {args.clients} chats;"
        f" saturation: backlog of {args.backlog}; ceiling: backlog of {args.ceiling_backlog},"
        f" send cap lifted; echo bot concurrency {args.echo_conc}\n"
    )
    headers = [
        "bot",
        "p50 ms",
        "p99 ms",
        "max ms",
        "cpu ms/update",
        "saturation /s",
        "of echo",
        "ceiling /s",
        "of echo",
        "cpu ms/update",
    ]
    print(table(headers, rows))
    print(f"\n{machine()}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rate", type=float, default=20.0, help="updates a second (default 20)")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="of offering at --rate (default 60)"
    )
    parser.add_argument(
        "--backlog", type=int, default=1200, help="updates at once, send cap on (default 1200)"
    )
    parser.add_argument(
        "--ceiling-backlog",
        type=int,
        default=4000,
        help="updates at once, send cap lifted (default 4000)",
    )
    parser.add_argument("--folder", help="where logs and data go while it runs (default /tmp)")
    parser.add_argument("--clients", type=int, default=400, help="chats (default 400)")
    parser.add_argument(
        "--echo-concurrency",
        dest="echo_conc",
        type=int,
        default=64,
        help="the echo bot's concurrent updates (default 64, Between's slots; 1: sequential)",
    )
    parser.add_argument(
        "--child-echo", nargs=3, metavar=("API", "FILES", "TOKEN"), help=argparse.SUPPRESS
    )
    parser.add_argument("--uncapped", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    if arguments.child_echo:
        api, files, token = arguments.child_echo
        run_echo(api, files, token, not arguments.uncapped, arguments.echo_conc)
    else:
        asyncio.run(main(arguments))
