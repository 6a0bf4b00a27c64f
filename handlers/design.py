"""`/new`: co-design a practice one question at a time; the client chooses every part."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.callbacks import Kind
from bot.rules.coaching import is_confident_enough
from bot.rules.parsing import parse_rating
from bot.rules.shaping import is_noticing
from bot.texts import t
from handlers import fields
from handlers.common import Turn, local_today, short_answer
from storage import repo
from storage.models import Conversation, Outcome, Practice, PracticeStatus

FLOW = "design"


class Step(StrEnum):
    """Where a client is in /new (values stored in conversations and answer buttons)."""

    GOAL = fields.Field.GOAL.value
    STEP = fields.Field.STEP.value
    CONFIDENCE = "confidence"
    SMALLER = "smaller"  # below 7: an even smaller version?
    ANCHOR = fields.Field.ANCHOR.value
    DAYS = fields.Field.DAYS.value
    DAYS_PICK = fields.DAYS_PICK
    TIME = fields.Field.TIME.value
    IF_THEN = fields.Field.IF_THEN.value
    REWARD = fields.Field.REWARD.value
    SPACE = fields.Field.SPACE.value  # only when changing the card (no question of its own)
    CONFIRM = "confirm"
    EDIT_FIELD = "edit_field"
    REHEARSE = "rehearse"  # saved: try the tiniest version right now?
    REHEARSING = "rehearsing"  # trying it now: tell me when you have


ORDER = (
    Step.GOAL,
    Step.STEP,
    Step.CONFIDENCE,
    Step.ANCHOR,
    Step.DAYS,
    Step.TIME,
    Step.IF_THEN,
    Step.REWARD,
    Step.CONFIRM,
)
EDITABLE = tuple(repo.EDITABLE)


async def start(turn: Turn, goal: str | None = None) -> None:
    """Begin a design; a clinician's suggestion arrives with the goal already named."""
    if not await has_room(turn):
        return
    if goal:
        await _go(turn, {"goal": goal}, Step.STEP)
        return
    await turn.set_conversation(FLOW, Step.GOAL, {})
    await fields.ask(turn, Step.GOAL)


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
    if step == Step.CONFIDENCE:
        await turn.say(t.ASK_CONFIDENCE, _rating_rows())
    elif step == Step.SMALLER:
        await turn.say(t.CONFIDENCE_LOW, [[(t.KEEP_AS_IS, ("a", Step.SMALLER, "keep"))]])
    elif step == Step.DAYS_PICK:
        await turn.say(t.DAYS_PICK, fields.day_picker(data.get("picked", [])))
    elif step == Step.CONFIRM:
        await _show_card(turn, data)
    elif step == Step.EDIT_FIELD:
        await _ask_which_field(turn)
    elif step == Step.REHEARSE:
        await turn.say(t.REHEARSE_OFFER, _rehearse_rows())
    elif step == Step.REHEARSING:
        await turn.say(t.REHEARSE_GO.format(step=data.get("step", "")), _tried_rows())
    else:
        await fields.ask(turn, step)


async def answer(turn: Turn, conversation: Conversation, value: str, pressed: bool) -> None:
    """Take the answer to the current step, typed or pressed, and move on."""
    step, data = conversation.step, dict(conversation.data)
    if step == Step.CONFIDENCE:
        await _on_confidence(turn, data, value)
    elif step == Step.SMALLER:
        await _on_smaller(turn, data, value, pressed)
    elif step == Step.CONFIRM:
        await _on_confirm(turn, data, value)
    elif step in (Step.REHEARSE, Step.REHEARSING):
        await _on_rehearse(turn, Step(step), data, value, pressed)
    elif step == Step.EDIT_FIELD:
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
        return Step.CONFIRM
    return ORDER[ORDER.index(Step(step)) + 1]


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
        await _go(turn, data, Step.CONFIRM if data.get("editing") else Step.ANCHOR)
    else:
        await _go(turn, data, Step.SMALLER)


async def _on_smaller(turn: Turn, data: dict[str, Any], value: str, pressed: bool) -> None:
    if pressed:
        if value == "keep":
            data["kept_size"] = True
            await _go(turn, data, Step.CONFIRM if data.get("editing") else Step.ANCHOR)
        return
    smaller, problem = short_answer(value)
    if smaller is None:
        await turn.say(problem or t.EMPTY_ANSWER)
        return
    data["step"] = smaller
    await _go(turn, data, Step.CONFIDENCE)


