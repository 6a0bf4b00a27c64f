"""The clinician's side: registration, invites, the client's consent, `/summary`, `/export`.

Every read of a client's data by a clinician, allowed or refused, is written to the audit log.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Kind
from bot.logs import describe
from bot.messages import split_message
from bot.rules import summary
from bot.rules import week as week_rules
from bot.rules.thought import ThoughtStep
from bot.texts import t
from handlers import design, week
from handlers.common import Turn, local_today
from handlers.practices import card
from scheduler.cues import at_local, local_now
from storage import codes
from storage import sharing as sharing_db
from storage import week as week_db
from storage.models import Adjustment, Invite, Report, Share, Suggestion, User, utcnow

logger = logging.getLogger(__name__)

INVITE_DAYS = 7
DEFAULT_DAYS = 7


async def register(turn: Turn, args: list[str]) -> None:
    """`/clinician CODE`: the operator's code makes this Telegram user a clinician."""
    user = await turn.user()
    expected = turn.context.services.settings.clinician_code
    if not expected:
        await turn.say(t.CLINICIAN_CLOSED)
        return

    async def check() -> bool | None:
        return hmac.compare_digest(" ".join(args).encode(), expected.encode()) or None

    matched = await codes.guarded(
        turn.session,
        codes.Kind.CLINICIAN,
        turn.user_id,
        check,
        turn.context.services.settings.clinician_code_tries_per_day,
    )
    if matched is codes.LOCKED:
        await turn.say(t.CLINICIAN_TOO_MANY)
        return
    if matched is None:
        await turn.say(t.CLINICIAN_WRONG_CODE)
        return
    user.is_clinician = True
    await turn.say(t.CLINICIAN_WELCOME)


async def invite(turn: Turn) -> None:
    """`/invite`: a one-time code for a client, valid for a week; it replaces an unused one."""
    user = await turn.user()
    code = codes.new_code()
    expires = utcnow() + timedelta(days=INVITE_DAYS)
    [code_hash, *_] = codes.code_hashes(turn.session, code)
    await sharing_db.replace_invite(turn.session, user.id, code_hash, expires)
    await turn.say(t.INVITE_CODE.format(code=code, until=t.day(expires)))


async def link(turn: Turn, args: list[str]) -> None:
    """`/link CODE`: show the client exactly what would be shared, then ask."""
    if not args:
        await turn.say(t.LINK_USAGE)
        return
    hashes = codes.code_hashes(turn.session, " ".join(args))

    async def lookup() -> Invite | None:
        return await sharing_db.usable_invite(turn.session, hashes)

    found = await codes.guarded(
        turn.session,
        codes.Kind.CODE,
        turn.user_id,
        lookup,
        turn.context.services.settings.code_tries_per_hour,
    )
    if found is codes.LOCKED:
        await turn.say(t.CODE_TOO_MANY)
        return
    if found is None:
        await turn.say(t.LINK_UNKNOWN)
        return
    clinician = await turn.session.get(User, found.clinician_id)
    name = clinician.first_name if clinician else "Your clinician"
    rows = [
        [
            (t.LINK_YES, (Kind.SHARE_CONSENT, found.id, "yes")),
            (t.LINK_NO, (Kind.SHARE_CONSENT, found.id, "no")),
        ]
    ]
    await turn.say(t.LINK_PREVIEW.format(name=name), rows)


async def on_link_answer(turn: Turn, invite_id: str, answer: str) -> None:
    """`k:<invite>:yes|no`: the client's consent, stored with its version and time.

    The invite is taken in one conditional update, so of two people redeeming it at the same
    moment only one gets it."""
    if answer != "yes":
        await turn.say(t.LINK_DECLINED)
        return
    await turn.user()
    found = await turn.session.get(Invite, int(invite_id)) if invite_id.isdecimal() else None
    if found is None or found.clinician_id == turn.user_id:
        await turn.say(t.LINK_UNKNOWN)
        return
    clinician = await turn.session.get(User, found.clinician_id)
    name = clinician.first_name if clinician else ""
    if await sharing_db.live_shares(
        turn.session, client_id=turn.user_id, clinician_id=found.clinician_id
    ):
        await turn.say(t.ALREADY_SHARING.format(name=name))  # one live share per pair
        return
    taken = await sharing_db.take_invite(turn.session, found.id, turn.user_id)
    if taken is None:
        await turn.say(t.LINK_UNKNOWN)
        return
    sharing_db.start_share(turn.session, turn.user_id, taken, t.SHARE_CONSENT_VERSION)
    await turn.say(t.LINKED.format(name=name))


