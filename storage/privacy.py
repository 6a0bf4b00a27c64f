"""Everything stored about one person: gathered for `/mydata`, erased for `/forget`.

Both walk the same tables. A person appears in a row as its user, client, clinician, supporter,
actor, subject or chat (the inbox), or through a practice of theirs (reports, adjustments,
deliveries). A table not named here whose rows point at users.id is gathered and erased whole
by that foreign key. `tests/test_privacy.py` checks every table in the metadata, so a new table
that refers to people in another way fails the tests until it is handled here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, and_, delete, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from storage.models import (
    Adjustment,
    AuditEntry,
    Base,
    Conversation,
    Delivery,
    InboxUpdate,
    Invite,
    JobStatus,
    OutboxMessage,
    Practice,
    Report,
    Share,
    Suggestion,
    Supporter,
    ThoughtRecord,
    TranscriptionJob,
    User,
    utcnow,
)

# The audit log's reader for reads by someone who has since erased themselves.
FORMER_READER = 0

# Transcription job columns that are plumbing, not anything the client said or chose.
JOB_INTERNALS = (
    "user_id",
    "file_id",
    "audio_path",
    "lease_until",
    "attempts",
    "reply_message_id",
    "replied",
)


def plain(value: Any) -> Any:
    """A stored value as JSON: datetimes, dates and times in ISO 8601, enums as their value."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def row_dict(row: Base, omit: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every column of a row (so a column added later is exported too), minus `omit`."""
    return {
        attr.key: plain(getattr(row, attr.key))
        for attr in inspect(row).mapper.column_attrs
        if attr.key not in omit
    }


class _People:
    """Other people named in someone's data, by role and first name only: never their
    Telegram id, which is theirs to give. The person themselves is "you"."""

    def __init__(self, session: AsyncSession, user_id: int) -> None:
        self._session = session
        self._user_id = user_id
        self._names: dict[int, str | None] = {}

    async def __call__(self, other_id: int | None, role: str) -> dict[str, Any] | str | None:
        if other_id is None:
            return None
        if other_id == self._user_id:
            return "you"
        if other_id not in self._names:
            self._names[other_id] = await self._session.scalar(
                select(User.first_name).where(User.id == other_id)
            )
        name = self._names[other_id]
        return {"role": role} if name is None else {"role": role, "first_name": name}


def without_others(payload: Any, user_id: int) -> Any:
    """A stored Telegram update with other people's ids and usernames left out (a group
    message names its sender, say); their first names stay."""
    if isinstance(payload, dict):
        other = payload.get("id") != user_id and ("is_bot" in payload or "first_name" in payload)
        return {
            key: without_others(value, user_id)
            for key, value in payload.items()
            if not (other and key in ("id", "username"))
        }
    if isinstance(payload, list):
        return [without_others(value, user_id) for value in payload]
    return payload


# Tables gathered and erased one by one below; any other table whose rows belong to a person
# through a foreign key to users.id (a table added later, say) is gathered and erased whole.
# `code_attempts` holds nobody's id, only a keyed hash of who tried a wrong code: it is left
# by erasure on purpose (so /forget cannot reset the limit) and its rows go after a day.
HANDLED = frozenset(
    {
        "users",
        "conversations",
        "practices",
        "reports",
        "adjustments",
        "deliveries",
        "thought_records",
        "transcription_jobs",
        "shares",
        "invites",
        "suggestions",
        "supporters",
        "audit_log",
        "inbox",
    }
)


