"""Encryption at rest for what clients write: Fernet (AES-CBC with an HMAC) per value.

The key belongs to the engine (`use_cipher`), not to a global, so each `Database` carries its
own and a value read without one fails loudly instead of coming back as ciphertext.
"""

from __future__ import annotations

import enum
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Table, Text, TypeDecorator, select, type_coerce, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

# Every Fernet token starts with its version byte and a timestamp's zero high bytes.
TOKEN_PREFIX = "gAAAAA"


class KeyMismatch(RuntimeError):
    """The configured key cannot open data this database already holds."""


class TextCipher:
    """Encrypt with the first key; decrypt with any (so keys can be rotated)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._keys = list(keys)
        self._hash_key: bytes | None = None

    def use_hash_key(self, key: bytes) -> None:
        """The database's own key for keyed hashes (made once, kept sealed in key_check, so
        it outlives a rotation of the encryption keys: see Database.check_key)."""
        self._hash_key = key

    def keyed_hashes(self, purpose: str, value: str) -> list[str]:
        """HMAC-SHA256 of `value` for `purpose`: the first under the database's hash key (the
        one to store), then under a key derived from each encryption key (how values were
        stored before the hash key existed; found while that encryption key is configured)."""
        if self._hash_key is None:
            raise RuntimeError("the database's hash key is not loaded (see Database.check_key)")
        derived = [
            hmac.digest(key, b"between keyed hash: " + purpose.encode(), "sha256")
            for key in [self._hash_key, *self._keys]
        ]
        return [hmac.new(key, value.encode(), "sha256").hexdigest() for key in derived]

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode("ascii")).decode()

    def rotate(self, token: str) -> str:
        """The same value, encrypted with the first (newest) key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


def use_cipher(engine: AsyncEngine, cipher: TextCipher) -> None:
    """Give this engine the key its encrypted columns use."""
    engine.sync_engine.dialect.text_cipher = cipher  # type: ignore[attr-defined]


def _cipher(dialect: Dialect) -> TextCipher:
    cipher = getattr(dialect, "text_cipher", None)
    if cipher is None:
        raise RuntimeError("this database engine has no encryption key (see use_cipher)")
    return cipher


def keyed_hashes(dialect: Dialect, purpose: str, value: str) -> list[str]:
    """`TextCipher.keyed_hashes` with this engine's keys."""
    return _cipher(dialect).keyed_hashes(purpose, value)


def _open(value: str, dialect: Dialect) -> str:
    if not value.startswith(TOKEN_PREFIX):
        return value  # written before encryption existed; encrypt_plaintext_rows rewrites it
    try:
        return _cipher(dialect).decrypt(value)
    except InvalidToken as error:
        raise KeyMismatch("stored text cannot be opened with the configured key") from error


