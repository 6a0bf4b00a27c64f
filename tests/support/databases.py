"""A fresh database for one test: SQLite in its folder, or PostgreSQL when it is reachable."""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from storage.db import Database

POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
POSTGRES_ADMIN_URL = f"postgresql+asyncpg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"


def postgres_reachable() -> bool:
    with (
        contextlib.suppress(OSError),
        socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=1),
    ):
        return True
    return False


@contextlib.asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """Create an empty database for one test and drop it afterwards."""
    import asyncpg

    name = f"between_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(user="postgres", host=POSTGRES_HOST, database="test")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def empty_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database: "sqlite" in the test's folder, or "postgres" (skipped if unreachable)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'between.db'}"
        return
    if not postgres_reachable():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    async with fresh_postgres() as url:
        yield url


@contextlib.contextmanager
def failing_commit(db: Database, error: Callable[[], BaseException]) -> Iterator[list[int]]:
    """Make the next commit that marks an inbox row handled fail once with `error()`: the
    update's own commit, after its handlers ran (and, before the outbox, after its replies
    went out). Yields the list of failures raised so far."""
    engine = db.engine.sync_engine
    marking: set[int] = set()
    raised: list[int] = []

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if not raised and sql.lstrip().upper().startswith("UPDATE INBOX") and "handled_at" in sql:
            marking.add(id(conn))

    def commit(conn: Any) -> None:
        if id(conn) in marking and not raised:
            raised.append(1)
            # A commit that fails leaves nothing behind at the server: roll the driver's
            # transaction back, as a dropped connection does. Raising alone leaves asyncpg's
            # transaction open, and the next use of the pooled connection would commit it.
            conn.connection.dbapi_connection.rollback()
            raise error()

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield raised
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
