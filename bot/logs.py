"""Logging that never holds the token, message text or transcripts, whatever the level.

Libraries log what clients wrote at DEBUG (python-telegram-bot logs every API call's
parameters, aiosqlite every statement's) and httpx logs request URLs, which contain the
token. So library records below INFO (httpx below WARNING) are dropped at the handler,
our own code logs ids and error types only, and the token is blanked from every line,
tracebacks included, as a last guard.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback

OUR_PACKAGES = ("bot", "handlers", "scheduler", "storage", "transcription", "__main__")
URL_LOGGERS = ("httpx", "httpcore")
# A bot token: the bot's numeric id, a colon, then 35 url-safe characters.
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


def _is_ours(name: str) -> bool:
    return name.split(".")[0] in OUR_PACKAGES


class LibraryDetailFilter(logging.Filter):
    """Drop library DEBUG records (they quote message text) and httpx INFO (it quotes URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_ours(record.name):
            return True
        floor = logging.WARNING if record.name.split(".")[0] in URL_LOGGERS else logging.INFO
        return record.levelno >= floor


class TokenRedactingFormatter(logging.Formatter):
    """Blank the bot token from the whole formatted record."""

    def __init__(self, fmt: str, token: str | None = None) -> None:
        super().__init__(fmt)
        self._token = token

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if self._token:
            line = line.replace(self._token, "[token]")
        return TOKEN_PATTERN.sub("[token]", line)


def configure_logging(level: str = "INFO", token: str | None = None) -> None:
    """Log to stderr at `level` (LOG_LEVEL), keeping client words and the token out."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(LibraryDetailFilter())
    handler.setFormatter(
        TokenRedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", token)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def describe(error: BaseException) -> str:
    """Name an error and where it happened, without its message (which may quote a client)."""
    frames = reversed(traceback.extract_tb(error.__traceback__)[-8:])
    where = " <- ".join(
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}" for frame in frames
    )
    return f"{type(error).__name__} at {where}" if where else type(error).__name__