async def sharing(turn: Turn) -> None:
    """`/sharing`: whom the client shares with, when they last looked, and a stop button."""
    shares = await sharing_db.live_shares(turn.session, client_id=turn.user_id)
    if not shares:
        await turn.say(t.SHARING_NONE)
        return
    for share in shares:
        clinician = await turn.session.get(User, share.clinician_id)
        looked = await sharing_db.last_look(turn.session, share.clinician_id, turn.user_id)
        lines = [
            t.SHARING_WITH.format(
                name=clinician.first_name if clinician else "", since=share.started_at.date()
            ),
            t.SHARING_LOOKS.format(when=f"{looked:%-d %b %H:%M} UTC")
            if looked
            else t.SHARING_NEVER_LOOKED,
        ]
        await turn.say("\n".join(lines), [[(t.SHARING_STOP, (Kind.STOP_SHARING, share.id))]])


async def stop_sharing(turn: Turn, share_id: str) -> None:
    share = await turn.session.get(Share, int(share_id)) if share_id.isdigit() else None
    if share is None or share.client_id != turn.user_id or share.stopped_at is not None:
        await turn.say(t.STALE_BUTTON_SHORT)
        return
    share.stopped_at = utcnow()
    clinician = await turn.session.get(User, share.clinician_id)
    await turn.say(t.SHARING_STOPPED.format(name=clinician.first_name if clinician else ""))


async def _audit(
    turn: Turn, subject_ids: Sequence[int | None], action: str, allowed: bool = True
) -> None:
    """Record a clinician's read (or its refusal) before anything is shown, and commit it at
    once with what the update did so far: a reply that fails afterwards rolls back only what
    came later (handlers/router.py:error), never the record of the read. (Not a session of its
    own: on SQLite it would wait for this update's write lock.)"""
    sharing_db.record_reads(turn.session, turn.user_id, subject_ids, action, allowed)
    await turn.session.commit()
    if not allowed:
        logger.warning("refused %s (recorded in the audit log)", action)


async def refuse(turn: Turn, audited: str | None) -> None:
    """Someone who is not a clinician used a clinician's command; a read is audited first."""
    if audited is not None:
        await _audit(turn, [None], audited, allowed=False)
    await turn.say(t.CLINICIAN_ONLY)


async def gather(
    session: AsyncSession,
    client: User,
    clinician_id: int,
    since: date,
    until: date,
    *,
    since_session: bool = False,
) -> summary.ClientFacts:
    """What this clinician may see about one client in [since, until], ready to render."""
    seen = await sharing_db.visible(
        session, clinician_id, client, since, until, crisis_since=t.CRISIS_SHARED_SINCE
    )
    since = seen.since
    facts = []
    for item in seen.practices:
        reports, nudged, practice = item.reports, item.nudged, item.practice
        current = [r for r in reports if r.local_date >= since]
        fact = summary.PracticeFacts(
            card=card(practice),
            talk_over=practice.talk_over,
            planned=len(nudged),
            counts=Counter(r.outcome.value for r in current),
            previous=Counter(r.outcome.value for r in reports if r.local_date < since),
            obstacles=Counter(r.obstacle.value for r in current if r.obstacle),
            adjustments=[_describe_change(c, reports) for c in item.changes],
            reflections=[r.reflection for r in current if r.reflection]
            + [r.obstacle_note for r in current if r.obstacle_note],
        )
        reported_days = {r.local_date for r in current}
        fact.days = [
            summary.DayMark(r.local_date, r.outcome.value, r.rehearsal) for r in current
        ] + [summary.DayMark(day, None) for day in set(nudged) - reported_days]
        fact.noticing = practice.noticing
        fact.worth = [(r.local_date, r.worth) for r in current if r.worth]
        fact.faded = [
            local_now(client.timezone or "UTC", c.created_at).date()
            for c in item.changes
            if c.field == "reward" and c.reason == "fade"
        ]
        facts.append(fact)
    zone = client.timezone or "UTC"
    choices, marks = await week_db.shared_marks(
        session,
        clinician_id,
        client.id,
        at_local(since, time(0), zone),
        at_local(until + timedelta(days=1), time(0), zone),
        t.CRISIS_SHARED_SINCE,
    )
    _, upcoming = week_db.session_times(client, utcnow())
    return summary.ClientFacts(
        next_session=week_rules.describe_session(upcoming[0], zone) if upcoming else None,
        since_session=since_session,
        week_choices=[(local_now(zone, c.chosen_at).date(), c.choice) for c in choices],
        to_bring=[m.text for m in marks],
        name=client.first_name,
        since=since,
        until=until,
        practices=facts,
        thought_records=[
            t.thought_card(**{step.value: getattr(r, step) for step in ThoughtStep})
            for r in seen.thought_records
        ],
        voice_notes=[n.words for n in seen.voice_notes if n.words],
        last_report=seen.last_report,
        crisis=[
            t.SUMMARY_CRISIS_ITEM.format(
                day=t.day_and_clock(local_now(zone, flag.at)),
                source=t.CRISIS_SOURCES.get(flag.source, flag.source),
                words=flag.words,
            )
            for flag in seen.crisis_flags
        ],
    )


