"""Making the SQLite files owner-only leaves the locks of connections already open alone."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from storage.db import migrate

WRITE_ONE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA journal_mode=WAL")
connection.execute("INSERT INTO notes VALUES (1)")
print("written", flush=True)
if len(sys.argv) > 2:  # stay open, as a running bot does
    sys.stdin.read()
connection.close()
"""


def test_migrating_beside_an_open_connection_keeps_it_reading_what_others_write(
    tmp_path: Path,
) -> None:
    """`between run` in the process of an open handle (the tests' harness, the sandbox) must
    not drop that handle's SQLite locks: else another process, taking itself for the only
    user, deletes the -wal under it and the handle reads a stale copy from then on."""
    path = tmp_path / "data" / "between.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("PRAGMA journal_mode=WAL")
    reader.execute("CREATE TABLE notes (n INTEGER)")

    migrate(f"sqlite+aiosqlite:///{path}")  # makes the database, -wal and -shm owner-only
    subprocess.run([sys.executable, "-c", WRITE_ONE, str(path)], check=True)
    stays = subprocess.Popen(
        [sys.executable, "-c", WRITE_ONE, str(path), "stay"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert stays.stdout is not None and stays.stdout.readline() == "written\n"
        assert reader.execute("SELECT count(*) FROM notes").fetchone() == (2,)
    finally:
        stays.communicate("", timeout=10)
        reader.close()
    assert (path.stat().st_mode & 0o777) == 0o600
