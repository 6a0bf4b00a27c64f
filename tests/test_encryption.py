"""Encryption at rest: what clients write cannot be read from the database or the data folder."""

from __future__ import annotations

import asyncio
import stat
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from alembic import command
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy import Text, select, text, type_coerce
from sqlalchemy.engine import make_url

from bot.app import open_database
from bot.config import Settings
from storage.crypto import TOKEN_PREFIX, KeyMismatch, TextCipher, check_key_and_encrypt_old_rows
from storage.db import Database, alembic_config, migrate
from storage.models import (
    Base,
    Conversation,
    Obstacle,
    Outcome,
    Practice,
    Report,
    SafetyFlag,
    ThoughtRecord,
    TranscriptionJob,
    User,
)
from tests.support.harness import Harness
from tests.support.practices import saved_practice
from tests.support.voice import send_voice, settled_jobs

CANARY = "violet-walrus-canary-7781"
SAM = 4101
TABLES = list(Base.metadata.tables.values())


async def stored_text(harness: Harness, tmp_path: Path) -> bytes:
    """Everything at rest: every file under the test folder (database, WAL, data folder) for
    SQLite; every row of every table, as PostgreSQL prints it, for PostgreSQL."""
    if harness.db.is_sqlite:
        return b"\n".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    async with harness.db.engine.connect() as connection:
        rows = [
            (await connection.execute(text(f'SELECT t::text FROM "{table.name}" t'))).all()
            for table in TABLES
        ]
    return "\n".join(str(row[0]) for table_rows in rows for row in table_rows).encode()


async def test_canary_written_everywhere_is_not_findable_at_rest(
    harness: Harness, tmp_path: Path
) -> None:
    await saved_practice(harness, SAM, reward=f"a song {CANARY}")
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Did it")
    await harness.send(SAM, f"reflection {CANARY}")
    await harness.send(SAM, "/thought")
    await harness.send(SAM, f"situation {CANARY}")
    await harness.send(SAM, f"thought {CANARY}")
    await harness.press(SAM, "75")
    await harness.send(SAM, f"feeling {CANARY}")
    await harness.send(SAM, "/cancel")
    await send_voice(harness, SAM, "sister.ogg")
    await settled_jobs(harness)
    await harness.send(SAM, "/new")
    await harness.send(SAM, f"goal {CANARY}")  # left half-way: kept in the conversation

    async with harness.db.session() as session:  # the words are stored, and readable by us
        practice = await session.scalar(select(Practice))
        report = await session.scalar(select(Report))
        job = await session.scalar(select(TranscriptionJob))
        conversation = await session.get(Conversation, SAM)
    assert practice is not None and CANARY in (practice.reward or "")
    assert report is not None and CANARY in (report.reflection or "")
    assert job is not None and "sister called me" in (job.transcript or "").lower()
    assert conversation is not None and CANARY in conversation.data["goal"]

    at_rest = await stored_text(harness, tmp_path)
    assert at_rest  # the scan read something
    assert CANARY.encode() not in at_rest
    assert b"sister called me" not in at_rest.lower()
    assert b"read 10 minutes" not in at_rest


async def test_generated_key_is_readable_by_the_owner_only(harness: Harness) -> None:
    key = harness.settings.data_dir / "keys" / "data.key"

    mode = stat.S_IMODE(key.stat().st_mode)

    assert mode == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) & 0o077 == 0


async def test_a_different_key_is_refused_before_anything_is_read(
    database_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate, database_url)
    first = Database(database_url, TextCipher([Fernet.generate_key()]))
    async with first.session() as session:
        session.add(User(id=SAM, first_name="Sam"))
        await session.flush()
        session.add(Conversation(user_id=SAM, flow="design", step="goal", data={"goal": "x"}))
    await first.dispose()

    other = Database(database_url, TextCipher([Fernet.generate_key()]))
    try:
        with pytest.raises(KeyMismatch):
            await check_key_and_encrypt_old_rows(other.engine, TABLES)
    finally:
        await other.dispose()


