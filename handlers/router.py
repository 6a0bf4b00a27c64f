"""Commands, and routing of free text and buttons to the flow the client is in."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ApplicationHandlerStop

from bot.callbacks import Kind
from bot.context import BetweenContext, current_unit
from bot.ingest import defer_if_transient
from bot.logs import describe
from bot.rules.crisis import command_name
from bot.texts import supported, t, use_language
from handlers import (
    clinician,
    design,
    language,
    nudges,
    onboarding,
    practices,
    privacy,
    reports,
    safety,
    supporters,
    thought,
    voice,
    week,
)
from handlers.common import Flow, Turn
from storage import repo
from storage.models import Conversation, User

logger = logging.getLogger(__name__)

# Each flow module is a Flow: FLOW, prompt(turn, conversation), answer(turn, conversation, ...).
_FLOWS: tuple[Flow, ...] = (onboarding, design, practices, reports, thought, supporters, week)
FLOWS: dict[str, Flow] = {flow.FLOW: flow for flow in _FLOWS}


async def _conversation(turn: Turn) -> Conversation | None:
    """Load where the client is; buttons made while answering belong to that step."""
    conversation = await repo.get_conversation(turn.session, turn.user_id)
    turn.version = conversation.data.get("_v") if conversation else None
    return conversation


async def seen(update: Update, context: BetweenContext) -> None:
    """A client who blocks the bot gets no nudges; any private update from them afterwards
    means they are back. The rest of the update speaks their stored language."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        return
    change = update.my_chat_member
    active = change is None or change.new_chat_member.status != ChatMemberStatus.BANNED
    await repo.set_reachable(context.session, user.id, active)
    stored = await context.session.get(User, user.id)
    if stored is not None and stored.language:  # their /language over Telegram's setting
        use_language(supported(stored.language))


class Needs(Enum):
    """What a person must have agreed to before a command or button may act for them."""

    NOTHING = "nothing"  # anyone: /start, /help, /forget and its answer, onboarding's steps
    CONSENT = "consent"  # their okay on what is kept (e.g. to stop sharing)
    READY = "ready"  # consent and a timezone: anything that stores about practices


class Who(Enum):
    """Who a command or button is for. A client is someone who agreed to what is kept (their
    `Needs` say how far); a clinician registered with the operator's code (checked here); a
    supporter holds a client's code or link (checked by the handler that reads it)."""

    ANYONE = "anyone"
    CLIENT = "client"
    CLINICIAN = "clinician"
    SUPPORTER = "supporter"


async def _passes(
    turn: Turn, needs: Needs, who: Who, *, pressed: bool = False, audited: str | None = None
) -> bool:
    """The one readiness and role check, for commands and buttons alike. Nothing is stored on
    the way for a client (not even a user row), so a button from before /forget or before
    consent starts nothing. A refused clinician read (`audited`) goes in the audit log."""
    if who is Who.CLINICIAN:
        user = await turn.user()
        if not user.is_clinician:
            await clinician.refuse(turn, audited)
            return False
    if needs is Needs.NOTHING:
        return True
    found = await turn.session.get(User, turn.user_id)
    if found is None or not found.consent_version:
        await turn.say(t.BUTTON_BEFORE_CONSENT if pressed else t.CONSENT_NEEDED)
        return False
    if needs is Needs.READY and not found.timezone:
        await onboarding.change_timezone(turn)
        return False
    return True


async def start(turn: Turn) -> None:
    """Welcome a new client, or greet a returning one and show where they are."""
    conversation = await _conversation(turn)
    if conversation and conversation.flow != onboarding.FLOW:
        await turn.say(t.RESUMING)
        await FLOWS[conversation.flow].prompt(turn, conversation)
        return
    await onboarding.start(turn)


async def report(turn: Turn) -> None:
    """Report how a practice went."""
    await repo.clear_conversation(turn.session, turn.user_id)
    await reports.ask_which(turn)