def owned_tables() -> list[tuple[Table, list[Column[Any]]]]:
    """Tables not handled by name whose rows name a person by a foreign key to users.id."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [
            column
            for column in table.columns
            if any(fk.column.table.name == "users" for fk in column.foreign_keys)
        ]
        if table.name not in HANDLED and columns:
            found.append((table, columns))
    return found


async def _all(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.scalars(query)).all())


def names_person(payload: Any, user_id: int) -> bool:
    """Whether a raw Telegram update names the person (as a user, or as their private chat)."""
    if isinstance(payload, dict):
        if payload.get("id") == user_id and ("is_bot" in payload or "first_name" in payload):
            return True
        return any(names_person(value, user_id) for value in payload.values())
    if isinstance(payload, list):
        return any(names_person(value, user_id) for value in payload)
    return False


async def _inbox_elsewhere(session: AsyncSession, user_id: int) -> list[InboxUpdate]:
    """Stored updates from outside their private chat that name them (e.g. from a group)."""
    rows = await _all(
        session,
        select(InboxUpdate)
        .where(or_(InboxUpdate.chat_id < 0, InboxUpdate.chat_id.is_(None)))
        .order_by(InboxUpdate.update_id),
    )
    return [row for row in rows if names_person(row.payload, user_id)]


def _rows_about(user_id: int) -> dict[type[Base], Any]:
    """Where rows of these tables are about the person; gathered and erased alike, children
    before parents (the order erasure deletes them in)."""
    practice_ids = select(Practice.id).where(Practice.user_id == user_id)
    return {
        Delivery: or_(Delivery.user_id == user_id, Delivery.practice_id.in_(practice_ids)),
        Report: Report.practice_id.in_(practice_ids),
        Adjustment: Adjustment.practice_id.in_(practice_ids),
        Practice: Practice.user_id == user_id,
        ThoughtRecord: ThoughtRecord.user_id == user_id,
        TranscriptionJob: TranscriptionJob.user_id == user_id,
        # An invite they used goes too (clearing `used_by` would make the code usable again).
        Invite: or_(Invite.clinician_id == user_id, Invite.used_by == user_id),
        Share: or_(Share.client_id == user_id, Share.clinician_id == user_id),
        Suggestion: or_(Suggestion.client_id == user_id, Suggestion.clinician_id == user_id),
    }


async def export_user(
    session: AsyncSession, user_id: int, *, skip_update_id: int | None = None
) -> dict[str, Any]:
    """Every row about the person, as JSON-ready data (`skip_update_id`: the request itself)."""
    person = _People(session, user_id)
    user = await session.get(User, user_id)
    conversation = await session.get(Conversation, user_id)
    about = _rows_about(user_id)
    # The rest by their primary key.
    ordered: dict[type[Base], QueryableAttribute[Any]] = {Invite: Invite.created_at}
    found = {
        model: await _all(
            session,
            select(model).where(where).order_by(ordered.get(model, inspect(model).primary_key[0])),
        )
        for model, where in about.items()
    }
    practices, reports, adjustments = found[Practice], found[Report], found[Adjustment]
    deliveries, records, jobs = found[Delivery], found[ThoughtRecord], found[TranscriptionJob]
    shares, invites, suggestions = found[Share], found[Invite], found[Suggestion]
    supporters = await _all(
        session,
        select(Supporter)
        .where(or_(Supporter.client_id == user_id, Supporter.supporter_id == user_id))
        .order_by(Supporter.id),
    )
    audit = await _all(
        session,
        select(AuditEntry)
        .where(or_(AuditEntry.subject_id == user_id, AuditEntry.actor_id == user_id))
        .order_by(AuditEntry.id),
    )
    inbox_query = select(InboxUpdate).where(InboxUpdate.chat_id == user_id)
    if skip_update_id is not None:
        inbox_query = inbox_query.where(InboxUpdate.update_id != skip_update_id)
    inbox = await _all(session, inbox_query.order_by(InboxUpdate.update_id))
    inbox += await _inbox_elsewhere(session, user_id)
    others = {
        table.name: [
            {
                key: await person(value, key.removesuffix("_id"))
                if key in {c.name for c in columns} and value != user_id
                else plain(value)
                for key, value in row.items()
            }
            for row in (
                await session.execute(
                    select(table).where(or_(*(column == user_id for column in columns)))
                )
            ).mappings()
        ]
        for table, columns in owned_tables()
    }

    return {
        "telegram_user_id": user_id,
        "exported_at": plain(utcnow()),
        "user": row_dict(user) if user else None,
        "conversation": row_dict(conversation, ("user_id",)) if conversation else None,
        "practices": [row_dict(p, ("user_id",)) for p in practices],
        "reports": [row_dict(r) for r in reports],
        "adjustments": [row_dict(a) for a in adjustments],
        "deliveries": [row_dict(d, ("user_id",)) for d in deliveries],
        "thought_records": [row_dict(r, ("user_id",)) for r in records],
        "voice_notes": [
            {
                **row_dict(job, JOB_INTERNALS),
                "audio_kept_until_transcribed": bool(job.audio_path)
                and job.status in (JobStatus.PENDING, JobStatus.RUNNING),
            }
            for job in jobs
        ],
        "shares": [
            {
                **row_dict(s, ("client_id", "clinician_id")),
                "you_are": "client" if s.client_id == user_id else "clinician",
                "client": await person(s.client_id, "client"),
                "clinician": await person(s.clinician_id, "clinician"),
            }
            for s in shares
        ],
        "invites": [
            {
                **row_dict(i, ("clinician_id", "used_by")),
                "clinician": await person(i.clinician_id, "clinician"),
                "used_by": await person(i.used_by, "client"),
            }
            for i in invites
        ],
        "suggestions": [
            {
                **row_dict(s, ("client_id", "clinician_id")),
                "client": await person(s.client_id, "client"),
                "clinician": await person(s.clinician_id, "clinician"),
            }
            for s in suggestions
        ],
        "supporters": [
            {
                **row_dict(s, ("client_id", "supporter_id")),
                "client": await person(s.client_id, "client"),
                "supporter": await person(s.supporter_id, "supporter"),
            }
            for s in supporters
        ],
        "audit_log": [
            {
                **row_dict(a, ("actor_id", "subject_id")),
                "actor": await person(a.actor_id, "clinician"),
                "subject": await person(a.subject_id, "client"),
            }
            for a in audit
        ],
        "messages_received": [
            {**row_dict(u), "payload": without_others(u.payload, user_id)} for u in inbox
        ],
        **others,
    }


def has_data(export: dict[str, Any]) -> bool:
    """Whether an export holds anything at all about the person."""
    return any(
        value for key, value in export.items() if key not in ("telegram_user_id", "exported_at")
    )


@dataclass
class ErasedCounts:
    """How many rows went from each table, and the audio files to delete after the commit."""

    rows: dict[str, int] = field(default_factory=dict)
    detached: int = 0  # supporter links where they were someone's supporter
    audio_files: list[Path] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.rows.values()) + self.detached


def _audio_files(jobs: list[tuple[int, str | None]], audio_dir: Path) -> list[Path]:
    """The jobs' audio (where the voice handler or a worker put it), only inside `audio_dir`."""
    folder = audio_dir.resolve()
    candidates = [Path(path) for _, path in jobs if path]
    candidates += [audio_dir / f"job-{job_id}.audio" for job_id, _ in jobs]
    return sorted({p for p in candidates if p.resolve().parent == folder})


