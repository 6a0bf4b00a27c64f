"""`/thought`: a guided thought record, one step at a time, by text or voice."""

from __future__ import annotations

from typing import Any

from bot.rules.parsing import parse_rating
from bot.texts import en as t
from handlers.common import Button, Turn, one_per_row, short_answer
from storage import repo
from storage.models import Conversation, ThoughtRecord

FLOW = "thought"
# Each step, and whether it is answered with words or a 0–100 rating.
STEPS: dict[str, tuple[str, bool]] = {
    "situation": (t.ASK_SITUATION, False),
    "thought": (t.ASK_THOUGHT, False),
    "belief_before": (t.ASK_BELIEF, True),
    "feeling": (t.ASK_FEELING, False),
    "intensity_before": (t.ASK_INTENSITY, True),
    "trap": ("", False),
    "balanced": (t.ASK_BALANCED, False),
    "belief_after": (t.ASK_BELIEF_AFTER, True),
    "intensity_after": (t.ASK_INTENSITY_AFTER, True),
}
ORDER = list(STEPS)
MAX_RECORD_ANSWER = 4000  # a thought record step may be a whole transcribed voice note


async def start(turn: Turn) -> None:
    await turn.say(t.THOUGHT_START)
    conversation = await turn.set_conversation(FLOW, ORDER[0], {})
    await prompt(turn, conversation)


async def prompt(turn: Turn, conversation: Conversation) -> None:
    step = conversation.step
    if step == "trap":
        traps = "\n".join(t.TRAP_LINE.format(label=a, why=b) for a, b in t.TRAPS.values())
        rows = one_per_row([(label, ("a", "trap", key)) for key, (label, _) in t.TRAPS.items()])
        await turn.say(t.ASK_TRAP.format(traps=traps), rows)
        return
    question, is_rating = STEPS[step]
    await turn.say(question, _rating_rows(step) if is_rating else None)


async def answer(turn: Turn, conversation: Conversation, value: str, pressed: bool) -> None:
    step, data = conversation.step, dict(conversation.data)
    if step == "trap":
        if value not in t.TRAPS:
            await prompt(turn, conversation)
            return
        data[step] = value
    elif STEPS[step][1]:
        rating = parse_rating(value, 0, 100)
        if rating is None:
            await turn.say(t.NUMBER_NEEDED.format(low=0, high=100), _rating_rows(step))
            return
        data[step] = rating
    else:
        words, problem = short_answer(value, MAX_RECORD_ANSWER)
        if words is None:
            await turn.say(problem or t.EMPTY_ANSWER)
            return
        data[step] = words
    following = ORDER.index(step) + 1
    if following < len(ORDER):
        conversation = await turn.set_conversation(FLOW, ORDER[following], data)
        await prompt(turn, conversation)
        return
    await _save(turn, data)


async def _save(turn: Turn, data: dict[str, Any]) -> None:
    await turn.user()
    answers = {step: data[step] for step in ORDER}
    turn.session.add(ThoughtRecord(user_id=turn.user_id, **answers))
    await repo.clear_conversation(turn.session, turn.user_id)
    await turn.say(t.THOUGHT_SAVED.format(card=t.thought_card(**answers)))


def _rating_rows(step: str) -> list[list[Button]]:
    return [[(str(n), ("a", step, n)) for n in (0, 25, 50, 75, 100)]]
