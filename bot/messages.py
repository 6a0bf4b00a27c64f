"""Telegram's message limit: lengths in UTF-16 units, and long text split at line breaks."""

from __future__ import annotations


def telegram_length(text: str) -> int:
    """Telegram counts a message's length in UTF-16 code units: most emoji count twice."""
    return len(text.encode("utf-16-le")) // 2


def _fitting(line: str, limit: int) -> int:
    """How many characters from the start of `line` fit in `limit` UTF-16 code units."""
    used = 0
    for index, char in enumerate(line):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(line)


def split_message(text: str, limit: int = 4096) -> list[str]:
    """Split text into Telegram messages of at most `limit` (UTF-16 code units).

    Cuts at line breaks, and inside a line only when that one line is over the limit; pieces
    with nothing but whitespace are left out (Telegram refuses to send them).
    """
    if telegram_length(text) <= limit:
        return [text] if text.strip() else []
    chunks: list[str] = []
    for line in text.split("\n"):
        while telegram_length(line) > limit:
            cut = _fitting(line, limit) or 1  # a limit under 2 cannot hold some characters
            chunks.append(line[:cut])
            line = line[cut:]
        chunks.append(line)
    parts: list[str] = []
    lines: list[str] = []
    used = -1  # the newline before the first line is not sent
    for chunk in chunks:
        size = telegram_length(chunk)
        if lines and used + 1 + size > limit:
            parts.append("\n".join(lines))
            lines, used = [], -1
        lines.append(chunk)
        used += 1 + size
    parts.append("\n".join(lines))
    return [part for part in parts if part.strip()]
