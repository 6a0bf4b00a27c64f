"""What the end-to-end benchmarks share: `between run` as its own process against the stand-in
Bot API, a fresh database, clients made ready in it, a process's CPU time and memory, and
percentiles.

Run the benchmarks from an exported commit, so another change in the working tree cannot slip
into a number (each script prints the commit it measured):

    c=$(git rev-parse --short HEAD); mkdir -p /tmp/bench/$c
    git archive $c | tar -x -C /tmp/bench/$c && echo $c > /tmp/bench/$c/.commit
    cd /tmp/bench/$c && PYTHONPATH=. /work/main/.venv/bin/python bench/text_updates.py
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import open_database  # noqa: E402
from bot.config import Settings  # noqa: E402
from sandbox.botapi import BotApiStandIn  # noqa: E402
from storage.db import migrate  # noqa: E402
from storage.models import Practice, User  # noqa: E402
from tests.support.databases import fresh_postgres, postgres_reachable  # noqa: E402

EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"
TICKS = os.sysconf("SC_CLK_TCK")


def code_version() -> str:
    """The commit measured: git HEAD (flagged if the tree has changes), or an export's .commit."""
    marker = ROOT / ".commit"
    if marker.exists():
        return marker.read_text().strip() + " (exported)"
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes in the tree" if dirty else "")


def machine() -> str:
    """Cores and load, so a number can be read against what else the machine was doing."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    """A process's resident memory now (VmRSS), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A plain table, columns as wide as their widest cell."""
    cells = [headers, *[[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def fresh_database(kind: str, folder: Path) -> AsyncIterator[str]:
    """An empty database: "sqlite" in the folder, or a new PostgreSQL database at 127.0.0.1."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'between.db'}"
        return
    if not postgres_reachable():
        raise SystemExit("PostgreSQL is not reachable at 127.0.0.1:5432")
    async with fresh_postgres() as url:
        yield url


def settings_for(fake: BotApiStandIn, url: str, data_dir: Path) -> Settings:
    return Settings(
        telegram_bot_token=fake.token,
        telegram_api_url=fake.api_url,
        telegram_file_url=fake.file_url,
        database_url=url,
        BETWEEN_DATA_DIR=data_dir,
        _env_file=None,
    )


async def add_clients(
    settings: Settings,
    fake: BotApiStandIn,
    ids: list[int],
    *,
    practice_at: datetime | None = None,
    checkin: clock_time = clock_time(0, 0),
) -> None:
    """Migrate, then store consented clients with a timezone (UTC, quiet hours off), each
    with a daily practice whose cue is next at `practice_at` if given; the stand-in learns
    their chats. A check-in at 00:00 comes before any cue, so none is planned; the cue's daily
    time is an hour ago, so after it fires the next is about a day away."""
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    # The cue's daily time an hour ago: after it fires, the next is about a day away.
    cue_time = (datetime.now(UTC) - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    db = open_database(settings)
    try:
        for start in range(0, len(ids), 1000):
            async with db.session() as session:
                for user_id in ids[start : start + 1000]:
                    user = User(
                        id=user_id,
                        first_name="C",
                        timezone="UTC",
                        consent_version="v1",
                        language="en",
                        checkin_time=checkin,
                        quiet_start=clock_time(0, 0),
                        quiet_end=clock_time(0, 0),
                    )
                    session.add(user)
                    if practice_at is not None:
                        session.add(
                            Practice(
                                user=user,
                                goal="reading",
                                step=f"read one page ({user_id})",
                                anchor="after lunch",
                                days=EVERY_DAY,
                                cue_time=cue_time,
                                confidence=9,
                                next_fire_at=practice_at,
                            )
                        )
        for user_id in ids:
            fake.add_chat(user_id, "C")
    finally:
        await db.dispose()


class BetweenProcess:
    """`between run` (or `between worker`) as its own process, from this tree's code."""

    def __init__(self, settings: Settings, log: Path, command: str = "run", **env: str) -> None:
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1",
            "TELEGRAM_BOT_TOKEN": settings.telegram_bot_token or "",
            "TELEGRAM_API_URL": settings.telegram_api_url,
            "TELEGRAM_FILE_URL": settings.telegram_file_url,
            "DATABASE_URL": settings.resolved_database_url,
            "BETWEEN_DATA_DIR": str(settings.data_dir),
            "BETWEEN_POLL_TIMEOUT": "10",
            **env,
        }
        self.log = log
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", self.command],
                cwd=self.log.parent,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def tail(log: Path, lines: int = 40) -> str:
    """The end of a process's log, for a benchmark that has to stop."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


async def polling(fake: BotApiStandIn, process: BetweenProcess, timeout: float = 120) -> None:
    """Wait until the bot polls getUpdates (it has migrated, checked its key and started)."""
    deadline = time.monotonic() + timeout
    while not fake.calls_of("getUpdates"):
        if not process.alive():
            raise SystemExit(f"the bot stopped:\n{tail(process.log)}")
        if time.monotonic() > deadline:
            raise SystemExit(f"the bot did not start within {timeout} s; see {process.log}")
        await asyncio.sleep(0.1)