async def cancel(turn: Turn) -> None:
    """Leave any flow cleanly."""
    stopped = await repo.clear_conversation(turn.session, turn.user_id)
    await turn.say(t.CANCELLED if stopped else t.NOTHING_TO_CANCEL)


async def help_command(turn: Turn) -> None:
    """List the commands in plain words, with crisis resources."""
    await turn.say(t.HELP.format(crisis=safety.crisis_text(turn)))


async def voice_note(update: Update, context: BetweenContext) -> None:
    """Take a voice note (or audio file, or video note) for transcription."""
    turn = Turn(update, context)
    if await _passes(turn, Needs.READY, Who.CLIENT):
        await voice.receive(turn)


@dataclass(frozen=True)
class Command:
    """A command: its handler, who it is for, what they must have agreed to first, and whether
    it reads arguments (`/pause 2025-06-01`). Its menu line, if any, is `t.COMMAND_MENU[name]`."""

    name: str
    handler: Callable[..., Awaitable[None]]  # (turn) or, with `args`, (turn, args)
    needs: Needs = Needs.READY
    who: Who = Who.CLIENT
    args: bool = False
    audited: bool = False  # a clinician's read of a client's data: a refusal is logged too
    # Its arguments are the writer's own words, so crisis words in them get the crisis
    # resources; False only where they are not (a code, a clinician's practice text).
    screened: bool = True

    def __post_init__(self) -> None:
        if self.who is Who.CLIENT and self.needs is Needs.NOTHING:
            raise ValueError(f"/{self.name}: a client's command needs at least consent")

    async def run(self, update: Update, context: BetweenContext) -> None:
        turn = Turn(update, context)
        audited = self.name if self.audited else None
        if not await _passes(turn, self.needs, self.who, audited=audited):
            return
        if self.args:
            await self.handler(turn, list(context.args or []))
        else:
            await self.handler(turn)


async def _session(turn: Turn, args: list[str]) -> None:
    """`/session`: a clinician notes a linked client's (`/session 2 thursday 10:00`); a client
    sees or notes their own, after the same check as any client's command."""
    found = await turn.session.get(User, turn.user_id)
    if found is not None and found.is_clinician and args:
        await clinician.session_for(turn, args)
    elif await _passes(turn, Needs.READY, Who.CLIENT):
        await week.session(turn, args)


def _timezone(turn: Turn, args: list[str]) -> Awaitable[None]:
    return onboarding.change_timezone(turn, " ".join(args))


# Every command, by name; nothing else that starts with "/" is one (it is read, and screened).
# A new command is one row here (and, for the menu, one line in t.COMMAND_MENU).
COMMANDS: tuple[Command, ...] = (
    Command("start", start, Needs.NOTHING, Who.ANYONE),
    Command("new", design.start),
    Command("done", report),
    Command("practices", practices.list_practices),
    Command("timezone", _timezone, Needs.CONSENT, args=True),
    Command("language", language.show_or_change, Needs.CONSENT, args=True),
    Command("thought", thought.start),
    Command("sharing", clinician.sharing),
    Command("supporter", supporters.overview),
    Command("link", clinician.link, args=True, screened=False),
    Command("pause", nudges.pause_all, args=True),
    Command("resume", nudges.resume_all),
    Command("quiet", nudges.quiet_hours, args=True),
    Command("checkin", nudges.checkin_time, args=True),
    Command("week", week.show, args=True),
    Command("session", _session, Needs.NOTHING, Who.ANYONE, args=True),
    Command("cancel", cancel, Needs.NOTHING, Who.ANYONE),
    Command("mydata", privacy.mydata_command, Needs.NOTHING, Who.ANYONE),  # before consent too
    Command("forget", privacy.forget_command, Needs.NOTHING, Who.ANYONE),
    Command("help", help_command, Needs.NOTHING, Who.ANYONE),
    Command("sos", safety.sos, Needs.NOTHING, Who.ANYONE),
    Command("clinician", clinician.register, Needs.NOTHING, Who.ANYONE, args=True, screened=False),
    Command("invite", clinician.invite, Needs.NOTHING, Who.CLINICIAN),
    Command("summary", clinician.show_summary, Needs.NOTHING, Who.CLINICIAN, True, True),
    Command("export", clinician.export, Needs.NOTHING, Who.CLINICIAN, True, True),
    Command("suggest", clinician.suggest, Needs.NOTHING, Who.CLINICIAN, args=True, screened=False),
    Command("support", supporters.join, Needs.NOTHING, Who.SUPPORTER, args=True, screened=False),
)