def _blank_inbox_row(update_id: int) -> dict[str, Any]:
    """Everything an inbox row may lose (chat, payload, anything added later) but its key."""
    columns = InboxUpdate.__table__.columns
    blank: dict[str, Any] = {c.name: None for c in columns if c.nullable and not c.primary_key}
    if not columns["payload"].nullable:
        blank["payload"] = {"update_id": update_id}
    return blank


async def erase_user(
    session: AsyncSession,
    user_id: int,
    audio_dir: Path,
    *,
    handling_update_id: int | None = None,
) -> ErasedCounts:
    """Delete every row about the person, in the caller's transaction.

    The update being handled (`handling_update_id`) keeps its inbox row, so ingest can mark it
    handled, but no longer names the chat or holds the update. Later updates of the chat are
    new messages from a new stranger and are left to be handled. Delete `audio_files` only after
    the commit (if it rolled back, the jobs would still need them).
    """
    counts = ErasedCounts()
    await session.flush()  # what this update added before is erased too

    async def gone(model: type[Base], *where: Any) -> None:
        result: Any = await session.execute(
            delete(model).where(*where).execution_options(synchronize_session=False)
        )
        counts.rows[model.__tablename__] = result.rowcount or 0

    jobs = (
        await session.execute(
            select(TranscriptionJob.id, TranscriptionJob.audio_path).where(
                TranscriptionJob.user_id == user_id
            )
        )
    ).all()
    counts.audio_files = _audio_files([(j, p) for j, p in jobs], audio_dir)

    # Children before parents, so foreign keys hold at every statement.
    for model, where in _rows_about(user_id).items():
        await gone(model, where)
    await gone(Supporter, Supporter.client_id == user_id)
    # Replies to them not sent yet, but this update's own (its answer comes after the erasure).
    await gone(
        OutboxMessage,
        OutboxMessage.chat_id == user_id,
        or_(OutboxMessage.update_id.is_(None), OutboxMessage.update_id != handling_update_id),
    )
    # Where they supported someone, the link stays the client's, ended and without them.
    await session.execute(
        update(Supporter)
        .where(Supporter.supporter_id == user_id, Supporter.removed_at.is_(None))
        .values(removed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    detached: Any = await session.execute(
        update(Supporter)
        .where(Supporter.supporter_id == user_id)
        .values(supporter_id=None)
        .execution_options(synchronize_session=False)
    )
    counts.detached = detached.rowcount or 0
    # Their reads of other clients' data stay those clients' record, with the reader unnamed.
    await gone(
        AuditEntry,
        or_(
            AuditEntry.subject_id == user_id,
            and_(AuditEntry.actor_id == user_id, AuditEntry.subject_id.is_(None)),
        ),
    )
    await session.execute(
        update(AuditEntry)
        .where(AuditEntry.actor_id == user_id)
        .values(actor_id=FORMER_READER)
        .execution_options(synchronize_session=False)
    )
    await gone(Conversation, Conversation.user_id == user_id)
    earlier = [InboxUpdate.chat_id == user_id]
    if handling_update_id is not None:
        earlier.append(InboxUpdate.update_id < handling_update_id)
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == handling_update_id)
            .values(_blank_inbox_row(handling_update_id))
            .execution_options(synchronize_session=False)
        )
    elsewhere = [row.update_id for row in await _inbox_elsewhere(session, user_id)]
    await gone(InboxUpdate, or_(and_(*earlier), InboxUpdate.update_id.in_(elsewhere)))
    for table, columns in reversed(owned_tables()):
        removed: Any = await session.execute(
            delete(table).where(or_(*(column == user_id for column in columns)))
        )
        counts.rows[table.name] = removed.rowcount or 0
    await gone(User, User.id == user_id)
    session.expunge_all()  # nothing loaded earlier in this session may be written back
    return counts


def delete_files(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
