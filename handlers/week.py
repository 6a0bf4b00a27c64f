"""`/week` (the look back, and when it comes), `/session`, the week's one question, and marking
something to bring to the next session."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from telegram.error import Forbidden

from bot.callbacks import Button, Kind
from bot.logs import describe
from bot.rules import shaping, summary, week
from bot.rules.parsing import WEEKDAYS
from bot.texts import t
from handlers import practices
from handlers.common import Turn, local_today, short_answer
from scheduler import lookback
from storage import repo
from storage import week as week_db
from storage.models import Conversation, Practice, PracticeStatus, User, utcnow

logger = logging.getLogger(__name__)

FLOW = "week"
DEFAULT_WORDS = ("default", "auto", "reset")
CLEAR_WORDS = ("none", "clear", "no", "off")
STALE_AFTER_DAYS = 8  # a look back's choice counts for its own week, not one long gone


class Step(StrEnum):
    SMALLER = "smaller"  # "a little smaller": the proposal, or their own words
    BRING = "bring"  # a line to bring to the session


async def show(turn: Turn, args: list[str]) -> None:
    """`/week`: the look back now; `/week sun 18:00` or `/week default`: when it comes."""
    user = await turn.user()
    if args:
        await _set_time(turn, user, " ".join(args))
        return
    composed = await lookback.look_back(turn.session, user, utcnow())
    if composed is None:
        await turn.say(t.WEEK_NO_PRACTICES)
        return
    if composed.chart is not None:
        await _send_chart(turn, composed.chart)
    await turn.say(composed.text, composed.rows)


async def _send_chart(turn: Turn, facts: summary.ClientFacts) -> None:
    try:
        picture = await asyncio.to_thread(summary.chart, facts)
        turn.send_file(picture, "week.png", t.WEEK_CHART_CAPTION, photo=True)  # after the commit
    except Exception as error:  # the words matter more than the picture
        logger.error("the week's chart could not be sent: %s", describe(error))


async def _set_time(turn: Turn, user: User, text: str) -> None:
    if text.strip().lower() in DEFAULT_WORDS:
        user.week_day, user.week_time = None, None
        week_db.reschedule(user, look=True, bring=False)
        await turn.say(t.WEEK_WHEN_DEFAULT)
        return
    chosen = week.parse_look_back_time(text)
    if chosen is None:
        await turn.say(t.WEEK_WHEN_UNKNOWN)
        return
    user.week_day, user.week_time = chosen
    week_db.reschedule(user, look=True, bring=False)
    await turn.say(t.WEEK_WHEN_SET.format(day=t.describe_days(chosen[0]), time=t.clock(chosen[1])))


def _active(listed: list[Practice]) -> list[Practice]:
    return [p for p in listed if p.status == PracticeStatus.ACTIVE]


async def on_choice(turn: Turn, until: str, choice: str, practice_id: str) -> None:
    """`y:<week's last day>:<choice>:<practice>`: record the choice, then lead to it."""
    try:
        last_day = datetime.strptime(until, "%Y%m%d").date()
    except ValueError:
        last_day = None
    user = await turn.user()
    too_old = last_day is not None and (local_today(user) - last_day).days > STALE_AFTER_DAYS
    if last_day is None or choice not in week.CHOICES or too_old:
        await turn.say(t.STALE_BUTTON_SHORT)
        return
    active = _active(await repo.listed_practices(turn.session, turn.user_id))
    if practice_id == "0":
        await week_db.record_choice(turn.session, turn.user_id, last_day, choice)
    if choice == "keep" or not active:
        # Another flow the client is in (a thought record half written) stays as it is.
        await repo.clear_conversation(turn.session, turn.user_id, FLOW)
        await turn.say(t.WEEK_KEPT)
        return
    if choice == "talk":
        for practice in active:
            practice.talk_over = True  # flagged in the clinician's summary, as after a skip
        await repo.clear_conversation(turn.session, turn.user_id, FLOW)
        await turn.say(t.WEEK_TALK_SAVED)
        return
    picked = next((p for p in active if str(p.id) == practice_id), None)
    if picked is None and len(active) == 1 and practice_id == "0":
        picked = active[0]  # not a stale "which practice?" button: that one's is gone
    if picked is None and practice_id != "0":
        await turn.say(t.PRACTICE_GONE)
        return
    if picked is None:
        stamp = last_day.strftime("%Y%m%d")
        rows: list[list[Button]] = [
            [(week.label(p.step), (Kind.WEEK_CHOICE, stamp, choice, p.id))] for p in active
        ]
        await turn.say(t.WEEK_WHICH, rows)
        return
    if choice == "bigger":  # the same path as the step up after easy successes
        await practices.start_change(turn, picked, "step", "step_up", t.ASK_STEP_UP)
        return
    proposal = shaping.halve(picked.step)
    if proposal is None:  # no number to halve: their own smaller words
        await practices.start_change(turn, picked, "step", "week", t.ASK_OWN_SMALLER)
        return
    data = {"practice_id": picked.id, "proposal": proposal}
    await turn.set_conversation(FLOW, Step.SMALLER, data)
    await _ask_smaller(turn, proposal)


async def _ask_smaller(turn: Turn, proposal: str) -> None:
    rows: list[list[Button]] = [
        [(t.WEEK_USE, (Kind.ANSWER, Step.SMALLER, "use"))],
        [(t.WEEK_OWN, (Kind.ANSWER, Step.SMALLER, "own"))],
        [(t.KEEP_AS_IS, (Kind.ANSWER, Step.SMALLER, "keep"))],
    ]
    await turn.say(t.WEEK_PROPOSE_SMALLER.format(proposal=proposal), rows)


async def on_bring(turn: Turn, value: str) -> None:
    """`b:<report>|line|none`: mark a note to bring, or write a line, or nothing."""
    if value == "none":
        await turn.say(t.BRING_NONE_SAVED)
        return
    if value == "line":
        await turn.set_conversation(FLOW, Step.BRING, {})
        await turn.say(t.BRING_ASK_LINE)
        return
    report = await week_db.owned_report(turn.session, turn.user_id, value)
    words = report and (report.reflection or report.obstacle_note)
    if not words:
        await turn.say(t.STALE_BUTTON_SHORT)
        return
    await week_db.mark_to_bring(turn.session, turn.user_id, words)  # twice is once
    await turn.say(t.BRING_SAVED.format(text=words))


async def prompt(turn: Turn, conversation: Conversation) -> None:
    if conversation.step == Step.SMALLER:
        await _ask_smaller(turn, conversation.data["proposal"])
    else:
        await turn.say(t.BRING_ASK_LINE)


async def answer(turn: Turn, conversation: Conversation, value: str, pressed: bool) -> None:
    data: dict[str, Any] = dict(conversation.data)
    if conversation.step == Step.BRING:
        line, problem = short_answer(value)
        if line is None:
            await turn.say(problem or t.EMPTY_ANSWER)
            return
        await week_db.mark_to_bring(turn.session, turn.user_id, line)
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(t.BRING_SAVED.format(text=line))
        return
    practice = await repo.owned_practice(turn.session, turn.user_id, data.get("practice_id", 0))
    if practice is None:
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(t.PRACTICE_GONE)
        return
    if not pressed:  # their own smaller version, typed straight away
        own, problem = short_answer(value)
        if own is None:
            await turn.say(problem or t.EMPTY_ANSWER)
            return
        await _change_step(turn, practice, own)
    elif value == "use":
        await _change_step(turn, practice, data["proposal"])
    elif value == "own":
        await practices.start_change(turn, practice, "step", "week", t.ASK_OWN_SMALLER)
    else:
        await repo.clear_conversation(turn.session, turn.user_id)
        await turn.say(t.WEEK_KEPT)


async def _change_step(turn: Turn, practice: Practice, step: str) -> None:
    user = await turn.user()
    repo.change_practice(
        turn.session, practice, "step", step, reason="week", timezone=user.timezone or "UTC"
    )
    await repo.clear_conversation(turn.session, turn.user_id)
    await turn.say(f"{t.CHANGED}\n\n{practices.card(practice)}")


# ---------------------------------------------------------------- the next session


def _describe(user: User, now: datetime) -> str:
    """The client's sessions as /session shows them."""
    zone = week_db.zone_of(user)
    _, upcoming = week_db.session_times(user, now)
    if not upcoming:
        return t.SESSION_NONE
    when = week.describe_session(upcoming[0], zone)
    if user.session_weekly:
        local = upcoming[0].astimezone(ZoneInfo(zone))
        day = t.describe_days(WEEKDAYS[local.weekday()])
        return t.SESSION_WEEKLY.format(day=day, time=t.clock(local), when=when)
    return t.SESSION_NEXT.format(when=when)