def _describe_change(change: Adjustment, reports: Sequence[Report]) -> str:
    """E.g. "read 10 minutes → read 5 minutes, after 3 × too big or too long"."""
    if change.reason in t.OBSTACLES:
        times = sum(
            1
            for r in reports
            if r.obstacle is not None
            and r.obstacle.value == change.reason
            and r.created_at <= change.created_at
        )
        reason = t.OBSTACLES[change.reason].lower()
        return t.CHANGE_AFTER.format(
            before=change.before, after=change.after, times=max(times, 1), reason=reason
        )
    label = t.CHANGE_REASONS.get(change.reason or "", change.reason or "")
    return t.CHANGE_BY.format(before=change.before, after=change.after, reason=label)


async def _clients(turn: Turn) -> list[User]:
    return await sharing_db.clients_of(turn.session, turn.user_id)


async def show_summary(turn: Turn, args: list[str]) -> None:
    """`/summary` lists clients by need; `/summary NAME_OR_NUMBER [days]` shows one."""
    user = await turn.user()
    clients = await _clients(turn)
    if not args:
        if not clients:
            await turn.say(t.SUMMARY_NO_CLIENTS)
            return
        facts = []
        for c in clients:
            today = local_today(c)
            since = today - timedelta(days=DEFAULT_DAYS - 1)
            facts.append(await gather(turn.session, c, user.id, since, today))
        # Numbers follow sharing order, so "/summary 2" always means the same client.
        numbered = list(enumerate(zip(clients, facts, strict=True), 1))
        numbered.sort(key=lambda item: -summary.attention(item[1][1], item[1][1].until))
        await _audit(turn, [c.id for c in clients], "summary_overview")
        lines = [t.SUMMARY_HEADER]
        lines += [summary.overview_line(n, fact, fact.until) for n, (_, fact) in numbered]
        await turn.say("\n".join(lines))
        return
    client = _pick(clients, args[0])
    if client is None:
        await _audit(turn, [None], "summary", allowed=False)
        await turn.say(t.SUMMARY_UNKNOWN_CLIENT)
        return
    shares = await sharing_db.live_shares(
        turn.session, clinician_id=turn.user_id, client_id=client.id
    )
    share = shares[0]
    today = local_today(client)
    since = today - timedelta(days=DEFAULT_DAYS - 1)
    days = int(args[1]) if len(args) > 1 and args[1].isdecimal() else None
    last_session = week.since_last_session(client, today, utcnow())
    if days:
        since = today - timedelta(days=max(1, min(days, 90)) - 1)
    elif last_session is not None:  # "since the last session", when one is known
        since = last_session
    elif share.last_summary_at:
        since = min(local_now(client.timezone or "UTC", share.last_summary_at).date(), today)
    since_session = not days and last_session is not None
    fact = await gather(turn.session, client, user.id, since, today, since_session=since_session)
    await _audit(turn, [client.id], "summary")
    share.last_summary_at = utcnow()
    for part in split_message(summary.render(fact)):
        await turn.say(part)
    try:
        # Drawn on a thread, outside any transaction (the audit commit ended it): every other
        # client's update goes on while matplotlib draws.
        picture = await asyncio.to_thread(summary.chart, fact)
        caption = t.CHART_CAPTION.format(name=client.first_name)
        turn.send_file(picture, "summary.png", caption, photo=True)  # after the text
    except Exception as error:  # the text was read and audited; the chart is a bonus
        logger.error("the summary chart could not be sent: %s", describe(error))


