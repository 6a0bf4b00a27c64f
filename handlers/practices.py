"""`/practices`: see each practice, change any part of it, pause, resume or remove it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.callbacks import Kind
from bot.rules import shaping
from bot.texts import t
from handlers import design, fields
from handlers.common import Button, Turn
from storage import repo
from storage.models import Conversation, Practice, PracticeStatus

FLOW = "change"
# Changes that make a practice harder or new: afterwards its reward may be kept or faded.
STEPPED_UP = ("step_up", "new_setting")


class Step(StrEnum):
    """Where a client is in changing a practice; the part being changed is a fields.Field
    (values stored in conversations and answer buttons)."""

    EDIT_FIELD = "edit_field"  # which part?
    DAYS_PICK = fields.DAYS_PICK
    FADE = "fade"  # after a step up: keep the reward or let it fade?


def card(practice: Practice) -> str:
    text = t.practice_card(
        step=practice.step,
        anchor=practice.anchor,
        days=practice.days,
        cue_time=practice.cue_time,
        if_then=practice.if_then,
        reward=practice.reward,
        space=practice.space,
        noticing=practice.noticing,
    )
    return text + (t.PAUSED_MARK if practice.status == PracticeStatus.PAUSED else "")


def card_rows(practice: Practice) -> list[list[Button]]:
    toggle = (
        (t.RESUME, (Kind.PRACTICE, practice.id, "resume"))
        if practice.status == PracticeStatus.PAUSED
        else (t.PAUSE, (Kind.PRACTICE, practice.id, "pause"))
    )
    return [
        [
            (t.EDIT, (Kind.PRACTICE, practice.id, "edit")),
            toggle,
            (t.REMOVE, (Kind.PRACTICE, practice.id, "remove")),
        ]
    ]


async def list_practices(turn: Turn) -> None:
    practices = await repo.listed_practices(turn.session, turn.user_id)
    if not practices:
        await turn.say(t.NO_PRACTICES)
        return
    await turn.say(t.PRACTICES_HEADER)
    for practice in practices:
        await turn.say(card(practice), card_rows(practice))


async def on_button(turn: Turn, practice_id: str, action: str) -> None:
    """Handle `p:<id>:<action>` from a practice card."""
    practice = await repo.owned_practice(turn.session, turn.user_id, practice_id)
    if practice is None:
        await turn.say(t.PRACTICE_GONE)
        return
    user = await turn.user()
    zone = user.timezone or "UTC"
    if action == "edit":
        await turn.set_conversation(FLOW, Step.EDIT_FIELD, {"practice_id": practice.id})
        await turn.say(t.EDIT_WHICH, design.field_rows())
    elif action == "pause":
        repo.set_status(
            turn.session, practice, PracticeStatus.PAUSED, reason="client", timezone=zone
        )
        await turn.say(t.PAUSED)
    elif action == "resume":
        repo.set_status(
            turn.session, practice, PracticeStatus.ACTIVE, reason="client", timezone=zone
        )
        await turn.say(t.RESUMED.format(when=t.describe_when(practice.days, practice.cue_time)))
    elif action == "remove":
        await turn.say(
            t.REMOVE_CONFIRM,
            [
                [
                    (t.REMOVE_YES, (Kind.PRACTICE, practice.id, "remove_yes")),
                    (t.REMOVE_NO, (Kind.PRACTICE, practice.id, "keep")),
                ]
            ],
        )
    elif action == "remove_yes":
        repo.set_status(
            turn.session, practice, PracticeStatus.REMOVED, reason="client", timezone=zone
        )
        await turn.say(t.REMOVED)
    else:
        await turn.say(t.NOTHING_CHANGED)


async def start_change(
    turn: Turn, practice: Practice, field: str, reason: str, question: str | None = None
) -> None:
    """Ask for a new value of one field of an existing practice (from edits and adjustments)."""
    await turn.set_conversation(FLOW, field, {"practice_id": practice.id, "reason": reason})
    await fields.ask(turn, field, question)


async def prompt(turn: Turn, conversation: Conversation) -> None:
    step = conversation.step
    if step == Step.EDIT_FIELD:
        await turn.say(t.EDIT_WHICH, design.field_rows())
    elif step == Step.FADE:
        await _ask_fade(turn, conversation.data.get("reward", ""))
    elif step == Step.DAYS_PICK:
        await turn.say(t.DAYS_PICK, fields.day_picker(conversation.data.get("picked", [])))
    else:
        await fields.ask(turn, step)


async def answer(turn: Turn, conversation: Conversation, value: str, pressed: bool) -> None:
    data: dict[str, Any] = dict(conversation.data)
    practice = await repo.owned_practice(turn.session, turn.user_id, data.get("practice_id", 0))
    if practice is None:
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(t.PRACTICE_GONE)
        return
    step = conversation.step
    if step == Step.FADE:
        await _on_fade(turn, practice, value, pressed)
        return
    if step == Step.EDIT_FIELD:
        if value in repo.EDITABLE:
            await start_change(turn, practice, value, data.get("reason", "edit"))
        else:
            await turn.say(t.EDIT_WHICH, design.field_rows())
        return
    answered = await fields.read_answer(turn, FLOW, data, step, value, pressed)
    if answered is None:
        return
    step, parsed = answered
    user = await turn.user()
    reason = data.get("reason", "edit")
    repo.change_practice(
        turn.session,
        practice,
        step,
        fields.to_storage(step, parsed),
        reason=reason,
        timezone=user.timezone or "UTC",
    )
    if reason == "to_action":  # noticing turned into a small action (reference 001)
        practice.noticing = False
    elif step == "step":  # new words: a noticing practice, or not, as when it was made
        practice.noticing = shaping.is_noticing(practice.step)
    await repo.clear_conversation(turn.session, turn.user_id)
    await turn.say(f"{t.CHANGED}\n\n{card(practice)}")
    if reason in STEPPED_UP and practice.reward:
        # Rewards that fit and fade (reference 000): the client may keep it or let it go.
        await turn.set_conversation(
            FLOW, Step.FADE, {"practice_id": practice.id, "reward": practice.reward}
        )
        await _ask_fade(turn, practice.reward)


async def _ask_fade(turn: Turn, reward: str) -> None:
    await turn.say(
        t.ASK_FADE.format(reward=reward),
        [
            [
                (t.FADE_KEEP, (Kind.ANSWER, Step.FADE, "keep")),
                (t.FADE_YES, (Kind.ANSWER, Step.FADE, "fade")),
            ]
        ],
    )


async def _on_fade(turn: Turn, practice: Practice, value: str, pressed: bool) -> None:
    if not pressed:
        await _ask_fade(turn, practice.reward or "")
        return
    await repo.clear_conversation(turn.session, turn.user_id)
    if value == "fade":
        user = await turn.user()
        repo.change_practice(
            turn.session, practice, "reward", None, reason="fade", timezone=user.timezone or "UTC"
        )
        await turn.say(t.FADED)
    else:
        await turn.say(t.REWARD_KEPT)