class EncryptedText(TypeDecorator[str]):
    """Text stored encrypted; queries cannot filter on it, which is the point."""

    impl = Text
    cache_ok = True

    @staticmethod
    def from_plaintext(text: str) -> Any:
        """The value a column of this type held before it was encrypted, from its text."""
        return text

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _cipher(dialect).encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _open(value, dialect)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document stored encrypted (flow answers in progress, raw updates)."""

    impl = Text
    cache_ok = True
    from_plaintext = staticmethod(json.loads)

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _cipher(dialect).encrypt(json.dumps(value, ensure_ascii=False))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(_open(value, dialect))


class _EncryptedScalar(TypeDecorator[Any]):
    """A number, choice or moment stored as encrypted text: queries can neither filter nor sort
    on it (do that in Python), and the database cannot tell one value from another."""

    impl = Text
    cache_ok = True

    def to_text(self, value: Any) -> str:
        raise NotImplementedError

    def from_plaintext(self, text: str) -> Any:
        raise NotImplementedError

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else _cipher(dialect).encrypt(self.to_text(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.from_plaintext(_open(str(value), dialect))


class EncryptedInteger(_EncryptedScalar):
    """A rating (belief, intensity) stored encrypted."""

    cache_ok = True  # SQLAlchemy asks each subclass; its state (the choices) is hashable

    def to_text(self, value: Any) -> str:
        return str(int(value))

    def from_plaintext(self, text: str) -> int:
        return int(text)


class EncryptedChoice(_EncryptedScalar):
    """One of a fixed set of labels (an Enum member, or a plain string) stored encrypted."""

    cache_ok = True  # SQLAlchemy asks each subclass; its state (the choices) is hashable

    def __init__(self, choices: type[enum.StrEnum] | None = None) -> None:
        super().__init__()
        self.choices = choices

    def to_text(self, value: Any) -> str:
        return str(value.value if isinstance(value, enum.Enum) else value)

    def from_plaintext(self, text: str) -> Any:
        return self.choices(text) if self.choices else text


class EncryptedMoment(_EncryptedScalar):
    """An aware UTC datetime stored encrypted (ISO 8601)."""

    cache_ok = True  # SQLAlchemy asks each subclass; its state (the choices) is hashable

    def to_text(self, value: Any) -> str:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).isoformat()

    def from_plaintext(self, text: str) -> datetime:
        moment = datetime.fromisoformat(text)  # also what either database printed before
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


ENCRYPTED_TYPES = (EncryptedText, EncryptedJSON, _EncryptedScalar)


def encrypted_columns(tables: Sequence[Table]) -> list[tuple[Table, str]]:
    """Every (table, column) whose values are encrypted."""
    return [
        (table, column.name)
        for table in tables
        for column in table.columns
        if isinstance(column.type, ENCRYPTED_TYPES)
    ]


async def check_key_and_encrypt_old_rows(engine: AsyncEngine, tables: Sequence[Table]) -> int:
    """Fail fast if the key cannot open this database; encrypt rows stored before encryption.

    Returns how many values were encrypted now.
    """
    rewritten = 0
    async with engine.begin() as connection:
        for table, name in encrypted_columns(tables):
            column = table.c[name]
            kind = column.type
            assert isinstance(kind, ENCRYPTED_TYPES)  # encrypted_columns chose it by its type
            raw = type_coerce(column, Text)
            sample = await connection.scalar(
                select(column).where(raw.startswith(TOKEN_PREFIX)).limit(1)
            )
            del sample  # reading it decrypts it, which raises KeyMismatch on a wrong key
            keys = list(table.primary_key.columns)
            rows = (
                await connection.execute(
                    select(*keys, raw).where(raw.is_not(None), ~raw.startswith(TOKEN_PREFIX))
                )
            ).all()
            for row in rows:
                match = [key == row[i] for i, key in enumerate(keys)]
                plain = kind.from_plaintext(str(row[-1]))
                await connection.execute(update(table).where(*match).values({name: plain}))
            rewritten += len(rows)
    if rewritten:
        logger.info("encrypted %d values stored before encryption at rest", rewritten)
    return rewritten


REKEY_CHUNK = 500  # rows read and rewritten per transaction


async def reencrypt_with_newest_key(engine: AsyncEngine, tables: Sequence[Table]) -> int:
    """Rewrite every encrypted value (in every encrypted column of `tables`) with the newest
    key, so older keys can be retired; text stored before encryption is encrypted too.

    Each value is replaced only if it is still the one read, so a process writing at the same
    time (with the newest key already) loses nothing. Returns how many values were rewritten.
    """
    cipher = _cipher(engine.sync_engine.dialect)
    rewritten = 0
    for table, name in encrypted_columns(tables):
        (key,) = table.primary_key.columns
        raw = type_coerce(table.c[name], Text)
        after: Any = None
        while True:
            query = select(key, raw).where(raw.is_not(None)).order_by(key).limit(REKEY_CHUNK)
            if after is not None:
                query = query.where(key > after)
            async with engine.begin() as connection:
                rows = (await connection.execute(query)).all()
                for row_key, value in rows:
                    if str(value).startswith(TOKEN_PREFIX):
                        try:
                            fresh = cipher.rotate(value)
                        except InvalidToken as error:
                            raise KeyMismatch(
                                f"a value in {table.name}.{name} cannot be opened"
                            ) from error
                    else:  # stored before encryption at rest
                        fresh = cipher.encrypt(str(value))
                    await connection.execute(
                        update(table)
                        .where(key == row_key, raw == value)
                        .values({name: type_coerce(fresh, Text)})
                    )
                rewritten += len(rows)
            if len(rows) < REKEY_CHUNK:
                break
            after = rows[-1][0]
    logger.info("re-encrypted %d values with the newest key", rewritten)
    return rewritten
