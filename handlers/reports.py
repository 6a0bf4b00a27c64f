"""Reporting: did it / partly / not today, and the kind follow-up that adapts the practice."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.callbacks import Kind, report_rows
from bot.rules import coaching, shaping
from bot.texts import t
from handlers import practices, supporters
from handlers.common import Button, Turn, local_today, one_per_row, short_answer
from storage import repo
from storage.models import Conversation, Obstacle, Outcome, Practice, PracticeStatus, Report

FLOW = "report"
LABEL_CHARS = 40
VERSION_CHARS = 60  # a smaller version's button shows its words


class Step(StrEnum):
    """The follow-up after a report (values stored in conversations and answer buttons)."""

    REFLECTION = "reflection"  # after a try: anything to note?
    OBSTACLE = "obstacle"  # after "not today": what got in the way?
    OTHER = "other"  # "something else": in their words
    ADJUST = "adjust"  # the change they choose
    STEP_UP = "step_up"  # after easy successes: a small step up?
    WORTH = "worth"  # after repeated "didn't feel useful": what would make it worth doing?
    ACT = "act"  # after a few noticings: turn it into a small action?


async def ask_which(turn: Turn) -> None:
    """`/done`: ask about the only practice, or which one first."""
    active = [
        p
        for p in await repo.listed_practices(turn.session, turn.user_id)
        if p.status == PracticeStatus.ACTIVE
    ]
    if not active:
        await turn.say(t.NO_PRACTICES)
    elif len(active) == 1:
        await ask_outcome(turn, active[0])
    else:
        rows = [[(_label(p.step), (Kind.WHICH, p.id))] for p in active]
        await turn.say(t.WHICH_PRACTICE, rows)


async def on_which(turn: Turn, practice_id: str) -> None:
    practice = await repo.owned_practice(turn.session, turn.user_id, practice_id)
    if practice is None:
        await turn.say(t.PRACTICE_GONE)
        return
    await ask_outcome(turn, practice)


async def ask_outcome(turn: Turn, practice: Practice) -> None:
    question = t.NOTICE_QUESTION if practice.noticing else t.HOW_DID_IT_GO
    await turn.say(
        question.format(step=practice.step), report_rows(practice.id, practice.noticing)
    )


async def on_outcome(turn: Turn, practice_id: str, outcome_value: str) -> None:
    """Record a report from `r:<practice>:<outcome>` (under a nudge, or after /done)."""
    practice = await repo.owned_practice(turn.session, turn.user_id, practice_id)
    try:
        outcome = Outcome(outcome_value)
    except ValueError:
        outcome = None
    if practice is None or outcome is None:
        await turn.say(t.PRACTICE_GONE)
        return
    user = await turn.user()
    report = await repo.add_report(turn.session, practice, outcome, local_today(user))
    data = {"practice_id": practice.id, "report_id": report.id}
    if practice.noticing and outcome == Outcome.NOT_TODAY:
        # Not noticing is no obstacle: there is nothing to fix (reference 001). Another flow
        # the client is in stays as it is.
        await repo.clear_conversation(turn.session, turn.user_id, FLOW)
        await turn.say(t.ACK_NOT_NOTICED)
        return
    if outcome == Outcome.NOT_TODAY:
        text = t.ACK_NOT_TODAY
        if practice.if_then:
            text += "\n\n" + t.YOUR_PLAN.format(if_then=practice.if_then)
        await turn.set_conversation(FLOW, Step.OBSTACLE, data)
        await turn.say(text, _obstacle_rows())
        return
    if practice.noticing:
        await turn.say(t.ACK_NOTICED)
    else:
        await turn.say(t.ACK_DID if outcome == Outcome.DID else t.ACK_PARTLY)
    await supporters.tell_supporters(turn, user)
    if practice.reward:
        rule = shaping.is_reward_rule(practice.reward)
        await turn.say(
            (t.REWARD_RULE_NOW if rule else t.REWARD_NOW).format(reward=practice.reward)
        )
    await turn.set_conversation(FLOW, Step.REFLECTION, data)
    await _ask_reflection(turn, practice)


async def _ask_reflection(turn: Turn, practice: Practice | None) -> None:
    ask = (
        t.ASK_NOTICE_REFLECTION if practice is not None and practice.noticing else t.ASK_REFLECTION
    )
    await turn.say(ask, [[(t.SKIP, (Kind.ANSWER, Step.REFLECTION, "skip"))]])


async def prompt(turn: Turn, conversation: Conversation) -> None:
    step, data = conversation.step, conversation.data
    if step == Step.REFLECTION:
        practice = await repo.owned_practice(turn.session, turn.user_id, data["practice_id"])
        await _ask_reflection(turn, practice)
    elif step == Step.WORTH:
        await turn.say(t.ASK_WORTH, _worth_rows())
    elif step == Step.ACT:
        await turn.say(data["offer"], _act_rows())
    elif step == Step.OBSTACLE:
        await turn.say(t.ACK_NOT_TODAY, _obstacle_rows())
    elif step == Step.OTHER:
        await turn.say(t.ASK_OTHER_OBSTACLE)
    elif step == Step.ADJUST:
        await turn.say(data["offer"], _option_rows(data["options"], data.get("versions")))
    elif step == Step.STEP_UP:
        await turn.say(data["offer"], _step_up_rows())


async def answer(turn: Turn, conversation: Conversation, value: str, pressed: bool) -> None:
    data: dict[str, Any] = dict(conversation.data)
    practice = await repo.owned_practice(turn.session, turn.user_id, data["practice_id"])
    report = await turn.session.get(Report, data["report_id"])
    if practice is None or report is None:
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(t.PRACTICE_GONE)
        return
    step = conversation.step
    if step == Step.REFLECTION:
        await _on_reflection(turn, practice, report, value, pressed)
    elif step == Step.OBSTACLE:
        await _on_obstacle(turn, practice, report, data, value, pressed)
    elif step == Step.OTHER:
        note, problem = short_answer(value)
        if note is None:
            await turn.say(problem or t.EMPTY_ANSWER)
            return
        report.obstacle_note = note
        await _offer(turn, practice, data, Obstacle.OTHER)
    elif step == Step.ADJUST:
        await _on_option(turn, practice, data, value, pressed)
    elif step == Step.STEP_UP:
        if (pressed and value == "yes") or _says_yes(value, t.STEP_UP_YES):
            await practices.start_change(turn, practice, "step", "step_up", t.ASK_STEP_UP)
        elif pressed and value == "new":  # practice across settings (reference 004)
            await practices.start_change(
                turn, practice, "anchor", "new_setting", t.ASK_SOMEWHERE_NEW
            )
        else:
            await _keep(turn)
    elif step == Step.WORTH:
        await _on_worth(turn, practice, report, data, value, pressed)
    elif step == Step.ACT:
        if (pressed and value == "yes") or _says_yes(value, t.ACT_YES):
            await practices.start_change(turn, practice, "step", "to_action", t.ASK_ACTION)
        else:
            await _keep(turn)


async def _on_reflection(
    turn: Turn, practice: Practice, report: Report, value: str, pressed: bool
) -> None:
    if not pressed:
        reflection, problem = short_answer(value)
        if reflection is None:
            await turn.say(problem or t.EMPTY_ANSWER)
            return
        report.reflection = reflection
        await turn.say(t.REFLECTION_SAVED)
    await after_reflection(turn, practice, report)


async def reflected_by_voice(turn: Turn, conversation: Conversation) -> None:
    """A voice note answered "what made it easier?": it becomes the reflection once written
    down (transcription/worker.py); the flow goes on as after a typed one."""
    practice = await repo.owned_practice(
        turn.session, turn.user_id, conversation.data["practice_id"]
    )
    report = await turn.session.get(Report, conversation.data["report_id"])
    if practice is None or report is None:
        await repo.clear_conversation(turn.session, turn.user_id)
        return
    await after_reflection(turn, practice, report)


async def after_reflection(turn: Turn, practice: Practice, report: Report) -> None:
    """After a try and its reflection (typed, skipped or a voice note): offer the next step
    when its time has come (a small action after noticings, a step up after easy successes)."""
    history = await _history(turn, practice)
    if practice.noticing:
        if report.outcome == Outcome.DID and shaping.ready_to_act(history):
            offer = t.ACT_OFFER.format(count=shaping.noticings(history))
            data = {"practice_id": practice.id, "report_id": report.id, "offer": offer}
            await turn.set_conversation(FLOW, Step.ACT, data)
            await turn.say(offer, _act_rows())
            return
    elif report.outcome == Outcome.DID and coaching.ready_to_step_up(history):
        offer = t.STEP_UP_OFFER.format(count=coaching.success_run(history))
        data = {"practice_id": practice.id, "report_id": report.id, "offer": offer}
        await turn.set_conversation(FLOW, Step.STEP_UP, data)
        await turn.say(offer, _step_up_rows())
        return
    await repo.clear_conversation(turn.session, turn.user_id)


async def _on_obstacle(
    turn: Turn,
    practice: Practice,
    report: Report,
    data: dict[str, Any],
    value: str,
    pressed: bool,
) -> None:
    if not pressed:
        # A typed answer is "something else", in the client's own words.
        note, problem = short_answer(value)
        if note is None:
            await turn.say(problem or t.EMPTY_ANSWER)
            return
        report.obstacle, report.obstacle_note = Obstacle.OTHER, note
        await _offer(turn, practice, data, Obstacle.OTHER)
        return
    try:
        obstacle = Obstacle(value)
    except ValueError:
        return
    report.obstacle = obstacle
    if obstacle == Obstacle.OTHER:
        await turn.set_conversation(FLOW, Step.OTHER, data)
        await turn.say(t.ASK_OTHER_OBSTACLE)
        return
    await _offer(turn, practice, data, obstacle)


async def _offer(turn: Turn, practice: Practice, data: dict[str, Any], obstacle: Obstacle) -> None:
    """Offer the adjustments that fit what got in the way (or a rethink after three skips);
    after repeated "didn't feel useful", first ask what would make it worth doing."""
    user = await turn.user()
    history = await _history(turn, practice)
    found = shaping.offer_after(obstacle, practice.step, practice.days, history, local_today(user))
    proposal = coaching.lower_the_bar(practice.step)
    if found.rethink:
        offer = t.RETHINK_OFFER
    elif "drop" in found.options:
        offer = t.NOT_USEFUL_PATTERN
    else:
        offer = t.OFFER_FOR[obstacle.value].format(proposal=proposal)
    data.update(
        obstacle=obstacle.value,
        proposal=proposal,
        options=list(found.options),
        versions=_stored(found.versions),
        offer=offer,
    )
    if found.ask_worth:
        await turn.set_conversation(FLOW, Step.WORTH, data)
        await turn.say(t.ASK_WORTH, _worth_rows())
        return
    await turn.set_conversation(FLOW, Step.ADJUST, data)
    await turn.say(offer, _option_rows(found.options, data["versions"]))


async def _on_worth(
    turn: Turn,
    practice: Practice,
    report: Report,
    data: dict[str, Any],
    value: str,
    pressed: bool,
) -> None:
    """Motivation or friction (reference 000): their reasons, kept for the clinician."""
    if not pressed:
        worth, problem = short_answer(value)
        if worth is None:
            await turn.say(problem or t.EMPTY_ANSWER)
            return
        report.worth = worth
        await turn.say(t.WORTH_SAVED)
    await turn.set_conversation(FLOW, Step.ADJUST, data)
    await turn.say(data["offer"], _option_rows(data["options"], data.get("versions")))


def _stored(versions: dict[str, shaping.Version]) -> dict[str, dict[str, str | None]]:
    """Versions as the conversation keeps them (JSON)."""
    return {k: {"step": v.step, "days": v.days, "was": v.was} for k, v in versions.items()}


async def _on_option(
    turn: Turn, practice: Practice, data: dict[str, Any], value: str, pressed: bool
) -> None:
    reason = data["obstacle"]
    versions: dict[str, dict[str, str | None]] = data.get("versions") or {}
    if not pressed or value not in data["options"]:
        await turn.say(data["offer"], _option_rows(data["options"], versions))
        return
    user = await turn.user()
    zone = user.timezone or "UTC"
    if value in versions:  # a concrete smaller version: shorter, once this week, by voice
        chosen = versions[value]
        if chosen["step"]:
            repo.change_practice(
                turn.session, practice, "step", chosen["step"], reason=reason, timezone=zone
            )
        if chosen["days"]:
            repo.change_practice(
                turn.session, practice, "days", chosen["days"], reason=reason, timezone=zone
            )
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(f"{t.CHANGED}\n\n{practices.card(practice)}")
    elif value in ("anchor", "time", "days", "own_smaller", "first_move", "space"):
        questions = {
            "own_smaller": ("step", t.ASK_OWN_SMALLER),
            "first_move": ("step", t.ASK_FIRST_MOVE),
            "space": ("space", t.ASK_SPACE),
        }
        field, question = questions.get(value, (value, None))
        await practices.start_change(turn, practice, field, reason, question)
    elif value == "smaller":
        menu = shaping.smaller_menu(practice.step, practice.days, local_today(user))
        data["options"], data["versions"] = list(menu.options), _stored(menu.versions)
        data["offer"] = t.OFFER_FOR["too_big"]
        await turn.set_conversation(FLOW, Step.ADJUST, data)
        await turn.say(data["offer"], _option_rows(data["options"], data["versions"]))
    elif value == "drop":  # only after a persistent pattern (reference 000)
        repo.set_status(
            turn.session, practice, PracticeStatus.REMOVED, reason=reason, timezone=zone
        )
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(t.DROPPED)
    elif value in ("use_proposal", "lower_bar"):
        repo.change_practice(
            turn.session, practice, "step", data["proposal"], reason=reason, timezone=zone
        )
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(f"{t.CHANGED}\n\n{practices.card(practice)}")
    elif value == "pause":
        repo.set_status(
            turn.session, practice, PracticeStatus.PAUSED, reason=reason, timezone=zone
        )
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(t.PAUSED)
    elif value == "talk_over":
        practice.talk_over = True
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(t.MARKED_TALK_OVER)
    else:
        await _keep(turn)


async def _keep(turn: Turn) -> None:
    await repo.clear_conversation(turn.session, turn.user_id)
    await turn.say(t.KEPT)


async def _history(turn: Turn, practice: Practice) -> list[coaching.DayReport]:
    """The practice's recent reports, oldest first, as the coaching rules read them; for a
    noticing practice turned into an action, those since (noticings are not its tries)."""
    since = None
    if not practice.noticing:
        since = await repo.became_an_action_at(turn.session, practice.id)
    return [
        coaching.DayReport(r.local_date, r.outcome, r.obstacle)
        for r in await repo.reports_for(turn.session, practice.id, since=since)
    ]


def _label(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _obstacle_rows() -> list[list[Button]]:
    rows = one_per_row(
        [(label, (Kind.ANSWER, Step.OBSTACLE, key)) for key, label in t.OBSTACLES.items()]
    )
    return [*rows, [(t.WRITE_THOUGHT_RECORD, (Kind.THOUGHT,))]]


def _option_rows(
    options: list[str] | tuple[str, ...], versions: dict[str, Any] | None = None
) -> list[list[Button]]:
    """One button per option; a concrete version is labelled with its own words."""
    versions = versions or {}

    def label(option: str) -> str:
        if option in versions:
            return _label(t.VERSION_LABELS[option].format(**versions[option]), VERSION_CHARS)
        return str(t.OPTION_LABELS[option])

    return one_per_row([(label(o), (Kind.ANSWER, Step.ADJUST, o)) for o in options])


def _step_up_rows() -> list[list[Button]]:
    return [
        [(t.STEP_UP_YES, (Kind.ANSWER, Step.STEP_UP, "yes"))],
        [(t.STEP_UP_NEW, (Kind.ANSWER, Step.STEP_UP, "new"))],
        [(t.KEEP_AS_IS, (Kind.ANSWER, Step.STEP_UP, "keep"))],
    ]


def _worth_rows() -> list[list[Button]]:
    return [[(t.SKIP, (Kind.ANSWER, Step.WORTH, "skip"))]]


def _says_yes(typed: str, button: str) -> bool:
    """A typed yes: the button's own words, or yes in English or a catalog's language."""
    return typed.strip().lower().rstrip("!.") in {
        "yes",
        "y",
        "sí",
        "si",
        "ja",
        "да",
        button.lower(),
    }


def _act_rows() -> list[list[Button]]:
    return [
        [
            (t.ACT_YES, (Kind.ANSWER, Step.ACT, "yes")),
            (t.KEEP_AS_IS, (Kind.ANSWER, Step.ACT, "keep")),
        ]
    ]
