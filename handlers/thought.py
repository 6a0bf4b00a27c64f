"""`/thought`: a guided thought record, one step at a time, by text or voice."""

from __future__ import annotations

from typing import Any

from bot.callbacks import Kind
from bot.rules.parsing import parse_rating
from bot.rules.thought import RATINGS, ThoughtStep
from bot.texts import t
from handlers.common import Button, Turn, one_per_row, short_answer
from storage import repo
from storage.models import Conversation, ThoughtRecord

FLOW = "thought"
Step = ThoughtStep
# Each step's question, by its name in bot/texts (looked up in the client's language when
# asked); the trap's is its picklist; RATINGS says which are 0–100 ratings.
QUESTIONS: dict[Step, str] = {
    Step.SITUATION: "ASK_SITUATION",
    Step.THOUGHT: "ASK_THOUGHT",
    Step.BELIEF_BEFORE: "ASK_BELIEF",
    Step.FEELING: "ASK_FEELING",
    Step.INTENSITY_BEFORE: "ASK_INTENSITY",
    Step.BALANCED: "ASK_BALANCED",
    Step.BELIEF_AFTER: "ASK_BELIEF_AFTER",
    Step.INTENSITY_AFTER: "ASK_INTENSITY_AFTER",
}
ORDER = list(Step)
MAX_RECORD_ANSWER = 4000  # a thought record step may be a whole transcribed voice note


async def start(turn: Turn) -> None:
    await turn.say(t.THOUGHT_START)
    conversation = await turn.set_conversation(FLOW, ORDER[0], {})
    await prompt(turn, conversation)


async def prompt(turn: Turn, conversation: Conversation) -> None:
    step = Step(conversation.step)
    if step is Step.TRAP:
        traps = "\n".join(t.TRAP_LINE.format(label=a, why=b) for a, b in t.TRAPS.values())
        answers = [(label, (Kind.ANSWER, step, key)) for key, (label, _) in t.TRAPS.items()]
        await turn.say(t.ASK_TRAP.format(traps=traps), one_per_row(answers))
        return
    rows = _rating_rows(step) if step in RATINGS else None
    await turn.say(getattr(t, QUESTIONS[step]), rows)


async def answer(turn: Turn, conversation: Conversation, value: str, pressed: bool) -> None:
    step, data = Step(conversation.step), dict(conversation.data)
    if step is Step.TRAP:
        if value not in t.TRAPS:
            await prompt(turn, conversation)
            return
        data[step] = value
    elif step in RATINGS:
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
    answers = {step.value: data[step] for step in ORDER}
    turn.session.add(ThoughtRecord(user_id=turn.user_id, **answers))
    await repo.clear_conversation(turn.session, turn.user_id)
    await turn.say(t.THOUGHT_SAVED.format(card=t.thought_card(**answers)))


def _rating_rows(step: Step) -> list[list[Button]]:
    return [[(str(n), (Kind.ANSWER, step, n)) for n in (0, 25, 50, 75, 100)]]
