"""What a client shares with a clinician: invites, shares, suggestions, the audit log of reads,
and the rows a clinician may read (only from the live share, from the moment of consent on)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.cues import at_local, local_now
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


async def replace_invite(
    session: AsyncSession, clinician_id: int, code_hash: str, expires_at: datetime
) -> None:
    """A clinician has at most one unused invite: a new one replaces it."""
    await session.execute(
        delete(Invite).where(Invite.clinician_id == clinician_id, Invite.used_by.is_(None))
    )
    session.add(Invite(code_hash=code_hash, clinician_id=clinician_id, expires_at=expires_at))


def _usable(*where: Any) -> Any:
    return and_(*where, Invite.used_by.is_(None), Invite.expires_at > utcnow())


async def usable_invite(session: AsyncSession, hashes: Sequence[str]) -> Invite | None:
    """The unused, unexpired invite a typed code names (any of its keyed hashes)."""
    if not hashes:
        return None
    return await session.scalar(select(Invite).where(_usable(Invite.code_hash.in_(hashes))))


async def take_invite(session: AsyncSession, invite_id: int, client_id: int) -> int | None:
    """Redeem an invite at most once: one conditional update, so of two at once one wins."""
    # The invite's clinician, or None if it was taken or expired meanwhile.
    return await session.scalar(
        update(Invite)
        .where(_usable(Invite.id == invite_id))
        .values(used_by=client_id, used_at=utcnow())
        .returning(Invite.clinician_id)
    )


def start_share(
    session: AsyncSession, client_id: int, clinician_id: int, consent_version: str
) -> None:
    """The client's consent to share with this clinician, with the wording's version."""
    session.add(
        Share(client_id=client_id, clinician_id=clinician_id, consent_version=consent_version)
    )


async def live_shares(
    session: AsyncSession, *, client_id: int | None = None, clinician_id: int | None = None
) -> list[Share]:
    """Shares not stopped, oldest first: a client's, a clinician's, or one pair's."""
    query = select(Share).where(Share.stopped_at.is_(None)).order_by(Share.id)
    if client_id is not None:
        query = query.where(Share.client_id == client_id)
    if clinician_id is not None:
        query = query.where(Share.clinician_id == clinician_id)
    return list((await session.scalars(query)).all())


async def clients_of(session: AsyncSession, clinician_id: int) -> list[User]:
    """The clients sharing with a clinician, in sharing order (so numbers stay the same)."""
    shares = await live_shares(session, clinician_id=clinician_id)
    clients = [await session.get(User, s.client_id) for s in shares]
    return [c for c in clients if c is not None]


async def last_look(session: AsyncSession, clinician_id: int, client_id: int) -> datetime | None:
    """When this clinician last read this client's data (shown to the client in /sharing)."""
    return await session.scalar(
        select(AuditEntry.at)
        .where(
            AuditEntry.actor_id == clinician_id,
            AuditEntry.subject_id == client_id,
            AuditEntry.allowed.is_(True),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )


def record_reads(
    session: AsyncSession,
    actor_id: int,
    subject_ids: Sequence[int | None],
    action: str,
    allowed: bool,
) -> None:
    """Every read of a client's data by a clinician, allowed or refused, goes in the audit log."""
    session.add_all(
        AuditEntry(actor_id=actor_id, subject_id=subject, action=action, allowed=allowed)
        for subject in subject_ids
    )


async def offer_suggestion(
    session: AsyncSession, clinician_id: int, client_id: int, text: str
) -> Suggestion:
    """A clinician's suggested practice, stored (with its id) before it is offered."""
    suggestion = Suggestion(clinician_id=clinician_id, client_id=client_id, text=text)
    session.add(suggestion)
    await session.flush()
    return suggestion


async def withdraw_suggestion(session: AsyncSession, suggestion: Suggestion) -> None:
    """A suggestion that could not reach the client is not kept as if offered."""
    await session.delete(suggestion)


@dataclass(frozen=True)
class Period:
    """A stretch of time a client shared with a clinician: [start, end)."""

    start: datetime
    end: datetime
    crisis: bool  # the consent given then covered crisis-word messages


async def visible_periods(
    session: AsyncSession, clinician_id: int, client_id: int, crisis_since: str
) -> list[Period]:
    """The times a clinician may read a client in: the live share, from the consent on."""
    # The preview says "from today on": nothing from before, nothing from a gap when sharing
    # was stopped, nothing from an earlier share the client ended (stopping is a withdrawal).
    # Every clinician read goes through `visible`, which bounds by these. A share whose
    # consent version is `crisis_since` or later covers crisis-word messages.
    now = utcnow()
    shares = await session.scalars(
        select(Share).where(
            Share.clinician_id == clinician_id,
            Share.client_id == client_id,
            Share.stopped_at.is_(None),
        )
    )
    return [
        Period(s.started_at, s.stopped_at or now, s.consent_version >= crisis_since)
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


@dataclass
class VisiblePractice:
    """One practice as a clinician may see it: reports from `before` on (the earlier window is
    for comparison), the local dates it was nudged in the window, and its changes."""

    practice: Practice
    reports: list[Report]
    nudged: list[date]
    changes: list[Adjustment]


@dataclass
class Visible:
    """Everything a clinician may read of one client in [since, until] (local dates)."""

    since: date
    until: date
    practices: list[VisiblePractice]
    thought_records: list[ThoughtRecord]
    voice_notes: list[TranscriptionJob]
    crisis_flags: list[SafetyFlag]
    last_report: date | None


async def visible(
    session: AsyncSession,
    clinician_id: int,
    client: User,
    since: date,
    until: date,
    *,
    crisis_since: str,
) -> Visible:
    """All a clinician may read of a client in [since, until]: the one bound on every read."""
    # Local dates in the client's zone; only what the client wrote while sharing with them
    # (`visible_periods`), and crisis-word messages only where that consent covered them.
    periods = await visible_periods(session, clinician_id, client.id, crisis_since)
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
    seen = []
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
        seen.append(VisiblePractice(practice, list(reports), list(nudged), list(changes)))
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
    return Visible(since, until, seen, list(records), list(notes), flags, last)