async def text(update: Update, context: BetweenContext) -> None:
    """Route free text to the current flow's step, or point the way outside a flow."""
    turn = Turn(update, context)
    message = update.effective_message
    assert message is not None
    if message.reply_to_message and await voice.correct(
        turn, message.reply_to_message, message.text or ""
    ):
        return
    conversation = await _conversation(turn)
    if conversation is None:
        await turn.say(t.FALLBACK)
        return
    flow = FLOWS[conversation.flow]
    await flow.answer(turn, conversation, message.text or "", False)


async def other_message(update: Update, context: BetweenContext) -> None:
    """Answer an unknown command, a sticker, a photo or anything else we cannot read yet."""
    turn = Turn(update, context)
    message = update.effective_message
    if message and message.text and command_name(message.text):
        await turn.say(t.UNKNOWN_COMMAND)  # a command we do not have (/week)
        return
    conversation = await _conversation(turn)
    await turn.say(t.NEED_TEXT if conversation else t.FALLBACK)


async def edited_message(update: Update, context: BetweenContext) -> None:
    """An answer is taken as first sent; an edit is not read, so say so instead of ignoring it."""
    await Turn(update, context).say(t.EDIT_NOT_SEEN)


async def _point_to_private_chat(update: Update, context: BetweenContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    # If not allowed to post in that group, the sender stays quiet (it only logs).
    Turn(update, context).send(chat.id, t.PRIVATE_ONLY)


async def group_command(update: Update, context: BetweenContext) -> None:
    """In a group, a command meant for this bot gets one short pointer to a private chat.
    Nothing else said in a group is read, stored, or taken as anyone's answer."""
    message = update.effective_message
    assert message is not None and message.text is not None
    addressee = message.text.split(maxsplit=1)[0].partition("@")[2]
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # another bot's command
    await _point_to_private_chat(update, context)


async def bot_added(update: Update, context: BetweenContext) -> None:
    """Added to a group: say once, briefly, that Between works in private chats only."""
    change = update.my_chat_member
    if (
        change is not None
        and change.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
        and change.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
        and change.new_chat_member.status
        in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)
    ):
        await _point_to_private_chat(update, context)


async def button(update: Update, context: BetweenContext) -> None:
    """Check a button's signature and freshness, then hand it to its flow."""
    query = update.callback_query
    assert query is not None
    turn = Turn(update, context)
    parts = context.services.signer.unpack(turn.user_id, query.data)
    if parts is None:
        logger.warning("refused a callback with a bad signature")
        await turn.acknowledge(t.UNKNOWN_BUTTON)
        return
    route = BUTTON_ROUTES.get(parts[0])
    if route is None or len(parts) - 1 != route.args:
        logger.warning("refused an unknown callback kind")
        await turn.acknowledge(t.UNKNOWN_BUTTON)
        return
    await turn.acknowledge()
    if await _passes(turn, route.needs, route.who, pressed=True):
        await route.callback(turn, *parts[1:])