async def test_a_rotated_key_still_opens_old_values_and_writes_with_the_new_one(
    database_url: str,
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    await asyncio.to_thread(migrate, database_url)
    before = Database(database_url, TextCipher([old]))
    async with before.session() as session:
        session.add(User(id=SAM, first_name="Sam"))
        await session.flush()
        session.add(Conversation(user_id=SAM, flow="design", step="goal", data={"goal": "x"}))
    await before.dispose()

    after = Database(database_url, TextCipher([new, old]))
    try:
        await check_key_and_encrypt_old_rows(after.engine, TABLES)
        async with after.session() as session:
            conversation = await session.get(Conversation, SAM)
            assert conversation is not None and conversation.data == {"goal": "x"}
            conversation.data = {"goal": "y"}
        async with after.session() as session:
            raw = await session.scalar(select(type_coerce(Conversation.data, Text)))
        assert raw is not None
        assert Fernet(new).decrypt(raw.encode()) == b'{"goal": "y"}'
    finally:
        await after.dispose()


async def test_text_stored_before_encryption_is_encrypted_at_start(database_url: str) -> None:
    await asyncio.to_thread(migrate, database_url)
    db = Database(database_url, TextCipher([Fernet.generate_key()]))
    try:
        async with db.session() as session:
            session.add(User(id=SAM, first_name="Sam"))
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO thought_records (user_id, situation, thought, belief_before,"
                    " feeling, intensity_before, trap, balanced, belief_after, intensity_after,"
                    " created_at) VALUES (:u, 'old situation', 'old thought', 50, 'sad', 60,"
                    " 'labelling', 'old balanced', 30, 40, CURRENT_TIMESTAMP)"
                ),
                {"u": SAM},
            )
        rewritten = await check_key_and_encrypt_old_rows(db.engine, TABLES)

        assert rewritten == 9  # situation, thought, feeling, balanced, trap, four ratings
        async with db.session() as session:
            record = await session.scalar(select(ThoughtRecord))
            raw = await session.scalar(select(type_coerce(ThoughtRecord.situation, Text)))
        assert record is not None and record.situation == "old situation"
        assert raw is not None and "old situation" not in raw
        assert await check_key_and_encrypt_old_rows(db.engine, TABLES) == 0
    finally:
        await db.dispose()


def test_an_encryption_key_that_is_not_a_fernet_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="Fernet"):
        Settings(encryption_key="correct horse battery staple", _env_file=None)


