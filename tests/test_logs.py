"""Logs never hold the token, what clients write or what they said, even at DEBUG."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.config import Settings
from bot.logs import TOKEN_PATTERN, LibraryDetailFilter, TokenRedactingFormatter, describe
from sandbox.botapi import BotApiStandIn
from tests.support.processes import BotProcess
from tests.support.voice import AUDIO

# Shaped like a real token (bot id, colon, 35 characters), so the pattern guard is tested too.
TOKEN = "7412345678:AAHq3xT0-secret_part_Zk9vW2mN4pQ8rS1t"
CANARY = "tangerine-heron-canary-5512"
SAM = 918273645  # distinctive, so the log can be searched for it


async def converse(fake: BotApiStandIn, steps: list[tuple[str, str]]) -> None:
    """Type or press each step, waiting for the bot's answer before the next."""
    for kind, value in steps:
        before = len(fake.sent(SAM))
        if kind == "text":
            fake.send_text(SAM, value)
        else:
            fake.press_button(SAM, value)
        await fake.wait_for(SAM, before + 1, timeout=60)
        await asyncio.sleep(0.2)  # let any further replies to this step arrive


async def test_debug_logs_of_a_whole_conversation_hold_no_token_and_no_words(
    tmp_path: Path,
) -> None:
    with BotApiStandIn(token=TOKEN) as fake:
        settings = Settings(
            telegram_bot_token=fake.token,
            telegram_api_url=fake.api_url,
            telegram_file_url=fake.file_url,
            BETWEEN_DATA_DIR=tmp_path / "data",
            _env_file=None,
        )
        log = tmp_path / "bot.log"
        process = BotProcess(settings, log)
        process.env["LOG_LEVEL"] = "debug"
        process.start()
        try:
            await converse(
                fake,
                [
                    ("text", "/start"),
                    ("press", "Yes, that's okay"),
                    ("text", "London"),
                    ("press", "Yes, that's right"),
                    ("text", "/new"),
                    ("text", f"goal {CANARY}"),
                    ("text", f"step {CANARY}"),
                    ("text", "/cancel"),
                    ("text", f"just saying {CANARY}"),
                ],
            )
            before = len(fake.sent(SAM))
            fake.send_voice(SAM, (AUDIO / "sister.ogg").read_bytes(), duration=6)
            await fake.wait_for(SAM, before + 2, timeout=90)
            assert "sister" in fake.texts(SAM)[-1].lower()  # it was heard, and sent back
        finally:
            process.stop()

    written = log.read_text()
    assert "Between is running" in written  # the log was really written, at DEBUG
    assert TOKEN not in written
    assert TOKEN.split(":")[1] not in written
    assert TOKEN_PATTERN.search(written) is None
    assert CANARY not in written
    assert str(SAM) not in written  # no Telegram user id either
    assert "sister called" not in written.lower()


def test_a_token_in_a_library_line_or_traceback_is_blanked() -> None:
    formatter = TokenRedactingFormatter("%(name)s: %(message)s", TOKEN)
    try:
        raise ConnectionError(f"POST https://api.telegram.org/bot{TOKEN}/getMe failed")
    except ConnectionError as error:
        record = logging.LogRecord(
            "httpx", logging.WARNING, __file__, 1, "request %s", (error.args[0],), None
        )
        record.exc_info = (type(error), error, error.__traceback__)

    line = formatter.format(record)

    assert "getMe failed" in line
    assert TOKEN not in line and "[token]" in line


def test_library_debug_is_dropped_and_our_own_kept() -> None:
    keep = LibraryDetailFilter()

    def record(name: str, level: int) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, "m", None, None)

    assert not keep.filter(record("telegram.Bot", logging.DEBUG))
    assert not keep.filter(record("aiosqlite", logging.DEBUG))
    assert not keep.filter(record("httpx", logging.INFO))
    assert keep.filter(record("telegram.ext.Application", logging.WARNING))
    assert keep.filter(record("handlers.router", logging.DEBUG))


def test_describe_names_the_error_and_place_but_not_its_message() -> None:
    try:
        int(f"not a number {CANARY}")
    except ValueError as error:
        described = describe(error)

    assert described.startswith("ValueError at test_logs.py:")
    assert CANARY not in described