async def export(turn: Turn, args: list[str]) -> None:
    """`/export NAME_OR_NUMBER`: the same data as a CSV file."""
    user = await turn.user()
    clients = await _clients(turn)
    client = _pick(clients, args[0]) if args else None
    if client is None:
        await _audit(turn, [None], "export", allowed=False)
        await turn.say(t.SUMMARY_UNKNOWN_CLIENT)
        return
    today = local_today(client)
    fact = await gather(turn.session, client, user.id, today - timedelta(days=89), today)
    await _audit(turn, [client.id], "export")
    turn.send_file(
        summary.to_csv(fact),
        _export_name(clients, client, today),
        t.EXPORT_CAPTION.format(name=client.first_name),
    )


def _export_name(clients: list[User], client: User, today: date) -> str:
    """A file name a clinician can keep: the first name made file-name safe (letters and digits
    in runs joined by dashes), else the client's number in /summary, and the date; never an id."""
    name = "-".join(re.findall(r"[^\W_]+", client.first_name))[:40]
    return f"between-{name or clients.index(client) + 1}-{today.isoformat()}.csv"


def _pick(clients: list[User], key: str) -> User | None:
    """A client by their number in /summary (sharing order) or by first name."""
    if key.isdecimal() and 1 <= int(key) <= len(clients):  # isdigit() takes "²", int() not
        return clients[int(key) - 1]
    matches = [c for c in clients if c.first_name.lower() == key.lower()]
    return matches[0] if len(matches) == 1 else None


async def session_for(turn: Turn, args: list[str]) -> None:
    """`/session NUMBER_OR_NAME thursday 10:00`: note a linked client's next session."""
    await turn.user()
    client = _pick(await _clients(turn), args[0]) if args else None
    if client is None or len(args) < 2:
        await turn.say(t.SESSION_CLINICIAN_USAGE if client else t.SUMMARY_UNKNOWN_CLIENT)
        return
    await week.set_for_client(turn, client, args[1:])


async def suggest(turn: Turn, args: list[str]) -> None:
    """`/suggest NUMBER_OR_NAME practice`: offer a linked client a practice to shape."""
    user = await turn.user()
    text = " ".join(args[1:]).strip()
    client = _pick(await _clients(turn), args[0]) if args else None
    if client is None or not text or len(text) > 300:
        await turn.say(t.SUGGEST_USAGE if client or not args else t.SUMMARY_UNKNOWN_CLIENT)
        return
    suggestion = await sharing_db.offer_suggestion(turn.session, user.id, client.id, text)
    answers = [(t.SUGGESTION_YES, "yes"), (t.SUGGESTION_NO, "no")]
    row = [(label, (Kind.SUGGESTION, suggestion.id, answer)) for label, answer in answers]
    buttons = turn.keyboard([row], client.id)
    # The clinician hears once Telegram answered: sent (after the client's quiet hours), or,
    # if the client stopped the bot, not kept as offered.
    sent = {"tell": [turn.user_id, t.SUGGESTION_SENT.format(name=client.first_name)]}
    undelivered = t.SUGGESTION_UNDELIVERED.format(name=client.first_name)
    refused = {"tell": [turn.user_id, undelivered], "withdraw_suggestion": suggestion.id}
    text = t.SUGGESTION.format(name=user.first_name, text=text)
    turn.send(client.id, text, buttons, to=client, if_sent=sent, if_refused=refused)


async def on_suggestion(turn: Turn, suggestion_id: str, answer: str) -> None:
    """`g:<suggestion>:yes|no`: the client shapes the suggestion into a practice, or not."""
    suggestion = (
        await turn.session.get(Suggestion, int(suggestion_id))
        if suggestion_id.isdecimal()
        else None
    )
    if suggestion is None or suggestion.client_id != turn.user_id or suggestion.answer:
        await turn.say(t.STALE_BUTTON_SHORT)
        return
    if answer == "yes" and not await design.has_room(turn):
        return  # left unanswered: it can be taken up once there is room
    suggestion.answer = "accepted" if answer == "yes" else "declined"
    if answer == "yes":
        await design.start(turn, goal=suggestion.text)
        return
    await turn.say(t.SUGGESTION_DECLINED)
    client = await turn.user()
    # If the clinician stopped the bot, the answer is still stored for them.
    note = t.SUGGESTION_DECLINED_NOTE.format(name=client.first_name, text=suggestion.text)
    clinician = await turn.session.get(User, suggestion.clinician_id)
    turn.send(suggestion.clinician_id, note, to=clinician)