async def _answer_button(turn: Turn, step: str, value: str, version: str) -> None:
    conversation = await _conversation(turn)
    if conversation is None or (conversation.step, str(turn.version)) != (step, version):
        if conversation is None:
            await turn.say(t.STALE_BUTTON_SHORT + " " + t.FALLBACK)
        else:
            await turn.say(t.STALE_BUTTON)
            await FLOWS[conversation.flow].prompt(turn, conversation)
        return
    await FLOWS[conversation.flow].answer(turn, conversation, value, True)


@dataclass(frozen=True)
class ButtonRoute:
    """A button kind: its handler, how many arguments it carries, and, as for a command, what
    it needs first and who it is for (the same guard: a button never skips its command's)."""

    callback: Callable[..., Awaitable[None]]
    args: int
    needs: Needs = Needs.READY
    who: Who = Who.CLIENT

    def __post_init__(self) -> None:
        if self.who is Who.CLIENT and self.needs is Needs.NOTHING:
            raise ValueError("a client's button needs at least consent")


# Every kind passes the same check as the commands that lead to it (see Kind for each).
# An answer is judged by the conversation it belongs to (/forget ends it); onboarding's
# consent buttons are answers too, so they work before consent.
BUTTON_ROUTES: dict[str, ButtonRoute] = {
    Kind.ANSWER: ButtonRoute(_answer_button, 3, Needs.NOTHING, Who.ANYONE),
    Kind.OUTCOME: ButtonRoute(reports.on_outcome, 2),
    Kind.WHICH: ButtonRoute(reports.on_which, 1),
    Kind.PRACTICE: ButtonRoute(practices.on_button, 2),
    Kind.LATER: ButtonRoute(nudges.later, 1),
    Kind.SNOOZE: ButtonRoute(nudges.snooze, 2),
    Kind.QUIET: ButtonRoute(nudges.quiet_mode, 1),
    Kind.TRANSCRIPT: ButtonRoute(lambda turn, job: voice.use_as_answer(turn, job, FLOWS), 1),
    Kind.THOUGHT: ButtonRoute(thought.start, 0),
    Kind.SHARE_CONSENT: ButtonRoute(clinician.on_link_answer, 2),
    Kind.STOP_SHARING: ButtonRoute(clinician.stop_sharing, 1, Needs.CONSENT),
    Kind.SUGGESTION: ButtonRoute(clinician.on_suggestion, 2),
    Kind.INVITE: ButtonRoute(supporters.invite, 1),
    Kind.REMOVE_SUPPORTER: ButtonRoute(supporters.remove, 1, Needs.CONSENT),
    Kind.KIND_WORD: ButtonRoute(supporters.start_reply, 1, Needs.NOTHING, Who.SUPPORTER),
    Kind.FORGET: ButtonRoute(privacy.on_forget, 3, Needs.NOTHING, Who.ANYONE),
    Kind.LANGUAGE: ButtonRoute(language.on_button, 1, Needs.CONSENT),
    Kind.WEEK_CHOICE: ButtonRoute(week.on_choice, 3),
    Kind.BRING: ButtonRoute(week.on_bring, 1),
}


async def error(update: object, context: BetweenContext) -> None:
    """Undo the failed update's changes and stop its other handlers. A passing fault
    (Telegram or the database briefly away) leaves the update to be tried again; a bug is
    logged without content and gets a kind apology."""
    unit = current_unit.get(None)
    if unit is not None:
        unit.failed = True
        try:
            await unit.session.rollback()
        except Exception as problem:  # the connection may be gone: nothing was kept anyway
            logger.warning("could not roll back: %s", type(problem).__name__)
    if defer_if_transient(context.error):
        logger.warning("update will be tried again: %s", type(context.error).__name__)
        raise ApplicationHandlerStop
    if context.error is not None:
        logger.error("update handling failed: %s", describe(context.error))
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(update.effective_chat.id, t.SOMETHING_WENT_WRONG)
        except Exception:  # the apology itself may fail (e.g. Telegram is down): log only
            logger.warning("could not send the apology")
    raise ApplicationHandlerStop  # the session was rolled back: later handlers must not run
