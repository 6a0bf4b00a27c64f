"""`/mydata` sends everything stored about the person; `/forget` erases it, after asking.

Both work for anyone, before consent too, and never create a user row themselves.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import partial

from bot.callbacks import Kind
from bot.context import current_unit
from bot.rules import mydata
from bot.texts import t
from handlers.common import Turn, local_today
from storage import privacy
from storage.models import User, utcnow

logger = logging.getLogger(__name__)

# A confirmation left unanswered this long is not acted on: an erasure must be meant now.
CONFIRM_WITHIN = timedelta(hours=1)
STRANGER = "0"  # the incarnation stamp of someone with no user row


def incarnation(user: User | None) -> str:
    """Tells this user row apart from one made after they forgot and started again."""
    if user is None:
        return STRANGER
    return format(int(user.created_at.timestamp() * 1_000_000), "x")


def decide(current: str, stamp: str, issued: str, now: datetime, *, exists: bool) -> str:
    """What a "yes, erase" press does: "erase", "already" (nothing left) or "stale"."""
    if not exists:
        return "erase" if stamp == STRANGER else "already"
    try:
        age = now.timestamp() - int(issued, 16)
    except ValueError:
        return "stale"
    if stamp != current or not 0 <= age <= CONFIRM_WITHIN.total_seconds():
        return "stale"
    return "erase"


async def mydata_command(turn: Turn) -> None:
    """`/mydata`: one JSON file with every row about them, and their thought records as text."""
    skip = turn.update.update_id
    export = await privacy.export_user(turn.session, turn.user_id, skip_update_id=skip)
    if not privacy.has_data(export):
        await turn.say(t.MYDATA_NOTHING)
        return
    user = await turn.session.get(User, turn.user_id)
    day = today_for(user)
    document = mydata.to_json(export)
    await _send_file(turn, document, mydata.json_filename(day), t.MYDATA_CAPTION)
    records = export["thought_records"]
    if records:
        text = mydata.thought_records_text(records, user.timezone if user else None)
        await _send_file(
            turn, text.encode(), mydata.thoughts_filename(day), t.MYDATA_THOUGHTS_CAPTION
        )
    logger.info("sent a client their data (%d bytes of JSON)", len(document))


async def _send_file(turn: Turn, data: bytes, filename: str, caption: str) -> None:
    turn.send_file(data, filename, caption)


async def forget_command(turn: Turn) -> None:
    """`/forget`: say plainly what goes, and ask."""
    user = await turn.session.get(User, turn.user_id)
    stamp, issued = incarnation(user), format(int(utcnow().timestamp()), "x")
    rows = [
        [(t.FORGET_YES, (Kind.FORGET, "yes", stamp, issued))],
        [(t.FORGET_NO, (Kind.FORGET, "no", stamp, issued))],
    ]
    await turn.say(t.FORGET_ASK, rows)


async def on_forget(turn: Turn, answer: str, stamp: str, issued: str) -> None:
    """`f:<yes|no>:<incarnation>:<issued>`: erase everything, or nothing."""
    await _close_prompt(turn)
    if answer != "yes":
        await turn.say(t.FORGET_KEPT)
        return
    user = await turn.session.get(User, turn.user_id)
    decision = decide(incarnation(user), stamp, issued, utcnow(), exists=user is not None)
    if decision == "stale":
        await turn.say(t.FORGET_STALE)
        return
    settings = turn.context.services.settings
    # Even when nothing is left, messages sent since are erased: the wish is still to be gone.
    erased = await privacy.erase_user(
        turn.session, turn.user_id, settings.audio_dir, handling_update_id=turn.update.update_id
    )
    current_unit.get().after_commit.append(partial(privacy.delete_files, erased.audio_files))
    logger.info("erased everything about one person (%d rows)", erased.total)  # no id: gone
    done = decision == "erase" and erased.total > 0
    await turn.say(f"{t.FORGET_DONE if done else t.FORGET_ALREADY}\n\n{t.FORGET_TELEGRAM}")


async def _close_prompt(turn: Turn) -> None:
    """Take the buttons off the question, so it cannot be answered twice."""
    query = turn.update.callback_query
    if query is None or query.message is None:
        return
    # Already closed, or too old to edit: the answer still counts (the sender only logs it).
    turn.edit_buttons(query.message.message_id, None)


def today_for(user: User | None) -> date:
    return local_today(user) if user else utcnow().date()
