"""`/mydata` files: the export as JSON, and thought records as text to read (pure)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.rules.thought import ThoughtStep
from bot.texts import t

THOUGHT_FIELDS = tuple(step.value for step in ThoughtStep)  # the flow's steps, in its order


def to_json(export: dict[str, Any]) -> bytes:
    """The export as UTF-8 JSON, indented so it can be read in any text editor."""
    return json.dumps(export, ensure_ascii=False, indent=2, default=str).encode()


def json_filename(day: date) -> str:
    return f"between-mydata-{day.isoformat()}.json"


def thoughts_filename(day: date) -> str:
    return f"between-thought-records-{day.isoformat()}.txt"


def thought_records_text(records: list[dict[str, Any]], timezone: str | None) -> str:
    """Each thought record as its card under the local date and time it was written."""
    zone = ZoneInfo(timezone or "UTC")
    lines = [t.MYDATA_THOUGHTS_TITLE.format(count=len(records))]
    for number, record in enumerate(records, 1):
        written = datetime.fromisoformat(record["created_at"]).astimezone(zone)
        when = f"{written:%A %-d %B %Y, %H:%M}" + ("" if timezone else " UTC")
        lines += ["", t.MYDATA_THOUGHT_HEADER.format(number=number, when=when)]
        lines.append(t.thought_card(**{name: record[name] for name in THOUGHT_FIELDS}))
    return "\n".join(lines) + "\n"
