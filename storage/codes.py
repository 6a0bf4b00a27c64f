"""One-time codes (clinician invites, supporter codes) and the limit on wrong codes.

A code is 16 characters from Crockford's base32 (80 bits), shown in groups of four
(`7KQM-X2PD-9HRT-4WCE`); it is typed in any case, with or without spaces and dashes, and
O/I/L read as 0/1/1. Only a keyed hash of a code is stored.

Wrong codes are counted per person, by a keyed hash of the Telegram id (so `/forget` does not
reset the count), and for everyone together: a ceiling against many accounts guessing, set
(in Settings) far above what a handful of accounts can reach, so strangers cannot close codes
for everyone, yet low enough to bound guessing (10,000 an hour against 2^80 codes; 500 a day
against a CLINICIAN_CODE of at least 12 characters; README, "Limits worth knowing").
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import Enum, StrEnum
from typing import Final, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import keyed_hashes
from storage.models import CodeAttempt, utcnow

logger = logging.getLogger(__name__)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
LENGTH, GROUP = 16, 4  # 80 bits
READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})

T = TypeVar("T")


class Kind(StrEnum):
    CODE = "code"  # /link and /support codes
    CLINICIAN = "clinician"  # CLINICIAN_CODE


PER_PERSON: Final = 5  # wrong codes one account may try in a window
WINDOWS: Final = {Kind.CODE: timedelta(hours=1), Kind.CLINICIAN: timedelta(hours=24)}


class Locked(Enum):
    """Returned instead of a result while wrong codes are over the limit (a one-member enum,
    so `result is LOCKED` tells a type checker what is left)."""

    LOCKED = "locked"


LOCKED: Final = Locked.LOCKED


def new_code() -> str:
    """A fresh code, grouped for reading aloud and typing."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(chars[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalize(typed: str) -> str | None:
    """The code as typed, in canonical form; None if it cannot be a code."""
    chars = "".join(typed.upper().split()).replace("-", "").translate(READ_AS)
    if len(chars) != LENGTH or any(c not in ALPHABET for c in chars):
        return None
    return chars


def code_hashes(session: AsyncSession, typed: str) -> list[str]:
    """What a code is stored as (the first) and found by (any): [] if it cannot be a code."""
    code = normalize(typed)
    return [] if code is None else _hashes(session, "code", code)


def _hashes(session: AsyncSession, purpose: str, value: str) -> list[str]:
    return keyed_hashes(session.get_bind().dialect, purpose, value)


async def guarded(
    session: AsyncSession,
    kind: Kind,
    user_id: int,
    check: Callable[[], Awaitable[T | None]],
    everyone: int,
) -> T | Locked | None:
    """Run `check` (a code lookup: None when the code is wrong) unless this person has tried
    PER_PERSON wrong codes, or everyone together `everyone`, within the kind's window; count
    it if it comes back None."""
    since = utcnow() - WINDOWS[kind]
    subjects = _hashes(session, "attempts", str(user_id))
    recent = select(func.count()).select_from(CodeAttempt)
    recent = recent.where(CodeAttempt.kind == kind.value, CodeAttempt.at > since)
    mine = recent.where(CodeAttempt.subject_hash.in_(subjects))
    if (await session.scalar(mine) or 0) >= PER_PERSON:
        logger.warning("an account is over the limit of wrong codes (%s): refused for now", kind)
        return LOCKED
    if (await session.scalar(recent) or 0) >= everyone:
        logger.warning(
            "wrong codes (%s) reached the ceiling for everyone (%d): refused for now",
            kind,
            everyone,
        )
        return LOCKED
    found = await check()
    if found is None:
        await session.execute(
            delete(CodeAttempt).where(CodeAttempt.kind == kind.value, CodeAttempt.at <= since)
        )
        session.add(CodeAttempt(kind=kind.value, subject_hash=subjects[0]))
        await session.flush()
        logger.info("a wrong code (%s) was tried", kind)
    return found