async def _on_confirm(turn: Turn, data: dict[str, Any], value: str) -> None:
    if value == "edit":
        await _go(turn, data, Step.EDIT_FIELD)
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
        space=fields.to_storage("space", data.get("space")),
        noticing=is_noticing(data["step"]),
        status=PracticeStatus.ACTIVE,
    )
    repo.schedule(practice, user.timezone or "UTC")
    turn.session.add(practice)
    await turn.session.flush()
    await turn.say(t.PRACTICE_SAVED.format(when=t.describe_when(practice.days, practice.cue_time)))
    if practice.noticing:  # nothing to rehearse: noticing comes when it comes
        await repo.clear_conversation(turn.session, turn.user_id)
        return
    # Rehearse the first step (reference 000): the tiniest version, right now, just once.
    await turn.set_conversation(
        FLOW, Step.REHEARSE, {"practice_id": practice.id, "step": practice.step}
    )
    await turn.say(t.REHEARSE_OFFER, _rehearse_rows())


async def _on_rehearse(
    turn: Turn, step: Step, data: dict[str, Any], value: str, pressed: bool
) -> None:
    """A yes, then "I tried it", is the practice's first try, recorded as a rehearsal."""
    if step == Step.REHEARSE and pressed and value == "yes":
        await turn.set_conversation(FLOW, Step.REHEARSING, data)
        await turn.say(t.REHEARSE_GO.format(step=data["step"]), _tried_rows())
        return
    if step == Step.REHEARSING and pressed and value == "tried":
        practice = await repo.owned_practice(turn.session, turn.user_id, data["practice_id"])
        await repo.clear_conversation(turn.session, turn.user_id)
        if practice is None:
            await turn.say(t.PRACTICE_GONE)
            return
        user = await turn.user()
        report = await repo.add_report(turn.session, practice, Outcome.DID, local_today(user))
        report.rehearsal = True
        await turn.say(t.REHEARSE_DONE)
        return
    if pressed:  # "not now", at either step
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(t.REHEARSE_LATER)
        return
    if step == Step.REHEARSE:
        await turn.say(t.REHEARSE_OFFER, _rehearse_rows())
    else:
        await turn.say(t.REHEARSE_GO.format(step=data["step"]), _tried_rows())


async def _show_card(turn: Turn, data: dict[str, Any]) -> None:
    card = t.practice_card(
        step=data["step"],
        anchor=data["anchor"],
        days=data["days"],
        cue_time=fields.to_storage("time", data["time"]),
        if_then=data.get("if_then") or None,
        reward=data.get("reward") or None,
        space=data.get("space") or None,
        noticing=is_noticing(data["step"]),
    )
    await turn.say(
        f"{t.CONFIRM_INTRO}\n\n{card}",
        [
            [
                (t.CONFIRM_SAVE, (Kind.ANSWER, Step.CONFIRM, "save")),
                (t.CONFIRM_EDIT, (Kind.ANSWER, Step.CONFIRM, "edit")),
            ]
        ],
    )


async def _ask_which_field(turn: Turn) -> None:
    await turn.say(t.EDIT_WHICH, field_rows())


def field_rows() -> list[list[fields.Button]]:
    buttons: list[fields.Button] = [
        (t.FIELD_LABELS[name], (Kind.ANSWER, Step.EDIT_FIELD, name)) for name in EDITABLE
    ]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def _rating_rows() -> list[list[fields.Button]]:
    buttons: list[fields.Button] = [(str(n), (Kind.ANSWER, Step.CONFIDENCE, n)) for n in range(11)]
    return [buttons[:6], buttons[6:]]


def _rehearse_rows() -> list[list[fields.Button]]:
    return [
        [
            (t.REHEARSE_YES, (Kind.ANSWER, Step.REHEARSE, "yes")),
            (t.REHEARSE_NO, (Kind.ANSWER, Step.REHEARSE, "no")),
        ]
    ]


def _tried_rows() -> list[list[fields.Button]]:
    return [
        [
            (t.REHEARSE_TRIED, (Kind.ANSWER, Step.REHEARSING, "tried")),
            (t.REHEARSE_NO, (Kind.ANSWER, Step.REHEARSING, "later")),
        ]
    ]
