"""Benchmark encryption at rest: the cost per value, and the start-up check on a full database.

    .venv/bin/python bench/encryption.py --practices 100000

Fills a fresh SQLite database with N practices and N reports whose text is encrypted (as the
bot writes them), then measures: one value encrypted and decrypted (µs), reading the five text
columns of N practices with and without decryption, and `check_key` at start (it scans every
encrypted column for values stored before encryption existed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Text, insert, select, type_coerce  # noqa: E402

from storage.crypto import TextCipher  # noqa: E402
from storage.db import Database, migrate  # noqa: E402
from storage.models import Outcome, Practice, Report, User  # noqa: E402

WORDS = "read ten pages of the novel on the bedside table before turning the light off"


async def measure(practices: int) -> dict[str, float]:
    cipher = TextCipher([Fernet.generate_key()])
    rounds = 20_000
    began = time.perf_counter()
    for _ in range(rounds):
        cipher.decrypt(cipher.encrypt(WORDS))
    per_value = (time.perf_counter() - began) / rounds * 1e6

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await asyncio.to_thread(migrate, url)
        db = Database(url, cipher)
        now = datetime.now(UTC)
        began = time.perf_counter()
        async with db.engine.begin() as connection:
            for start in range(0, practices, 10_000):
                ids = range(start + 1, min(start + 10_000, practices) + 1)
                await connection.execute(insert(User), [{"id": i, "first_name": "c"} for i in ids])
                await connection.execute(
                    insert(Practice),
                    [
                        {
                            "id": i,
                            "user_id": i,
                            "goal": "reading",
                            "step": WORDS,
                            "anchor": "before bed",
                            "cue_time": now.time(),
                            "if_then": "If I'm tired, then one page",
                            "reward": "tea",
                        }
                        for i in ids
                    ],
                )
                await connection.execute(
                    insert(Report),
                    [
                        {
                            "practice_id": i,
                            "outcome": Outcome.DID,
                            "local_date": date.today(),
                            "reflection": WORDS,
                        }
                        for i in ids
                    ],
                )
        fill = time.perf_counter() - began

        texts = [Practice.goal, Practice.step, Practice.anchor, Practice.if_then, Practice.reward]
        async with db.session() as session:
            began = time.perf_counter()
            rows = (await session.execute(select(*texts))).all()
            decrypted = time.perf_counter() - began
            assert rows[0].step == WORDS
            began = time.perf_counter()
            raw = (await session.execute(select(*(type_coerce(c, Text) for c in texts)))).all()
            plain_read = time.perf_counter() - began
            assert len(raw) == practices

        began = time.perf_counter()
        await db.check_key()
        check = time.perf_counter() - began
        await db.dispose()
    return {
        "encrypt+decrypt one value (µs)": per_value,
        "fill, encrypted (s)": fill,
        "read 5 text columns of every practice, decrypted (s)": decrypted,
        "the same, left encrypted (s)": plain_read,
        "check_key at start (s)": check,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--practices", type=int, default=100_000)
    args = parser.parse_args()
    for name, value in asyncio.run(measure(args.practices)).items():
        print(f"{name}: {value:.3f}")


if __name__ == "__main__":
    main()
