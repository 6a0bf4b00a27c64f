"""The `between` command as an operator meets it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.cli import MISSING_TOKEN


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


def test_migrate_creates_the_schema_in_the_data_folder(tmp_path: Path) -> None:
    result = between("migrate", env={"BETWEEN_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "data" / "between.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"users", "practices", "reports", "adjustments", "conversations", "inbox"} <= tables