def set_session(user: User, text: str, today: date, now: datetime) -> str | None:
    """Note the session `text` names for `user`; return the problem to say, or None."""
    if text.strip().lower() in CLEAR_WORDS:
        user.session_at, user.session_weekly = None, False
        week_db.reschedule(user, now)
        return None
    plan = week.parse_session(text, today)
    if plan is None:
        return t.SESSION_UNKNOWN
    first = week.first_session(plan, week_db.zone_of(user), now)
    if first is None:
        return t.SESSION_PASSED
    user.session_at, user.session_weekly = first, plan.weekly
    week_db.reschedule(user, now)
    return None


async def session(turn: Turn, args: list[str]) -> None:
    """`/session` shows the next session; `/session thursday 10:00`, `/session every Tuesday
    17:30` or `/session none` changes it."""
    user = await turn.user()
    now = utcnow()
    if args:
        problem = set_session(user, " ".join(args), local_today(user), now)
        if problem is not None:
            await turn.say(problem)
            return
        if user.session_at is None:
            await turn.say(t.SESSION_CLEARED)
            return
    await turn.say(_describe(user, now))


async def set_for_client(turn: Turn, client: User, args: list[str]) -> None:
    """A clinician's `/session 2 thursday 10:00`: noted in the client's zone, and they are told."""
    clinician = await turn.user()
    now = utcnow()
    problem = set_session(client, " ".join(args), local_today(client), now)
    if problem is not None or client.session_at is None:
        await turn.say(problem or t.SESSION_CLINICIAN_USAGE)
        return
    zone = week_db.zone_of(client)
    _, upcoming = week_db.session_times(client, now)
    when = week.describe_session(upcoming[0], zone)
    await turn.say(t.SESSION_SET_FOR.format(name=client.first_name, when=when, zone=zone))
    try:
        await turn.context.bot.send_message(
            client.id, t.SESSION_SET_BY.format(name=clinician.first_name, when=when)
        )
    except Forbidden:  # the client stopped the bot; the session is noted all the same
        logger.info("a session note could not be passed on")


def since_last_session(user: User, today: date, now: datetime) -> date | None:
    """The local day of the last session, for the clinician's summary ("since the last one")."""
    last, _ = week_db.session_times(user, now)
    if last is None:
        return None
    return min(last.astimezone(ZoneInfo(week_db.zone_of(user))).date(), today)
