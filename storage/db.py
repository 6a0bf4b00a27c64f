"""Engine and sessions: SQLite tuned for a small bot, PostgreSQL for scale."""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.crypto import (
    KeyMismatch,
    TextCipher,
    check_key_and_encrypt_old_rows,
    reencrypt_with_newest_key,
    use_cipher,
)
from storage.files import private_file, private_folder
from storage.models import Base, KeyCheck

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
KEY_CHECK_TEXT = "between key check"
KEY_CHECK_ROW, HASH_KEY_ROW = 1, 2  # key_check rows: the check value; the key for keyed hashes


class Database:
    """One engine and its session factory, shared by handlers, jobs and workers."""

    def __init__(self, url: str, cipher: TextCipher, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        # hide_parameters: SQLAlchemy errors would otherwise quote client text into logs.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            _ensure_sqlite_folder(url)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        use_cipher(self.engine, cipher)
        self.cipher = cipher
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Yield a session that commits on success and rolls back on error."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def check_key(self) -> None:
        """Fail fast (KeyMismatch) if the key cannot open what this database holds, seal a
        check value on first use, and encrypt any text stored before encryption existed.

        Also load the database's key for keyed hashes (codes, wrong-code counts): random, made
        on first use and kept sealed beside the check value, so `between rekey` re-seals it
        with the newest key and codes and lockouts outlive the old key's removal."""
        await check_key_and_encrypt_old_rows(self.engine, list(Base.metadata.tables.values()))
        dialect = "sqlite" if self.is_sqlite else "postgresql"
        hash_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
        seal = [
            {"id": KEY_CHECK_ROW, "sealed": KEY_CHECK_TEXT},
            {"id": HASH_KEY_ROW, "sealed": hash_key},
        ]
        async with self.session() as session:
            await session.execute(insert_ignoring_duplicates(dialect, KeyCheck, seal, "id"))
            sealed = dict(
                (await session.execute(select(KeyCheck.id, KeyCheck.sealed))).tuples().all()
            )
            if sealed.get(KEY_CHECK_ROW) != KEY_CHECK_TEXT:
                raise KeyMismatch("the key check value does not match")
        self.cipher.use_hash_key(base64.urlsafe_b64decode(sealed[HASH_KEY_ROW]))

    async def rekey(self) -> int:
        """Re-encrypt every value with the newest key, the key check included: afterwards the
        older keys can be removed. Returns how many values were rewritten."""
        await self.check_key()
        return await reencrypt_with_newest_key(self.engine, list(Base.metadata.tables.values()))

    async def dispose(self) -> None:
        await self.engine.dispose()


def insert_ignoring_duplicates(
    dialect: str, model: type, rows: list[dict[str, Any]], key: str
) -> Any:
    """An INSERT that skips rows whose `key` already exists (SQLite and PostgreSQL)."""
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    return insert(model).values(rows).on_conflict_do_nothing(index_elements=[key])


def _ensure_sqlite_folder(url: str) -> None:
    """The data folder owner-only, and the database file too before SQLite creates it (its
    -wal, -shm and -journal files take the database file's mode)."""
    database = make_url(url).database
    if database and database != ":memory:":
        path = private_file(private_folder(Path(database).parent) / Path(database).name)
        for end in ("-wal", "-shm", "-journal"):  # left by an earlier run, perhaps not private
            side = path.with_name(path.name + end)
            if side.exists():
                private_file(side)


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout and BEGIN IMMEDIATE, so concurrent writers wait instead of failing."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Overwrite deleted rows instead of leaving them in free pages (/forget, inbox).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str) -> Config:
    """Build the Alembic configuration in code, so no ini file is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the schema up to date (blocking: call it outside the event loop or in a thread)."""
    if make_url(url).get_backend_name() == "sqlite":
        _ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), "head")
    logger.info("database schema is up to date")
