"""Which errors pass by themselves (Telegram or the database briefly away), and how long to wait.

A passing fault is retried and nothing is dropped; anything else is a bug and is not retried,
so one broken update cannot loop forever.
"""

from __future__ import annotations

import socket
from datetime import timedelta

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram.error import BadRequest, NetworkError, RetryAfter


def _raw_database_outage(error: BaseException) -> bool:
    import asyncpg

    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror):
        return True
    if isinstance(
        error,
        asyncpg.PostgresConnectionError
        | asyncpg.exceptions.OperatorInterventionError  # shutting down, starting up
        | asyncpg.exceptions.InsufficientResourcesError,  # too many connections
    ):
        return True
    return isinstance(error, asyncpg.InterfaceError) and "closed" in str(error)


def is_database_outage(error: BaseException) -> bool:
    """The database could not be reached or dropped the connection (restarting, locked).

    An `InterfaceError` alone says little (asyncpg raises it for a closed connection and for a
    statement with too many parameters alike), so it counts only if its underlying error does.
    """
    if isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error, OperationalError)
    ):
        return True
    if isinstance(error, DisconnectionError | PoolTimeout):
        return True
    # SQLAlchemy passes some driver errors through unwrapped (e.g. refused at connect).
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _raw_database_outage(current):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


def is_telegram_hiccup(error: BaseException) -> bool:
    """Telegram timed out, answered 5xx, or asked us to slow down (not a refusal: BadRequest)."""
    if isinstance(error, RetryAfter):
        return True
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def is_transient(error: BaseException) -> bool:
    """Worth trying again later: the same work will succeed once Telegram or the DB is back."""
    return is_telegram_hiccup(error) or is_database_outage(error)


def retry_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (an int or a timedelta, by PTB's settings)."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def backoff(failures: int, *, cap: float = 30.0, error: BaseException | None = None) -> float:
    """1, 2, 4 … seconds after each failure in a row, at most `cap`; at least what a 429 says."""
    delay = min(2.0 ** max(failures - 1, 0), cap)
    if isinstance(error, RetryAfter):
        delay = max(delay, retry_seconds(error))
    return delay
