"""`/start` and `/timezone`: a warm welcome, consent on record, and the client's local time."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.callbacks import Button, Kind
from bot.rules.parsing import resolve_timezone
from bot.texts import t
from handlers.common import Turn, short_answer
from handlers.safety import crisis_text
from scheduler.cues import local_now
from storage import repo
from storage import week as week_db
from storage.models import Conversation, PracticeStatus, utcnow

FLOW = "onboarding"


class Step(StrEnum):
    """Where a newcomer is (the values are stored in conversations and answer buttons)."""

    CONSENT = "consent"
    TIMEZONE = "timezone"
    TIMEZONE_CONFIRM = "timezone_confirm"


async def start(turn: Turn) -> None:
    user = await turn.user()
    if user.consent_version:
        await turn.say(t.WELCOME_BACK.format(name=user.first_name or t.NO_NAME))
        return
    await turn.say(t.WELCOME.format(name=user.first_name or t.NO_NAME))
    await turn.say(t.WHAT_I_DO)
    await turn.say(t.NOT_A_CRISIS_SERVICE.format(crisis=crisis_text(turn)))
    await turn.set_conversation(FLOW, Step.CONSENT, {})
    await turn.say(t.PRIVACY, _consent_rows())


async def change_timezone(turn: Turn, given: str = "") -> None:
    """Ask for the timezone, or take it from `/timezone Lisbon` straight away."""
    conversation = await turn.set_conversation(FLOW, Step.TIMEZONE, {})
    if given.strip():
        await answer(turn, conversation, given, False)
    else:
        await turn.say(t.ASK_TIMEZONE)


async def prompt(turn: Turn, conversation: Conversation) -> None:
    if conversation.step == Step.CONSENT:
        await turn.say(t.PRIVACY, _consent_rows())
    elif conversation.step == Step.TIMEZONE_CONFIRM:
        await _confirm_zone(turn, conversation.data["zone"])
    else:
        await turn.say(t.ASK_TIMEZONE)


async def answer(turn: Turn, conversation: Conversation, value: str, pressed: bool) -> None:
    step, data = conversation.step, dict(conversation.data)
    if step == Step.CONSENT:
        await _on_consent(turn, value if pressed else "")
    elif step == Step.TIMEZONE:
        await _on_zone(turn, data, value)
    elif step == Step.TIMEZONE_CONFIRM:
        if pressed and value == "yes":
            await _save_zone(turn, data["zone"])
        elif pressed:
            await turn.set_conversation(FLOW, Step.TIMEZONE, data)
            await turn.say(t.ASK_TIMEZONE)
        else:
            await _on_zone(turn, data, value)


async def _on_consent(turn: Turn, value: str) -> None:
    if value == "yes":
        user = await turn.user()
        user.consent_version, user.consent_at = t.CONSENT_VERSION, utcnow()
        await turn.set_conversation(FLOW, Step.TIMEZONE, {})
        await turn.say(t.ASK_TIMEZONE)
    elif value == "no":
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(t.CONSENT_DECLINED)
    else:
        await turn.say(t.PRIVACY, _consent_rows())


async def _on_zone(turn: Turn, data: dict[str, Any], value: str) -> None:
    text, problem = short_answer(value)
    zone = resolve_timezone(text) if text else None
    if zone is None:
        await turn.say(problem or t.TIMEZONE_UNKNOWN)
        return
    data["zone"] = zone
    await turn.set_conversation(FLOW, Step.TIMEZONE_CONFIRM, data)
    await _confirm_zone(turn, zone)


async def _confirm_zone(turn: Turn, zone: str) -> None:
    local_time = t.clock(local_now(zone, utcnow()))
    await turn.say(
        t.TIMEZONE_CONFIRM.format(zone=zone, local_time=local_time),
        [
            [
                (t.TIMEZONE_RIGHT, (Kind.ANSWER, Step.TIMEZONE_CONFIRM, "yes")),
                (t.TIMEZONE_WRONG, (Kind.ANSWER, Step.TIMEZONE_CONFIRM, "no")),
            ]
        ],
    )


async def _save_zone(turn: Turn, zone: str) -> None:
    """Store the zone and move every active cue to it at once."""
    user = await turn.user()
    first_time = user.timezone is None
    user.timezone = zone
    for practice in await repo.listed_practices(turn.session, turn.user_id):
        if practice.status == PracticeStatus.ACTIVE:
            repo.schedule(practice, zone)
    week_db.reschedule(user)  # the look back and the session follow the zone too
    await repo.clear_conversation(turn.session, turn.user_id)
    await turn.say(t.TIMEZONE_SAVED.format(zone=zone))
    if first_time:
        await turn.say(t.READY_FOR_FIRST)


def _consent_rows() -> list[list[Button]]:
    answers = [(t.CONSENT_YES, "yes"), (t.CONSENT_NO, "no")]
    return [[(label, (Kind.ANSWER, Step.CONSENT, value)) for label, value in answers]]
