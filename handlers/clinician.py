"""The clinician's side: registration, invites, the client's consent, `/summary`, `/export`.

Every read of a client's data by a clinician, allowed or refused, is written to the audit log.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import Forbidden

from bot.logs import describe
from bot.messages import split_message
from bot.rules import summary
from bot.texts import en as t
from handlers import design
from handlers import thought as thought_steps
from handlers.common import Turn, local_today
from handlers.practices import card
from scheduler.cues import at_local, local_now
from storage import codes
from storage.models import (
    Adjustment,
    AuditEntry,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Invite,
    JobStatus,
    Practice,
    PracticeStatus,
    Report,
    SafetyFlag,
    Share,
    Suggestion,
    ThoughtRecord,
    TranscriptionJob,
    User,
    utcnow,
)

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

    matched = await codes.guarded(turn.session, codes.Kind.CLINICIAN, turn.user_id, check)
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
    if not user.is_clinician:
        await turn.say(t.CLINICIAN_ONLY)
        return
    await turn.session.execute(
        delete(Invite).where(Invite.clinician_id == user.id, Invite.used_by.is_(None))
    )
    code = codes.new_code()
    expires = utcnow() + timedelta(days=INVITE_DAYS)
    [code_hash, *_] = codes.code_hashes(turn.session, code)
    turn.session.add(Invite(code_hash=code_hash, clinician_id=user.id, expires_at=expires))
    await turn.say(t.INVITE_CODE.format(code=code, until=expires.strftime("%-d %b")))


def _usable(*where: Any) -> Any:
    return and_(*where, Invite.used_by.is_(None), Invite.expires_at > utcnow())


async def link(turn: Turn, args: list[str]) -> None:
    """`/link CODE`: show the client exactly what would be shared, then ask."""
    if not args:
        await turn.say(t.LINK_USAGE)
        return
    hashes = codes.code_hashes(turn.session, " ".join(args))

    async def lookup() -> Invite | None:
        query = select(Invite).where(_usable(Invite.code_hash.in_(hashes)))
        return await turn.session.scalar(query) if hashes else None

    found = await codes.guarded(turn.session, codes.Kind.CODE, turn.user_id, lookup)
    if found is codes.LOCKED:
        await turn.say(t.CODE_TOO_MANY)
        return
    if found is None:
        await turn.say(t.LINK_UNKNOWN)
        return
    clinician = await turn.session.get(User, found.clinician_id)
    name = clinician.first_name if clinician else "Your clinician"
    rows = [[(t.LINK_YES, ("k", found.id, "yes")), (t.LINK_NO, ("k", found.id, "no"))]]
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
    if await _shares(turn.session, client_id=turn.user_id, clinician_id=found.clinician_id):
        await turn.say(t.ALREADY_SHARING.format(name=name))  # one live share per pair
        return
    taken = await turn.session.scalar(
        update(Invite)
        .where(_usable(Invite.id == found.id))
        .values(used_by=turn.user_id, used_at=utcnow())
        .returning(Invite.clinician_id)
    )
    if taken is None:
        await turn.say(t.LINK_UNKNOWN)
        return
    turn.session.add(
        Share(
            client_id=turn.user_id,
            clinician_id=taken,
            consent_version=t.SHARE_CONSENT_VERSION,
        )
    )
    await turn.say(t.LINKED.format(name=name))


async def sharing(turn: Turn) -> None:
    """`/sharing`: whom the client shares with, when they last looked, and a stop button."""
    shares = await _shares(turn.session, client_id=turn.user_id)
    if not shares:
        await turn.say(t.SHARING_NONE)
        return
    for share in shares:
        clinician = await turn.session.get(User, share.clinician_id)
        looked = await turn.session.scalar(
            select(AuditEntry.at)
            .where(
                AuditEntry.actor_id == share.clinician_id,
                AuditEntry.subject_id == turn.user_id,
                AuditEntry.allowed.is_(True),
            )
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        lines = [
            t.SHARING_WITH.format(
                name=clinician.first_name if clinician else "", since=share.started_at.date()
            ),
            t.SHARING_LOOKS.format(when=f"{looked:%-d %b %H:%M} UTC")
            if looked
            else t.SHARING_NEVER_LOOKED,
        ]
        await turn.say("\n".join(lines), [[(t.SHARING_STOP, ("x", share.id))]])


async def stop_sharing(turn: Turn, share_id: str) -> None:
    share = await turn.session.get(Share, int(share_id)) if share_id.isdigit() else None
    if share is None or share.client_id != turn.user_id or share.stopped_at is not None:
        await turn.say(t.STALE_BUTTON_SHORT)
        return
    share.stopped_at = utcnow()
    clinician = await turn.session.get(User, share.clinician_id)
    await turn.say(t.SHARING_STOPPED.format(name=clinician.first_name if clinician else ""))


async def _shares(
    session: AsyncSession, *, client_id: int | None = None, clinician_id: int | None = None
) -> list[Share]:
    query = select(Share).where(Share.stopped_at.is_(None)).order_by(Share.id)
    if client_id is not None:
        query = query.where(Share.client_id == client_id)
    if clinician_id is not None:
        query = query.where(Share.clinician_id == clinician_id)
    return list((await session.scalars(query)).all())


async def _audit(
    turn: Turn, subject_ids: Sequence[int | None], action: str, allowed: bool = True
) -> None:
    """Record a clinician's read (or its refusal) before anything is shown, and commit it at
    once with what the update did so far: a reply that fails afterwards rolls back only what
    came later (handlers/router.py:error), never the record of the read. (Not a session of its
    own: on SQLite it would wait for this update's write lock.)"""
    turn.session.add_all(
        AuditEntry(actor_id=turn.user_id, subject_id=subject, action=action, allowed=allowed)
        for subject in subject_ids
    )
    await turn.session.commit()
    if not allowed:
        logger.warning("refused %s (recorded in the audit log)", action)


@dataclass(frozen=True)
class Period:
    """A stretch of time a client shared with a clinician: [start, end)."""

    start: datetime
    end: datetime
    crisis: bool  # the consent given then covered crisis-word messages


async def visible_periods(
    session: AsyncSession, clinician_id: int, client_id: int
) -> list[Period]:
    """What a clinician may read of a client, as times: the live share, from the moment the
    client agreed (the preview says "from today on"). Nothing from before, nothing from a gap
    when sharing was stopped, and nothing from an earlier share the client ended: stopping is
    a withdrawal. Every clinician read goes through `gather`, which bounds by these."""
    now = utcnow()
    shares = await session.scalars(
        select(Share).where(
            Share.clinician_id == clinician_id,
            Share.client_id == client_id,
            Share.stopped_at.is_(None),
        )
    )
    return [
        Period(s.started_at, s.stopped_at or now, s.consent_version >= t.CRISIS_SHARED_SINCE)
        for s in shares
    ]


def _inside(
    column: Any,
    periods: Sequence[Period],
    start: datetime | None = None,
    end: datetime | None = None,
) -> ColumnElement[bool]:
    """`column` (a moment) inside one of the periods, and inside [start, end) when given."""
    spans = [
        (max(p.start, start) if start else p.start, min(p.end, end) if end else p.end)
        for p in periods
    ]
    return or_(false(), *(and_(column >= a, column < b) for a, b in spans if a < b))


def _moment_inside(
    moment: datetime, periods: Sequence[Period], start: datetime, end: datetime
) -> bool:
    """`_inside` for a moment already read (from an encrypted column)."""
    return start <= moment < end and any(p.start <= moment < p.end for p in periods)


async def gather(
    session: AsyncSession, client: User, clinician_id: int, since: date, until: date
) -> summary.ClientFacts:
    """Collect what this clinician may see about one client in [since, until], local dates in
    the client's zone: only what the client wrote while sharing with them (`visible_periods`),
    and crisis-word messages only where that consent covered them."""
    periods = await visible_periods(session, clinician_id, client.id)
    zone = client.timezone or "UTC"
    if periods:
        since = min(max(since, local_now(zone, periods[0].start).date()), until)
    start = at_local(since, time(0), zone)
    end = at_local(until + timedelta(days=1), time(0), zone)
    length = (until - since).days + 1
    before = since - timedelta(days=length)
    first_seen = periods[0].start if periods else end
    practices = (
        await session.scalars(
            select(Practice)
            .where(
                Practice.user_id == client.id,
                or_(Practice.status != PracticeStatus.REMOVED, Practice.updated_at >= first_seen),
            )
            .order_by(Practice.id)
        )
    ).all()
    facts = []
    for practice in practices:
        reports = (
            await session.scalars(
                select(Report)
                .where(
                    Report.practice_id == practice.id,
                    Report.local_date >= before,
                    Report.local_date <= until,
                    _inside(Report.created_at, periods),
                )
                .order_by(Report.id)
            )
        ).all()
        nudged = (
            await session.scalars(
                select(Delivery.local_date).where(
                    Delivery.practice_id == practice.id,
                    Delivery.kind == DeliveryKind.NUDGE,
                    Delivery.status == DeliveryStatus.SENT,
                    Delivery.local_date >= since,
                    Delivery.local_date <= until,
                    _inside(Delivery.sent_at, periods),
                )
            )
        ).all()
        changes = (
            await session.scalars(
                select(Adjustment)
                .where(
                    Adjustment.practice_id == practice.id,
                    _inside(Adjustment.created_at, periods, start, end),
                )
                .order_by(Adjustment.id)
            )
        ).all()
        current = [r for r in reports if r.local_date >= since]
        fact = summary.PracticeFacts(
            card=card(practice),
            talk_over=practice.talk_over,
            planned=len(nudged),
            counts=Counter(r.outcome.value for r in current),
            previous=Counter(r.outcome.value for r in reports if r.local_date < since),
            obstacles=Counter(r.obstacle.value for r in current if r.obstacle),
            adjustments=[_describe_change(c, reports) for c in changes],
            reflections=[r.reflection for r in current if r.reflection]
            + [r.obstacle_note for r in current if r.obstacle_note],
        )
        reported_days = {r.local_date for r in current}
        fact.days = [summary.DayMark(r.local_date, r.outcome.value) for r in current] + [
            summary.DayMark(day, None) for day in set(nudged) - reported_days
        ]
        facts.append(fact)
    records = (
        await session.scalars(
            select(ThoughtRecord)
            .where(
                ThoughtRecord.user_id == client.id,
                _inside(ThoughtRecord.created_at, periods, start, end),
            )
            .order_by(ThoughtRecord.id)
        )
    ).all()
    # Voice notes given as an answer in a flow (the preview names them: "with voice
    # transcripts"); a journal note sent outside any flow stays the client's own.
    notes = (
        await session.scalars(
            select(TranscriptionJob)
            .where(
                TranscriptionJob.user_id == client.id,
                TranscriptionJob.status == JobStatus.DONE,
                TranscriptionJob.flow.is_not(None),
                _inside(TranscriptionJob.created_at, periods, start, end),
            )
            .order_by(TranscriptionJob.id)
        )
    ).all()
    crisis_periods = [p for p in periods if p.crisis]
    # A flag's moment is encrypted at rest: the window is applied here, not in SQL.
    flags = [
        flag
        for flag in (
            await session.scalars(
                select(SafetyFlag).where(SafetyFlag.user_id == client.id).order_by(SafetyFlag.id)
            )
        ).all()
        if _moment_inside(flag.at, crisis_periods, start, end)
    ]
    last = await session.scalar(
        select(Report.local_date)
        .join(Practice, Practice.id == Report.practice_id)
        .where(Practice.user_id == client.id, _inside(Report.created_at, periods))
        .order_by(Report.local_date.desc())
        .limit(1)
    )
    return summary.ClientFacts(
        name=client.first_name,
        since=since,
        until=until,
        practices=facts,
        thought_records=[
            t.thought_card(**{step: getattr(r, step) for step in thought_steps.ORDER})
            for r in records
        ],
        voice_notes=[n.words for n in notes if n.words],
        last_report=last,
        crisis=[
            t.SUMMARY_CRISIS_ITEM.format(
                day=local_now(zone, flag.at).strftime("%a %d %b %H:%M"),
                source=t.CRISIS_SOURCES.get(flag.source, flag.source),
                words=flag.words,
            )
            for flag in flags
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
    shares = await _shares(turn.session, clinician_id=turn.user_id)
    clients = [await turn.session.get(User, s.client_id) for s in shares]
    return [c for c in clients if c is not None]


async def show_summary(turn: Turn, args: list[str]) -> None:
    """`/summary` lists clients by need; `/summary NAME_OR_NUMBER [days]` shows one."""
    user = await turn.user()
    if not user.is_clinician:
        await _audit(turn, [None], "summary", allowed=False)
        await turn.say(t.CLINICIAN_ONLY)
        return
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
    shares = await _shares(turn.session, clinician_id=turn.user_id, client_id=client.id)
    share = shares[0]
    today = local_today(client)
    since = today - timedelta(days=DEFAULT_DAYS - 1)
    days = int(args[1]) if len(args) > 1 and args[1].isdecimal() else None
    if days:
        since = today - timedelta(days=max(1, min(days, 90)) - 1)
    elif share.last_summary_at:
        since = min(local_now(client.timezone or "UTC", share.last_summary_at).date(), today)
    fact = await gather(turn.session, client, user.id, since, today)
    await _audit(turn, [client.id], "summary")
    share.last_summary_at = utcnow()
    for part in split_message(summary.render(fact)):
        await turn.say(part)
    chat = turn.update.effective_chat
    assert chat is not None
    try:
        # Drawn on a thread, outside any transaction (the audit commit ended it): every other
        # client's update goes on while matplotlib draws.
        picture = await asyncio.to_thread(summary.chart, fact)
        await turn.context.bot.send_photo(
            chat.id,
            InputFile(picture, filename="summary.png"),
            caption=t.CHART_CAPTION.format(name=client.first_name),
        )
    except Exception as error:  # the text was read and audited; the chart is a bonus
        logger.error("the summary chart could not be sent: %s", describe(error))


async def export(turn: Turn, args: list[str]) -> None:
    """`/export NAME_OR_NUMBER`: the same data as a CSV file."""
    user = await turn.user()
    clients = await _clients(turn) if user.is_clinician else []
    client = _pick(clients, args[0]) if args else None
    if client is None:
        await _audit(turn, [None], "export", allowed=False)
        await turn.say(t.SUMMARY_UNKNOWN_CLIENT if user.is_clinician else t.CLINICIAN_ONLY)
        return
    today = local_today(client)
    fact = await gather(turn.session, client, user.id, today - timedelta(days=89), today)
    await _audit(turn, [client.id], "export")
    chat = turn.update.effective_chat
    assert chat is not None
    await turn.context.bot.send_document(
        chat.id,
        InputFile(summary.to_csv(fact), filename=f"between-{client.id}.csv"),
        caption=t.EXPORT_CAPTION.format(name=client.first_name),
    )


def _pick(clients: list[User], key: str) -> User | None:
    """A client by their number in /summary (sharing order) or by first name."""
    if key.isdecimal() and 1 <= int(key) <= len(clients):  # isdigit() takes "²", int() not
        return clients[int(key) - 1]
    matches = [c for c in clients if c.first_name.lower() == key.lower()]
    return matches[0] if len(matches) == 1 else None


async def suggest(turn: Turn, args: list[str]) -> None:
    """`/suggest NUMBER_OR_NAME practice`: offer a linked client a practice to shape."""
    user = await turn.user()
    if not user.is_clinician:
        await turn.say(t.CLINICIAN_ONLY)
        return
    text = " ".join(args[1:]).strip()
    client = _pick(await _clients(turn), args[0]) if args else None
    if client is None or not text or len(text) > 300:
        await turn.say(t.SUGGEST_USAGE if client or not args else t.SUMMARY_UNKNOWN_CLIENT)
        return
    suggestion = Suggestion(clinician_id=user.id, client_id=client.id, text=text)
    turn.session.add(suggestion)
    await turn.session.flush()
    signer = turn.context.services.signer
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label, callback_data=signer.pack(client.id, "g", suggestion.id, answer)
                )
                for label, answer in ((t.SUGGESTION_YES, "yes"), (t.SUGGESTION_NO, "no"))
            ]
        ]
    )
    try:
        await turn.context.bot.send_message(
            client.id, t.SUGGESTION.format(name=user.first_name, text=text), reply_markup=buttons
        )
    except Forbidden:  # the client stopped the bot: nothing is offered, and the clinician knows
        await turn.session.delete(suggestion)
        await turn.say(t.SUGGESTION_UNDELIVERED.format(name=client.first_name))
        return
    await turn.say(t.SUGGESTION_SENT.format(name=client.first_name))


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
    try:
        await turn.context.bot.send_message(
            suggestion.clinician_id,
            t.SUGGESTION_DECLINED_NOTE.format(name=client.first_name, text=suggestion.text),
        )
    except Forbidden:  # the clinician stopped the bot; the answer is stored for them
        logger.info("a declined suggestion could not be passed on")
