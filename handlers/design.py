"""`/new`: co-design a practice one question at a time; the client chooses every part."""

from __future__ import annotations

from typing import Any

from bot.rules.coaching import is_confident_enough
from bot.rules.parsing import parse_rating
from bot.texts import t
from handlers import fields
from handlers.common import Turn, short_answer
from storage import repo
from storage.models import Conversation, Practice, PracticeStatus

FLOW = "design"
ORDER = ("goal", "step", "confidence", "anchor", "days", "time", "if_then", "reward", "confirm")
EDITABLE = tuple(repo.EDITABLE)


async def start(turn: Turn, goal: str | None = None) -> None:
    """Begin a design; a clinician's suggestion arrives with the goal already named."""
    if not await has_room(turn):
        return
    if goal:
        await _go(turn, {"goal": goal}, "step")
        return
    await turn.set_conversation(FLOW, "goal", {})
    await fields.ask(turn, "goal")


async def has_room(turn: Turn) -> bool:
    """Whether the client may add a practice; if not, say so kindly. The cap keeps each
    client's nudges few enough to matter, and one client from crowding out the rest."""
    count = len(await repo.listed_practices(turn.session, turn.user_id))
    if count < turn.context.services.settings.max_practices:
        return True
    await turn.say(t.PRACTICE_LIMIT.format(count=count))
    return False


async def prompt(turn: Turn, conversation: Conversation) -> None:
    """Ask the question for the step the client is on (also after a restart or stale button)."""
    step, data = conversation.step, conversation.data
    if step == "confidence":
        await turn.say(t.ASK_CONFIDENCE, _rating_rows())
    elif step == "smaller":
        await turn.say(t.CONFIDENCE_LOW, [[(t.KEEP_AS_IS, ("a", "smaller", "keep"))]])
    elif step == "days_pick":
        await turn.say(t.DAYS_PICK, fields.day_picker(data.get("picked", [])))
    elif step == "confirm":
        await _show_card(turn, data)
    elif step == "edit_field":
        await _ask_which_field(turn)
    else:
        await fields.ask(turn, step)


async def answer(turn: Turn, conversation: Conversation, value: str, pressed: bool) -> None:
    """Take the answer to the current step, typed or pressed, and move on."""
    step, data = conversation.step, dict(conversation.data)
    if step == "confidence":
        await _on_confidence(turn, data, value)
    elif step == "smaller":
        await _on_smaller(turn, data, value, pressed)
    elif step == "confirm":
        await _on_confirm(turn, data, value)
    elif step == "edit_field":
        if value in EDITABLE:
            data["editing"] = True
            await _go(turn, data, value)
        else:
            await _ask_which_field(turn)
    else:
        await _on_field(turn, data, step, value, pressed)


async def _go(turn: Turn, data: dict[str, Any], step: str) -> None:
    conversation = await turn.set_conversation(FLOW, step, data)
    await prompt(turn, conversation)


def _next_step(data: dict[str, Any], step: str) -> str:
    if data.get("editing"):
        return "confirm"
    return ORDER[ORDER.index(step) + 1]


async def _on_field(
    turn: Turn, data: dict[str, Any], step: str, value: str, pressed: bool
) -> None:
    answered = await fields.read_answer(turn, FLOW, data, step, value, pressed)
    if answered is not None:
        field, parsed = answered
        data.pop("picked", None)
        data[field] = fields.to_draft(field, parsed)
        await _go(turn, data, _next_step(data, field))


async def _on_confidence(turn: Turn, data: dict[str, Any], value: str) -> None:
    rating = parse_rating(value, 0, 10)
    if rating is None:
        await turn.say(t.NUMBER_NEEDED.format(low=0, high=10), _rating_rows())
        return
    data["confidence"] = rating
    if is_confident_enough(rating) or data.get("kept_size"):
        await _go(turn, data, "confirm" if data.get("editing") else "anchor")
    else:
        await _go(turn, data, "smaller")


async def _on_smaller(turn: Turn, data: dict[str, Any], value: str, pressed: bool) -> None:
    if pressed:
        if value == "keep":
            data["kept_size"] = True
            await _go(turn, data, "confirm" if data.get("editing") else "anchor")
        return
    smaller, problem = short_answer(value)
    if smaller is None:
        await turn.say(problem or t.EMPTY_ANSWER)
        return
    data["step"] = smaller
    await _go(turn, data, "confidence")


async def _on_confirm(turn: Turn, data: dict[str, Any], value: str) -> None:
    if value == "edit":
        await _go(turn, data, "edit_field")
        return
    if value != "save":
        await _show_card(turn, data)
        return
    if not await has_room(turn):  # e.g. a draft begun before the limit was lowered
        return
    user = await turn.user()
    practice = Practice(
        user_id=turn.user_id,
        goal=data["goal"],
        step=data["step"],
        confidence=data.get("confidence"),
        anchor=data["anchor"],
        days=data["days"],
        cue_time=fields.to_storage("time", data["time"]),
        if_then=fields.to_storage("if_then", data.get("if_then")),
        reward=fields.to_storage("reward", data.get("reward")),
        status=PracticeStatus.ACTIVE,
    )
    repo.schedule(practice, user.timezone or "UTC")
    turn.session.add(practice)
    await repo.clear_conversation(turn.session, turn.user_id)
    await turn.say(t.PRACTICE_SAVED.format(when=t.describe_when(practice.days, practice.cue_time)))


async def _show_card(turn: Turn, data: dict[str, Any]) -> None:
    card = t.practice_card(
        step=data["step"],
        anchor=data["anchor"],
        days=data["days"],
        cue_time=fields.to_storage("time", data["time"]),
        if_then=data.get("if_then") or None,
        reward=data.get("reward") or None,
    )
    await turn.say(
        f"{t.CONFIRM_INTRO}\n\n{card}",
        [[(t.CONFIRM_SAVE, ("a", "confirm", "save")), (t.CONFIRM_EDIT, ("a", "confirm", "edit"))]],
    )


async def _ask_which_field(turn: Turn) -> None:
    await turn.say(t.EDIT_WHICH, field_rows())


def field_rows() -> list[list[fields.Button]]:
    buttons: list[fields.Button] = [
        (t.FIELD_LABELS[name], ("a", "edit_field", name)) for name in EDITABLE
    ]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def _rating_rows() -> list[list[fields.Button]]:
    buttons: list[fields.Button] = [(str(n), ("a", "confidence", n)) for n in range(11)]
    return [buttons[:6], buttons[6:]]
