"""A fresh database for one test: SQLite in its folder, or PostgreSQL when it is reachable."""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