async def test_the_configured_key_is_used_instead_of_a_generated_one(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    settings = Settings(encryption_key=key.decode(), BETWEEN_DATA_DIR=tmp_path, _env_file=None)
    await asyncio.to_thread(migrate, settings.resolved_database_url)

    db = open_database(settings)
    try:
        async with db.session() as session:
            session.add(User(id=SAM, first_name="Sam"))
            await session.flush()
            session.add(Conversation(user_id=SAM, flow="design", step="goal", data={"a": 1}))
        async with db.session() as session:
            raw = await session.scalar(select(type_coerce(Conversation.data, Text)))
    finally:
        await db.dispose()

    assert raw is not None and Fernet(key).decrypt(raw.encode()) == b'{"a": 1}'
    assert not (tmp_path / "keys" / "data.key").exists()


async def test_a_second_process_with_another_key_is_refused_even_before_any_text(
    database_url: str,
) -> None:
    await asyncio.to_thread(migrate, database_url)
    bot = Database(database_url, TextCipher([Fernet.generate_key()]))
    worker = Database(database_url, TextCipher([Fernet.generate_key()]))
    try:
        await bot.check_key()

        with pytest.raises(KeyMismatch):
            await worker.check_key()
        await bot.check_key()  # the first key still opens it
    finally:
        await bot.dispose()
        await worker.dispose()


def loose_modes(folder: Path) -> dict[str, str]:
    """Everything under `folder` (itself included) that anyone but the owner can read."""
    paths = [folder, *folder.rglob("*")] if folder.is_dir() else [folder]
    return {
        str(p.relative_to(folder.parent)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in paths
        if p.exists() and stat.S_IMODE(p.stat().st_mode) & 0o077
    }


async def test_everything_the_running_bot_writes_is_the_owners_only(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await send_voice(harness, SAM, "sister.ogg")
    await settled_jobs(harness)
    data = harness.settings.data_dir
    database = Path(make_url(harness.db.url).database or "")
    written = [data]
    if harness.db.is_sqlite:
        written += [database.with_name(database.name + end) for end in ("", "-wal", "-shm")]
        assert all(p.exists() for p in written)

    assert {p.name for p in data.iterdir()} >= {"audio", "keys"}
    assert {k: v for p in written for k, v in loose_modes(p).items()} == {}


def test_between_migrate_creates_an_owner_only_data_folder_and_database(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    data = tmp_path / "nested" / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        env={**env, "BETWEEN_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (data / "between.db").exists()

    assert loose_modes(tmp_path / "nested") == {}


STATE_COLUMNS = [
    ThoughtRecord.belief_before,
    ThoughtRecord.intensity_before,
    ThoughtRecord.belief_after,
    ThoughtRecord.intensity_after,
    ThoughtRecord.trap,
    Report.obstacle,
    SafetyFlag.source,
    SafetyFlag.at,
]


async def add_states(db: Database) -> datetime:
    """A thought record, a "not today" with its obstacle, and a crisis flag."""
    at = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    async with db.session() as session:
        session.add(User(id=SAM, first_name="Sam"))
        await session.flush()
        practice = Practice(
            user_id=SAM, goal="g", step="s", anchor="a", cue_time=time(8, 0), days="*"
        )
        session.add(practice)
        session.add(
            ThoughtRecord(
                user_id=SAM,
                situation="x",
                thought="x",
                belief_before=83,
                feeling="x",
                intensity_before=71,
                trap="catastrophising",
                balanced="x",
                belief_after=29,
                intensity_after=37,
            )
        )
        session.add(SafetyFlag(user_id=SAM, source="voice", words="x", at=at))
        await session.flush()
        session.add(
            Report(
                practice_id=practice.id,
                outcome=Outcome.NOT_TODAY,
                obstacle=Obstacle.PRESSURE,
                local_date=date(2026, 3, 4),
            )
        )
    return at


async def test_ratings_traps_obstacles_and_crisis_flags_are_encrypted_at_rest(
    database_url: str,
) -> None:
    await asyncio.to_thread(migrate, database_url)
    db = Database(database_url, TextCipher([Fernet.generate_key()]))
    try:
        at = await add_states(db)
        async with db.session() as session:
            raw = [
                await session.scalar(select(type_coerce(column, Text))) for column in STATE_COLUMNS
            ]
            record = await session.scalar(select(ThoughtRecord))
            report = await session.scalar(select(Report))
            flag = await session.scalar(select(SafetyFlag))
    finally:
        await db.dispose()

    assert all(str(value).startswith(TOKEN_PREFIX) for value in raw), raw
    assert record is not None and report is not None and flag is not None
    ratings = (record.belief_before, record.intensity_before)
    assert (*ratings, record.belief_after, record.intensity_after) == (83, 71, 29, 37)
    assert record.trap == "catastrophising"
    assert report.obstacle is Obstacle.PRESSURE
    assert (flag.source, flag.at) == ("voice", at)


async def test_states_stored_in_clear_before_0011_are_kept_and_encrypted_at_start(
    database_url: str,
) -> None:
    config = alembic_config(database_url)
    await asyncio.to_thread(command.upgrade, config, "0010")
    db = Database(database_url, TextCipher([Fernet.generate_key()]))
    try:
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (id, first_name, active, checkin_time, quiet_start,"
                    " quiet_end, quiet_mode, paused, is_clinician, created_at) VALUES"
                    " (:u, 'Sam', true, '20:00', '22:00', '07:00', 'defer', false, false,"
                    " CURRENT_TIMESTAMP)"
                ),
                {"u": SAM},
            )
            await connection.execute(
                text(
                    "INSERT INTO thought_records (user_id, situation, thought, belief_before,"
                    " feeling, intensity_before, trap, balanced, belief_after, intensity_after,"
                    " created_at) VALUES (:u, 's', 't', 83, 'f', 71, 'labelling', 'b', 29, 37,"
                    " CURRENT_TIMESTAMP)"
                ),
                {"u": SAM},
            )
            await connection.execute(
                text(
                    "INSERT INTO safety_flags (user_id, source, words, at)"
                    " VALUES (:u, 'message', 'w', :at)"
                ),
                {"u": SAM, "at": datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)},
            )
        await asyncio.to_thread(migrate, database_url)
        await db.check_key()
        async with db.session() as session:
            raw = [await session.scalar(select(type_coerce(c, Text))) for c in STATE_COLUMNS[:5]]
            record = await session.scalar(select(ThoughtRecord))
            flag = await session.scalar(select(SafetyFlag))
    finally:
        await db.dispose()

    assert all(str(value).startswith(TOKEN_PREFIX) for value in raw), raw
    assert record is not None and flag is not None
    ratings = (record.belief_before, record.intensity_before)
    assert (*ratings, record.belief_after, record.intensity_after) == (83, 71, 29, 37)
    assert record.trap == "labelling"
    assert (flag.source, flag.at) == ("message", datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC))
