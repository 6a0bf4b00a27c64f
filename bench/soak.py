"""Soak `between run`: many simulated clients with a realistic mix, for minutes on end.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/soak.py                    # 10 minutes, 1,000 clients
    HF_HUB_OFFLINE=1 .venv/bin/python bench/soak.py --minutes 2 --clients 200

`between run` runs as its own process (default settings, in-process transcription with the
default model) against the stand-in Bot API; --clients clients are stored consented, each with
one daily practice whose cue comes due at a random moment of the soak, so every one of their
nudges fires during it. Meanwhile clients act at random, about --rate actions a second, each
client one thing at a time: free text outside a flow, /help, designing a practice through /new
(typing and pressing what is asked), a new person going through /start, a voice note every
--voice-every seconds; and about --report-share of the clients answer their nudge's buttons
a few seconds after it arrives, then the question that follows.

Every minute: updates offered and handled, messages the bot sent, nudges sent, and the bot's
resident memory and CPU. At the end: nothing lost (every update stored and handled, none left
pending or failed; every voice note transcribed and answered; every due nudge sent, and
exactly once at the stand-in, where a second copy of the text would show), and memory flat
(the last minute's sample within 10% of the second's).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
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
from storage.db import Database  # noqa: E402
from storage.models import (  # noqa: E402
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    InboxStatus,
    InboxUpdate,
    Practice,
    TranscriptionJob,
)
from transcription.engine import audio_duration  # noqa: E402

FIRST_CLIENT = 600_001
FIRST_NEWCOMER = 690_001
AUDIO = ROOT / "tests" / "fixtures" / "audio"
CLIPS = sorted(json.loads((AUDIO / "reference.json").read_text()))
# What a client types and prefers to press while a flow asks (in order; anything else asked
# gets the first button, or the next typed answer).
DESIGN = (["reading", "read 10 minutes", "21:00"], ["9", "Every day", "Skip", "Looks right"])
ONBOARD = (["London"], ["Yes, that's okay", "Yes, that's right"])
AFTER_REPORT = (["I was tired"], ["Forgot", "Keep", "Skip", "Not now"])
ACTIONS = {"text": 45, "help": 15, "design": 15, "onboard": 10}


@dataclass
class Counts:
    offered: int = 0
    handled: int = 0
    failed: int = 0
    voice: int = 0
    reports: int = 0
    actions: collections.Counter[str] = field(default_factory=collections.Counter)
    waits: list[float] = field(default_factory=list)  # offered to handled (inbox read each 0.3 s)


class Inbox:
    """Tells the clients when the bot has handled each update they sent (from the inbox)."""

    def __init__(self, db: Database, counts: Counts) -> None:
        self.db = db
        self.counts = counts
        self.waiting: dict[int, tuple[asyncio.Future[InboxStatus], float]] = {}
        self.offered: list[int] = []

    def offered_update(self, update: dict[str, object]) -> asyncio.Future[InboxStatus]:
        update_id = int(update["update_id"])  # type: ignore[call-overload]
        future: asyncio.Future[InboxStatus] = asyncio.get_running_loop().create_future()
        self.waiting[update_id] = (future, time.monotonic())
        self.offered.append(update_id)
        self.counts.offered += 1
        return future

    async def run(self) -> None:
        while True:
            ids = list(self.waiting)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                with contextlib.suppress(Exception):  # a busy database: look again soon
                    async with self.db.session() as session:
                        rows = (
                            await session.execute(
                                select(InboxUpdate.update_id, InboxUpdate.status).where(
                                    InboxUpdate.update_id.in_(chunk),
                                    InboxUpdate.status.in_([InboxStatus.DONE, InboxStatus.FAILED]),
                                )
                            )
                        ).all()
                    for update_id, status in rows:
                        future, offered_at = self.waiting.pop(update_id)
                        self.counts.waits.append(time.monotonic() - offered_at)
                        self.counts.handled += 1
                        self.counts.failed += status == InboxStatus.FAILED
                        if not future.done():
                            future.set_result(status)
            await asyncio.sleep(0.3)


class Clients:
    """The simulated people: each does one thing at a time."""

    def __init__(self, fake: BotApiStandIn, inbox: Inbox, counts: Counts, rng: random.Random):
        self.fake = fake
        self.inbox = inbox
        self.counts = counts
        self.rng = rng
        self.locks: dict[int, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
        self.newcomers = FIRST_NEWCOMER
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def handled(self, update: dict[str, object], client: int, before: int) -> None:
        """Wait until the update is handled and its reply (if any) has had a moment to come."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.inbox.offered_update(update), 120)
        deadline = time.monotonic() + 2
        while len(self.fake.send_times(client)) <= before and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def say(self, client: int, text: str) -> None:
        before = len(self.fake.send_times(client))
        await self.handled(self.fake.send_text(client, text), client, before)

    async def converse(
        self, client: int, answers: tuple[list[str], list[str]], steps: int, after: int
    ) -> None:
        """Answer what the bot asks: a preferred button, else the next typed answer, else the
        first button; stop when nothing is asked or after `steps`. Only messages after the
        `after`-th count."""
        typed, preferred = list(answers[0]), answers[1]
        for _ in range(steps):
            sent = self.fake.sent(client)[after:]
            if not sent:
                return
            last = sent[-1]
            buttons = [b for b in self.fake.buttons(last) if b[1]]
            before = len(self.fake.send_times(client))
            choice = next(
                (b for p in preferred for b in buttons if p.lower() in b[0].lower()), None
            )
            if choice is not None:
                update = self.fake.press(client, last["message_id"], choice[1])
            elif typed:
                update = self.fake.send_text(client, typed.pop(0))
            elif buttons:
                update = self.fake.press(client, last["message_id"], buttons[0][1])
            else:
                return
            after = before
            await self.handled(update, client, before)

    async def act(self, client: int, kind: str) -> None:
        async with self.locks[client]:
            self.counts.actions[kind] += 1
            if kind == "text":
                await self.say(client, self.rng.choice(["hi", "I'm not sure", "thanks", "ok"]))
            elif kind == "help":
                await self.say(client, "/help")
            elif kind == "design":
                after = len(self.fake.send_times(client))
                await self.say(client, "/new")
                await self.converse(client, DESIGN, 12, after)

    async def onboard(self) -> None:
        client = self.newcomers
        self.newcomers += 1
        async with self.locks[client]:
            self.counts.actions["onboard"] += 1
            await self.say(client, "/start")
            await self.converse(client, ONBOARD, 6, 0)

    async def voice(self, client: int, clip: str) -> None:
        async with self.locks[client]:
            self.counts.voice += 1
            data = (AUDIO / clip).read_bytes()
            before = len(self.fake.send_times(client))
            update = self.fake.send_voice(
                client, data, duration=int(audio_duration(AUDIO / clip)) + 1
            )
            await self.handled(update, client, before)

    async def report(self, client: int, message_id: int, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self.locks[client]:
            message = next(
                (m for m in self.fake.sent(client) if m["message_id"] == message_id), None
            )
            buttons = [b for b in self.fake.buttons(message or {}) if b[1]][:3]
            if not buttons:
                return
            self.counts.reports += 1
            before = len(self.fake.send_times(client))
            _, data = self.rng.choice(buttons)
            await self.handled(self.fake.press(client, message_id, data), client, before)
            await self.converse(client, AFTER_REPORT, 3, before)


async def watch_nudges(
    db: Database, clients: Clients, share: float, rng: random.Random, seen: set[int]
) -> None:
    """Some clients answer their nudge a little while after it arrives."""
    while True:
        with contextlib.suppress(Exception):
            async with db.session() as session:
                rows = (
                    await session.execute(
                        select(Delivery.id, Delivery.user_id, Delivery.message_id).where(
                            Delivery.kind == DeliveryKind.NUDGE,
                            Delivery.status == DeliveryStatus.SENT,
                        )
                    )
                ).all()
            for delivery_id, user_id, message_id in rows:
                if delivery_id in seen or message_id is None:
                    continue
                seen.add(delivery_id)
                if rng.random() < share:
                    clients.spawn(clients.report(user_id, message_id, rng.uniform(5, 60)))
        await asyncio.sleep(5)


async def main(args: argparse.Namespace) -> None:
    print(f"commit {code_version()}; {machine()}", flush=True)
    rng = random.Random(args.seed)
    ids = list(range(FIRST_CLIENT, FIRST_CLIENT + args.clients))
    seconds = args.minutes * 60
    with (
        tempfile.TemporaryDirectory(dir=args.folder) as name,
        BotApiStandIn() as fake,
    ):
        folder = Path(name)
        async with fresh_database(args.database, folder) as url:
            settings = settings_for(fake, url, folder)
            await add_clients(settings, fake, ids, practice_at=datetime.now(UTC) + timedelta(1))
            bot = BetweenProcess(settings, folder / "between.log")
            bot.start()
            db = open_database(settings)
            counts = Counts()
            inbox = Inbox(db, counts)
            clients = Clients(fake, inbox, counts, rng)
            background: list[asyncio.Task[None]] = []
            try:
                await polling(fake, bot)
                began = datetime.now(UTC)
                start = time.monotonic()
                async with db.session() as session:  # each cue at a random moment of the soak
                    for user_id in ids:
                        at = began + timedelta(seconds=rng.uniform(20, 0.8 * seconds))
                        await session.execute(
                            update(Practice)
                            .where(Practice.user_id == user_id)
                            .values(next_fire_at=at)
                        )
                soak_end = began + timedelta(seconds=seconds)
                background = [
                    asyncio.create_task(inbox.run()),
                    asyncio.create_task(watch_nudges(db, clients, args.report_share, rng, set())),
                ]
                minutes = await drive(fake, bot, clients, counts, ids, args, start)
                drained = await drain(clients, inbox, bot, start)
                await asyncio.sleep(5)  # the last replies and transcripts
                end = await final_checks(db, fake, inbox, counts, ids, soak_end)
            finally:
                for task in background:
                    task.cancel()
                for task in list(clients.tasks):
                    task.cancel()
                await asyncio.gather(*background, *clients.tasks, return_exceptions=True)
                await db.dispose()
                bot.stop()
    report(args, counts, minutes, drained, end)


async def drive(
    fake: BotApiStandIn,
    bot: BetweenProcess,
    clients: Clients,
    counts: Counts,
    ids: list[int],
    args: argparse.Namespace,
    start: float,
) -> list[list[object]]:
    """Offer the mix for the soak's minutes; sample the bot every minute."""
    kinds, weights = list(ACTIONS), list(ACTIONS.values())
    rng = clients.rng
    minutes: list[list[object]] = []
    last = {"cpu": cpu_seconds(bot.pid), "offered": 0, "handled": 0, "sent": 0, "at": start}
    next_voice = start + 5  # early, so the model is loaded in the first minute
    next_action = start
    voice_index = 0
    while (now := time.monotonic()) < start + args.minutes * 60:
        if not bot.alive():
            raise SystemExit(f"the bot stopped:\n{tail(bot.log)}")
        while next_action <= now:
            next_action += rng.expovariate(args.rate)
            kind = rng.choices(kinds, weights)[0]
            if kind == "onboard":
                clients.spawn(clients.onboard())
                continue
            client = rng.choice(ids)
            if not clients.locks[client].locked():
                clients.spawn(clients.act(client, kind))
        if next_voice <= now:
            next_voice += args.voice_every
            client = rng.choice(ids)
            clients.spawn(clients.voice(client, CLIPS[voice_index % len(CLIPS)]))
            voice_index += 1
        if now - last["at"] >= 60:
            minutes.append(sample(fake, bot, counts, last, len(minutes) + 1))
        await asyncio.sleep(0.02)
    if len(minutes) < args.minutes:
        minutes.append(sample(fake, bot, counts, last, len(minutes) + 1))
    return minutes


def sample(
    fake: BotApiStandIn, bot: BetweenProcess, counts: Counts, last: dict[str, float], minute: int
) -> list[object]:
    now = time.monotonic()
    cpu = cpu_seconds(bot.pid)
    sent = sum(len(t) for t in fake.all_send_times().values())
    row: list[object] = [
        minute,
        counts.offered - last["offered"],
        counts.handled - last["handled"],
        sent - last["sent"],
        f"{rss_mb(bot.pid):.0f}",
        f"{100 * (cpu - last['cpu']) / (now - last['at']):.0f}",
    ]
    last.update(cpu=cpu, offered=counts.offered, handled=counts.handled, sent=sent, at=now)
    print(
        "  minute {}: offered {}, handled {}, bot messages {}, RSS {} MB, CPU {}%".format(*row),
        flush=True,
    )
    return row


async def drain(clients: Clients, inbox: Inbox, bot: BetweenProcess, start: float) -> float:
    """Let what is in flight finish (up to three minutes); return how long it took."""
    began = time.monotonic()
    while (clients.tasks or inbox.waiting) and time.monotonic() - began < 180:
        if not bot.alive():
            raise SystemExit(f"the bot stopped:\n{tail(bot.log)}")
        await asyncio.sleep(0.5)
    return time.monotonic() - began


async def final_checks(
    db: Database,
    fake: BotApiStandIn,
    inbox: Inbox,
    counts: Counts,
    ids: list[int],
    soak_end: datetime,
) -> dict[str, object]:
    async with db.session() as session:
        statuses = dict(
            (
                await session.execute(
                    select(InboxUpdate.status, func.count())
                    .where(InboxUpdate.update_id.in_(inbox.offered))
                    .group_by(InboxUpdate.status)
                )
            ).all()
        )
        jobs = dict(
            (
                await session.execute(
                    select(TranscriptionJob.status, func.count()).group_by(TranscriptionJob.status)
                )
            ).all()
        )
        unreplied = await session.scalar(
            select(func.count())
            .select_from(TranscriptionJob)
            .where(TranscriptionJob.replied.is_(False))
        )
        nudges = (
            await session.execute(
                select(Delivery.user_id, Delivery.status, Delivery.message_id).where(
                    Delivery.kind == DeliveryKind.NUDGE, Delivery.user_id.in_(ids)
                )
            )
        ).all()
    served = fake.served_count
    sent_nudges = [(u, m) for u, s, m in nudges if s == DeliveryStatus.SENT]
    copies = collections.Counter()
    for user_id, message_id in sent_nudges:
        chat = fake.sent(user_id)
        text = next((m.get("text") for m in chat if m["message_id"] == message_id), None)
        copies[sum(1 for m in chat if text is not None and m.get("text") == text)] += 1
    return {
        "stored": sum(statuses.values()),
        "statuses": statuses,
        "served": sum(1 for u in inbox.offered if served.get(u)),
        "jobs": jobs,
        "unreplied": unreplied,
        "nudge rows": collections.Counter(str(s) for _, s, _ in nudges),
        "nudge copies": copies,
        "clients without a nudge row": len(set(ids) - {u for u, _, _ in nudges}),
    }


def report(
    args: argparse.Namespace,
    counts: Counts,
    minutes: list[list[object]],
    drained: float,
    end: dict[str, object],
) -> None:
    print(
        f"\n{args.database}, {args.clients:,} clients, {args.minutes:g} minutes, "
        f"about {args.rate:g} actions/s, a voice note every {args.voice_every:g} s\n"
    )
    print(
        table(["minute", "updates offered", "handled", "bot messages", "RSS MB", "CPU %"], minutes)
    )
    rss = [float(str(m[4])) for m in minutes]
    flat = (
        f"{rss[-1]:.0f} MB against {rss[1]:.0f} MB: {100 * (rss[-1] / rss[1] - 1):+.1f}%"
        if len(rss) > 1
        else "needs two minutes"
    )
    statuses: dict[object, int] = end["statuses"]  # type: ignore[assignment]
    copies: collections.Counter[int] = end["nudge copies"]  # type: ignore[assignment]
    rows: list[list[object]] = [
        [
            "actions",
            ", ".join(f"{k} {v}" for k, v in counts.actions.items())
            + f", voice notes {counts.voice}, nudge reports {counts.reports}",
        ],
        [
            "updates offered / served / stored",
            f"{counts.offered} / {end['served']} / {end['stored']}",
        ],
        ["inbox statuses of those", ", ".join(f"{k}: {v}" for k, v in statuses.items())],
        [
            "offered to handled p50 / p99 / max",
            f"{percentile(counts.waits, 50):.2f} / {percentile(counts.waits, 99):.2f} / "
            f"{max(counts.waits, default=float('nan')):.2f} s",
        ],
        ["in flight at the end (reports due included), drained in", f"{drained:.1f} s"],
        [
            "transcription jobs",
            ", ".join(f"{k}: {v}" for k, v in end["jobs"].items())  # type: ignore[attr-defined]
            + f"; not yet answered {end['unreplied']}",
        ],
        [
            "nudge deliveries",
            ", ".join(f"{k}: {v}" for k, v in end["nudge rows"].items())  # type: ignore[attr-defined]
            + f"; clients without one {end['clients without a nudge row']}",
        ],
        [
            "sent nudges by copies at the stand-in",
            ", ".join(f"{k}x: {v}" for k, v in sorted(copies.items())),
        ],
        ["memory, last minute against the second", flat],
    ]
    print()
    print(table(["", "value"], rows))
    print(f"\n{machine()}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (10)")
    parser.add_argument("--clients", type=int, default=1000, help="stored clients (1,000)")
    parser.add_argument("--rate", type=float, default=6.0, help="actions a second (about 6)")
    parser.add_argument(
        "--voice-every", type=float, default=15.0, help="seconds between voice notes (15)"
    )
    parser.add_argument(
        "--report-share", type=float, default=0.7, help="share answering their nudge (0.7)"
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--folder", help="where logs and data go while it runs (default /tmp)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
