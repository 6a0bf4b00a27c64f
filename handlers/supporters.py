"""Supporters the client invites: "tried today" notes (and a weekly count), kind words back.

A supporter never sees "not today" answers, thought records or anything else.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum

from bot.callbacks import Kind
from bot.texts import t
from handlers.common import Turn, local_today, short_answer
from storage import codes, repo
from storage import supporters as supporters_db
from storage.models import Conversation, Supporter, User, utcnow

logger = logging.getLogger(__name__)

FLOW = "support"


class Step(StrEnum):
    REPLY = "reply"  # a supporter writing a kind word back


INVITE_DAYS = 7


async def overview(turn: Turn) -> None:
    """`/supporter`: current supporters with a remove button, and an invite."""
    current = await supporters_db.active(turn.session, turn.user_id)
    if current:
        rows = []
        for link in current:
            supporter = await turn.session.get(User, link.supporter_id)
            name = supporter.first_name if supporter else ""
            rows.append([(t.SUPPORTER_REMOVE.format(name=name), (Kind.REMOVE_SUPPORTER, link.id))])
        await turn.say(t.SUPPORTERS_NOW, rows)
    await turn.say(
        t.SUPPORTER_CHOOSE,
        [
            [(t.SUPPORTER_TRIED_ONLY, (Kind.INVITE, "tried"))],
            [(t.SUPPORTER_WEEKLY, (Kind.INVITE, "weekly"))],
        ],
    )


async def invite(turn: Turn, choice: str) -> None:
    """`n:<tried|weekly>`: a one-time code for the supporter; it replaces an unused one."""
    code = codes.new_code()
    [code_hash, *_] = codes.code_hashes(turn.session, code)
    expires = utcnow() + timedelta(days=INVITE_DAYS)
    await supporters_db.replace_invite(
        turn.session, turn.user_id, code_hash, choice == "weekly", expires
    )
    await turn.say(t.SUPPORTER_CODE.format(code=code, until=t.day(expires)))


async def remove(turn: Turn, link_id: str) -> None:
    link = await turn.session.get(Supporter, int(link_id)) if link_id.isdigit() else None
    if link is None or link.client_id != turn.user_id or link.removed_at:
        await turn.say(t.STALE_BUTTON_SHORT)
        return
    link.removed_at = utcnow()
    supporter = await turn.session.get(User, link.supporter_id) if link.supporter_id else None
    await turn.say(t.SUPPORTER_REMOVED.format(name=supporter.first_name if supporter else ""))


async def join(turn: Turn, args: list[str]) -> None:
    """`/support CODE`: become someone's supporter; the client is told who joined, with a
    button to remove them.

    The code is taken in one conditional update, so of two people redeeming it at the same
    moment only one gets it. Nothing is stored about someone whose code is wrong (but the
    wrong try, by a keyed hash)."""
    if not args:
        await turn.say(t.SUPPORT_USAGE)
        return
    hashes = codes.code_hashes(turn.session, " ".join(args))

    async def take() -> Supporter | None:
        return await supporters_db.take_code(turn.session, hashes, turn.user_id)

    link = await codes.guarded(
        turn.session,
        codes.Kind.CODE,
        turn.user_id,
        take,
        turn.context.services.settings.code_tries_per_hour,
    )
    if link is codes.LOCKED:
        await turn.say(t.CODE_TOO_MANY)
        return
    if link is None:
        await turn.say(t.LINK_UNKNOWN)
        return
    supporter = await turn.user()
    client = await turn.session.get(User, link.client_id)
    await turn.say(t.SUPPORT_LINKED.format(name=client.first_name if client else ""))
    remove = (
        t.SUPPORTER_REMOVE.format(name=supporter.first_name),
        (Kind.REMOVE_SUPPORTER, link.id),
    )
    # After the commit, like every reply: the link it tells of is kept by then.
    joined = t.SUPPORTER_JOINED.format(name=supporter.first_name)
    turn.send(link.client_id, joined, turn.keyboard([[remove]], link.client_id), to=client)


async def tell_supporters(turn: Turn, client: User) -> None:
    """After a try: a short note to each supporter; a failure here never affects the client."""
    links = await supporters_db.active(turn.session, client.id)
    if not links:
        return
    week_start = local_today(client) - timedelta(days=6)
    for link in links:
        assert link.supporter_id is not None
        text = t.SUPPORT_TRIED.format(name=client.first_name)
        if link.weekly_count:  # the week, or since they joined if that is later
            tries = await supporters_db.tries_since(turn.session, link, week_start)
            text += t.SUPPORT_WEEK.format(count=tries)
        markup = turn.keyboard([[(t.SUPPORT_REPLY, (Kind.KIND_WORD, link.id))]], link.supporter_id)
        supporter = await turn.session.get(User, link.supporter_id)
        turn.send(link.supporter_id, text, markup, to=supporter)  # after their quiet hours


async def start_reply(turn: Turn, link_id: str) -> None:
    """`h:<link>`: the supporter wants to send a kind word."""
    link = await turn.session.get(Supporter, int(link_id)) if link_id.isdigit() else None
    if link is None or link.supporter_id != turn.user_id or link.removed_at:
        await turn.say(t.STALE_BUTTON_SHORT)
        return
    client = await turn.session.get(User, link.client_id)
    await turn.user()
    await turn.set_conversation(FLOW, Step.REPLY, {"link_id": link.id})
    await turn.say(t.SUPPORT_ASK_REPLY.format(name=client.first_name if client else ""))


async def prompt(turn: Turn, conversation: Conversation) -> None:
    link = await turn.session.get(Supporter, conversation.data.get("link_id", 0))
    client = await turn.session.get(User, link.client_id) if link else None
    await turn.say(t.SUPPORT_ASK_REPLY.format(name=client.first_name if client else ""))


async def answer(turn: Turn, conversation: Conversation, value: str, pressed: bool) -> None:
    link = await turn.session.get(Supporter, conversation.data.get("link_id", 0))
    await repo.clear_conversation(turn.session, turn.user_id)
    if link is None or link.removed_at or link.supporter_id != turn.user_id:
        await turn.say(t.STALE_BUTTON_SHORT)
        return
    words, problem = short_answer(value, 500)
    if words is None:
        await turn.set_conversation(FLOW, Step.REPLY, dict(conversation.data))
        await turn.say(problem or t.EMPTY_ANSWER)
        return
    supporter = await turn.user()
    client = await turn.session.get(User, link.client_id)
    kind_word = t.SUPPORT_MESSAGE.format(name=supporter.first_name, text=words)
    turn.send(link.client_id, kind_word, to=client)
    await turn.say(t.SUPPORT_SENT)
