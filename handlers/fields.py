"""The questions for each part of a practice, shared by designing and changing one."""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from typing import Any

from bot.rules.parsing import (
    EVERY_DAY,
    WEEKDAYS,
    WEEKDAYS_ONLY,
    normalise_days,
    parse_days,
    parse_time,
)
from bot.texts import t
from handlers.common import Button, Turn, short_answer


class Field(StrEnum):
    """The parts of a practice a client writes or picks; each is also the step that asks for
    it, in designing and in changing a practice (values stored in conversations and buttons)."""

    GOAL = "goal"
    STEP = "step"
    ANCHOR = "anchor"
    DAYS = "days"
    TIME = "time"
    IF_THEN = "if_then"
    REWARD = "reward"
    SPACE = "space"  # what is put in plain view where it happens


DAYS_PICK = "days_pick"  # the step of the day picker, in both flows
OPTIONAL = {Field.IF_THEN, Field.REWARD, Field.SPACE}
CHOOSE_DAYS = "choose"


def question(field: str) -> tuple[str, list[list[Button]]]:
    """Return the question that asks for a field, with its buttons (`a:<field>:<value>`)."""
    if field == Field.ANCHOR:
        rows: list[list[Button]] = [
            [(label, ("a", Field.ANCHOR, i))] for i, label in enumerate(t.ANCHOR_SUGGESTIONS)
        ]
        return t.ASK_ANCHOR, rows
    if field == Field.DAYS:
        return t.ASK_DAYS, [
            [
                (t.DAYS_EVERY, ("a", Field.DAYS, "every")),
                (t.DAYS_WEEKDAYS, ("a", Field.DAYS, "weekdays")),
            ],
            [(t.DAYS_CHOOSE, ("a", Field.DAYS, CHOOSE_DAYS))],
        ]
    if field in OPTIONAL:
        asks = {Field.IF_THEN: t.ASK_IF_THEN, Field.REWARD: t.ASK_REWARD, Field.SPACE: t.ASK_SPACE}
        return asks[Field(field)], [[(t.SKIP, ("a", field, "skip"))]]
    return {Field.GOAL: t.ASK_GOAL, Field.STEP: t.ASK_STEP, Field.TIME: t.ASK_TIME}[
        Field(field)
    ], []


async def ask(turn: Turn, field: str, wording: str | None = None) -> None:
    """Ask for a field, in other words when the situation calls for it (e.g. a step up)."""
    text, rows = question(field)
    await turn.say(wording or text, rows)


def from_text(field: str, text: str) -> tuple[Any, str | None]:
    """Read a typed answer for a field: (value, None), or (None, what to say instead)."""
    answer, problem = short_answer(text)
    if answer is None:
        return None, problem
    if field == Field.DAYS:
        days = parse_days(answer)
        return (days, None) if days else (None, t.DAYS_UNKNOWN)
    if field == Field.TIME:
        cue_time = parse_time(answer)
        return (cue_time, None) if cue_time else (None, t.TIME_UNKNOWN)
    return answer, None


def from_button(field: str, value: str) -> Any:
    """Read a pressed button for a field; CHOOSE_DAYS means "show the day picker"."""
    if field == Field.ANCHOR:
        index = int(value) if value.isdigit() else -1
        if not 0 <= index < len(t.ANCHOR_SUGGESTIONS):
            return None
        label: str = t.ANCHOR_SUGGESTIONS[index]
        # Only the first letter: the card reads "after I wake up", never "after i wake up".
        return label[:1].lower() + label[1:]
    if field == Field.DAYS:
        return {"every": EVERY_DAY, "weekdays": WEEKDAYS_ONLY, CHOOSE_DAYS: CHOOSE_DAYS}.get(value)
    if field in OPTIONAL and value == "skip":
        return ""
    return None


def day_picker(picked: list[str]) -> list[list[Button]]:
    """Toggle buttons for each weekday, then Done."""
    days: list[Button] = [
        (("✓ " if day in picked else "") + t.DAY_NAMES[day], ("a", DAYS_PICK, day))
        for day in WEEKDAYS
    ]
    return [days[:4], days[4:], [(t.DAYS_DONE, ("a", DAYS_PICK, "done"))]]


def to_storage(field: str, value: Any) -> Any:
    """Drafts keep times as "HH:MM" strings (JSON); columns want `time` and None for skipped."""
    if field == Field.TIME:
        return time.fromisoformat(value) if isinstance(value, str) else value
    if field in OPTIONAL:
        return value or None
    return value


def to_draft(field: str, value: Any) -> Any:
    return value.strftime("%H:%M") if isinstance(value, time) else value


async def toggle_day(turn: Turn, flow: str, data: dict[str, Any], value: str) -> str | None:
    """Toggle a pressed day in the picker in place; return the chosen days once settled."""
    picked: list[str] = list(data.get("picked", []))
    if value == "done":
        if picked:
            return normalise_days(picked)
        await turn.say(t.DAYS_NONE_PICKED, day_picker(picked))
        return None
    if value not in t.DAY_NAMES:
        await turn.say(t.DAYS_PICK, day_picker(picked))
        return None
    data["picked"] = [d for d in picked if d != value] if value in picked else [*picked, value]
    await turn.set_conversation(flow, DAYS_PICK, data)
    query = turn.update.callback_query
    if query and query.message:
        turn.edit_buttons(query.message.message_id, turn.keyboard(day_picker(data["picked"])))
    return None


async def read_answer(
    turn: Turn, flow: str, data: dict[str, Any], step: str, value: str, pressed: bool
) -> tuple[str, Any] | None:
    """Read the answer to a field's question as (field, value).

    None means there is nothing to apply yet: the client was told what is needed, or the day
    picker was opened or toggled.
    """
    if step == DAYS_PICK and pressed:
        days = await toggle_day(turn, flow, data, value)
        return None if days is None else (Field.DAYS, days)
    if not pressed:  # typed days while the picker is open are read as days too
        field = Field.DAYS if step == DAYS_PICK else step
        parsed, problem = from_text(field, value)
        if problem:
            await turn.say(problem)
            return None
        return field, parsed
    parsed = from_button(step, value)
    if parsed == CHOOSE_DAYS:
        data["picked"] = []
        await turn.set_conversation(flow, DAYS_PICK, data)
        await turn.say(t.DAYS_PICK, day_picker([]))
        return None
    return None if parsed is None else (step, parsed)
