"""The `between` command as an operator meets it."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.cli import KEY_MISMATCH, MISSING_TOKEN, TOKEN_REFUSED
from bot.config import WEAK_CLINICIAN_CODE
from bot.texts import t
from sandbox.botapi import BotApiStandIn
from storage import codes
from storage.crypto import encrypted_columns
from storage.db import migrate
from storage.models import Base, Conversation, Practice, Report
from tests.support.clinicians import become_clinician
from tests.support.harness import Harness, bot_settings
from tests.support.practices import saved_practice

REKEY_SAM = 4201


def between(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_without_a_token_says_so_in_one_sentence(tmp_path: Path) -> None:
    result = between("run", env={"BETWEEN_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == MISSING_TOKEN
    assert "Traceback" not in result.stderr


def test_run_refuses_a_clinician_code_easy_to_guess_in_one_sentence(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123:abc", "CLINICIAN_CODE": "letmein"}
    env["BETWEEN_DATA_DIR"] = str(tmp_path / "data")
    result = between("run", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [WEAK_CLINICIAN_CODE]
    assert "letmein" not in result.stderr


def test_migrate_creates_the_schema_in_the_data_folder(tmp_path: Path) -> None:
    result = between("migrate", env={"BETWEEN_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "data" / "between.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"users", "practices", "reports", "adjustments", "conversations", "inbox"} <= tables


def test_run_with_the_wrong_encryption_key_stops_with_a_clear_sentence(tmp_path: Path) -> None:
    written_with = Fernet.generate_key().decode()
    env = {"BETWEEN_DATA_DIR": str(tmp_path / "data"), "ENCRYPTION_KEY": written_with}
    assert between("migrate", env=env, cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "data" / "between.db") as connection:
        connection.execute(
            "INSERT INTO users (id, first_name, active, checkin_time, quiet_start,"
            " quiet_end, quiet_mode, paused, is_clinician, created_at) VALUES (1, 'Sam', 1,"
            " '20:00', '22:00', '07:00', 'defer', 0, 0, '2026-01-01')"
        )
        token = Fernet(written_with.encode()).encrypt(b'{"goal": "x"}').decode()
        connection.execute(
            "INSERT INTO conversations VALUES (1, 'design', 'goal', ?, '2026-01-01')", (token,)
        )

    result = between(
        "run",
        env={
            **env,
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "TELEGRAM_API_URL": "http://127.0.0.1:9/bot",
        },
        cwd=tmp_path,
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == KEY_MISMATCH
    assert "Traceback" not in result.stderr


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the probe goes


def test_run_without_network_says_it_cannot_reach_telegram_in_one_sentence(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/bot"
    env = {"BETWEEN_DATA_DIR": str(tmp_path), "TELEGRAM_BOT_TOKEN": "123:abc"}

    result = between("run", env={**env, "TELEGRAM_API_URL": url}, cwd=tmp_path)

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Can't reach Telegram at TELEGRAM_API_URL ({url}): "), last
    assert "Traceback" not in result.stderr and "123:abc" not in result.stderr


def test_run_with_a_token_telegram_refuses_says_so_in_one_sentence(tmp_path: Path) -> None:
    with BotApiStandIn() as fake:
        env = {
            "BETWEEN_DATA_DIR": str(tmp_path),
            "TELEGRAM_BOT_TOKEN": "999:not-the-token",  # the fake answers 401 to it
            "TELEGRAM_API_URL": fake.api_url,
        }
        for command in ("run", "worker"):
            result = between(command, env=env, cwd=tmp_path)

            assert result.returncode != 0
            assert result.stderr.strip().splitlines()[-1] == TOKEN_REFUSED.format(command=command)
            assert "Traceback" not in result.stderr and "not-the-token" not in result.stderr


async def test_rekey_lets_the_old_key_be_removed(
    fake: BotApiStandIn, database_url: str, tmp_path: Path
) -> None:
    """Written under key A; `between rekey` with ENCRYPTION_KEY=B,A; then B alone starts and
    reads every encrypted value there is."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = bot_settings(fake, database_url, tmp_path).model_copy(
        update={"encryption_key": old}
    )
    harness = Harness(fake, settings)
    await asyncio.to_thread(migrate, database_url)
    await harness.start()
    await saved_practice(harness, REKEY_SAM, reward="a song")
    await harness.send(REKEY_SAM, "/done")
    await harness.press(REKEY_SAM, "Did it")
    await harness.send(REKEY_SAM, "a quiet reflection")
    await harness.send(REKEY_SAM, "/new")
    await harness.send(REKEY_SAM, "a goal left half-way")
    await harness.stop()
    await harness.db.dispose()

    env = {"DATABASE_URL": database_url, "BETWEEN_DATA_DIR": str(settings.data_dir)}
    result = await asyncio.to_thread(
        between, "rekey", env={**env, "ENCRYPTION_KEY": f"{new},{old}"}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr

    retired = settings.model_copy(update={"encryption_key": new})
    harness = Harness(fake, retired)
    await harness.start()
    try:
        assert await harness.send(REKEY_SAM, "/help")
        values = []
        async with harness.db.session() as session:
            for table, name in encrypted_columns(list(Base.metadata.tables.values())):
                values += (await session.scalars(select(table.c[name]))).all()
            practice = await session.scalar(select(Practice))
            report = await session.scalar(select(Report))
            conversation = await session.get(Conversation, REKEY_SAM)
    finally:
        await harness.stop()
        await harness.db.dispose()
    assert len(values) > 10
    assert practice is not None and practice.reward == "a song"
    assert report is not None and report.reflection == "a quiet reflection"
    assert conversation is not None and conversation.data["goal"] == "a goal left half-way"


async def test_codes_and_lockouts_outlive_a_rekey_and_the_old_keys_removal(
    fake: BotApiStandIn, database_url: str, tmp_path: Path
) -> None:
    """A supporter code and a clinician invite made under key A, and an account locked out for
    wrong codes, are all as they were once `between rekey` has run and B alone is the key."""
    doctor, friend, guesser = 4202, 4203, 4204
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = bot_settings(fake, database_url, tmp_path).model_copy(
        update={"encryption_key": old}
    )
    harness = Harness(fake, settings)
    await asyncio.to_thread(migrate, database_url)
    await harness.start()
    await saved_practice(harness, REKEY_SAM)
    await harness.send(REKEY_SAM, "/supporter")
    [shown] = await harness.press(REKEY_SAM, "the week's count")
    supporter_code = shown.split("this code: ")[1].split("\n")[0]
    await become_clinician(harness, doctor)
    [shown] = await harness.send(doctor, "/invite")
    invite_code = shown.split("code to your client: ")[1].split("\n")[0]
    await harness.send(guesser, "/start")
    for _ in range(codes.PER_PERSON):
        assert await harness.send(guesser, f"/support {codes.new_code()}") == [t.LINK_UNKNOWN]
    await harness.stop()
    await harness.db.dispose()

    env = {"DATABASE_URL": database_url, "BETWEEN_DATA_DIR": str(settings.data_dir)}
    result = await asyncio.to_thread(
        between, "rekey", env={**env, "ENCRYPTION_KEY": f"{new},{old}"}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr

    harness = Harness(fake, settings.model_copy(update={"encryption_key": new}))
    await harness.start()
    try:
        assert await harness.send(guesser, f"/support {supporter_code}") == [t.CODE_TOO_MANY]
        await harness.send(friend, "/start")
        [linked, *_] = await harness.send(friend, f"/support {supporter_code}")
        assert linked == t.SUPPORT_LINKED.format(name="Sam")
        await saved_practice(harness, 4205)
        [preview] = await harness.send(4205, f"/link {invite_code}")
        assert preview.startswith("Sam would see")
    finally:
        await harness.stop()
        await harness.db.dispose()


async def test_migrations_produce_exactly_the_models_schema(database_url: str) -> None:
    """A model changed without its migration fails here (Alembic's own comparison)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy.ext.asyncio import create_async_engine

    await asyncio.to_thread(migrate, database_url)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()

    assert differences == []
