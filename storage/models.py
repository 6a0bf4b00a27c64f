"""Typed SQLAlchemy models: the single source of truth for everything Between knows."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.rules.vocabulary import Obstacle, Outcome, PracticeStatus, QuietMode
from storage.crypto import (
    EncryptedChoice,
    EncryptedInteger,
    EncryptedJSON,
    EncryptedMoment,
    EncryptedText,
)

# The bot's clock runs this far ahead of real time: zero, except in `between sandbox`, whose time
# travel moves it forward (sandbox.run), so nudges, reports and "today" all agree.
_clock_ahead = timedelta()


def utcnow() -> datetime:
    """Return the bot's current time as an aware UTC datetime."""
    return datetime.now(UTC) + _clock_ahead


def move_clock_ahead(by: timedelta) -> None:
    """Run the bot's clock `by` ahead of real time (the sandbox's time travel only)."""
    global _clock_ahead
    _clock_ahead = by


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC and always read them back aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class DeliveryKind(enum.StrEnum):
    NUDGE = "nudge"
    CHECKIN = "checkin"
    SNOOZE = "snooze"
    WEEK = "week"  # the week's look back (no practice)
    BRING = "bring"  # the day before a session: anything to bring? (no practice)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"  # reported already, paused, inactive, or inside quiet hours
    EXPIRED = "expired"  # due longer ago than the grace window when we got to it: not sent
    BLOCKED = "blocked"  # the client blocked the bot


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"  # transcribed (or found to hold no words); the reply may still be due
    FAILED = "failed"  # could not be transcribed; `problem` says why, the client was told


class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class User(Base):
    """A Telegram user who has talked to the bot."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Whisper's code for the language voice notes are heard in (from Telegram's language_code
    # at first contact, or /language); None: detected from each note.
    language: Mapped[str | None] = mapped_column(String(8))
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    checkin_time: Mapped[time] = mapped_column(Time, default=time(20, 0))
    quiet_start: Mapped[time] = mapped_column(Time, default=time(22, 0))
    quiet_end: Mapped[time] = mapped_column(Time, default=time(7, 0))
    quiet_mode: Mapped[QuietMode] = mapped_column(_enum(QuietMode), default=QuietMode.DEFER)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_until: Mapped[date | None] = mapped_column(Date)
    is_clinician: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The week's look back: the day and time they chose (None: the evening before their next
    # session, else Sunday evening), and when it is next due, planned by the dispatcher.
    week_day: Mapped[str | None] = mapped_column(String(3))
    week_time: Mapped[time | None] = mapped_column(Time)
    next_week_at: Mapped[datetime | None] = mapped_column(index=True)
    # The next session (the first of them when weekly), and the day-before "anything to bring?".
    session_at: Mapped[datetime | None]
    session_weekly: Mapped[bool] = mapped_column(Boolean, default=False)
    next_bring_at: Mapped[datetime | None] = mapped_column(index=True)

    practices: Mapped[list[Practice]] = relationship(
        back_populates="user", order_by="Practice.id", cascade="all, delete-orphan"
    )


class Practice(Base):
    """A small practice tied to a cue, in the client's own words."""

    __tablename__ = "practices"
    __table_args__ = (Index("ix_practices_due", "status", "next_fire_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    goal: Mapped[str] = mapped_column(EncryptedText)
    step: Mapped[str] = mapped_column(EncryptedText)
    confidence: Mapped[int | None] = mapped_column(Integer)
    anchor: Mapped[str] = mapped_column(EncryptedText)
    days: Mapped[str] = mapped_column(String(64), default="*")
    cue_time: Mapped[time] = mapped_column(Time)
    if_then: Mapped[str | None] = mapped_column(EncryptedText)
    reward: Mapped[str | None] = mapped_column(EncryptedText)
    # What the client put in plain view where it happens, shown with the nudge.
    space: Mapped[str | None] = mapped_column(EncryptedText)
    # A practice of noticing ("notice when I start to avoid something"): "noticed it / not
    # this time" (stored as did / not today), no "what got in the way?" after a not.
    noticing: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[PracticeStatus] = mapped_column(
        _enum(PracticeStatus), default=PracticeStatus.ACTIVE
    )
    talk_over: Mapped[bool] = mapped_column(Boolean, default=False)
    next_fire_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="practices")


class Report(Base):
    """How a practice went on one day: every try counts, a skip is data."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome))
    obstacle: Mapped[Obstacle | None] = mapped_column(EncryptedChoice(Obstacle))
    obstacle_note: Mapped[str | None] = mapped_column(EncryptedText)
    reflection: Mapped[str | None] = mapped_column(EncryptedText)
    # After repeated "didn't feel useful": what would make it worth doing, for the clinician.
    worth: Mapped[str | None] = mapped_column(EncryptedText)
    # The first try, rehearsed right after /new.
    rehearsal: Mapped[bool] = mapped_column(Boolean, default=False)
    local_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Adjustment(Base):
    """A change the client chose to a practice, kept so the clinician can see what changed."""

    __tablename__ = "adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(32))
    before: Mapped[str | None] = mapped_column(EncryptedText)
    after: Mapped[str | None] = mapped_column(EncryptedText)
    reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """A nudge, check-in or snooze return: planned once (unique key), sent at most once."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    kind: Mapped[DeliveryKind] = mapped_column(_enum(DeliveryKind))
    practice_id: Mapped[int | None] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    cue_at: Mapped[datetime]
    due_at: Mapped[datetime]
    local_date: Mapped[date] = mapped_column(Date)
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    note: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The instance sending it, until when (README, "Several instances"): sent once by one.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]


class OutboxKind(enum.StrEnum):
    MESSAGE = "message"
    PHOTO = "photo"
    DOCUMENT = "document"
    EDIT_BUTTONS = "edit_buttons"  # new buttons (or none) under a message already sent
    ANSWER = "answer"  # the answer to a button press (answerCallbackQuery)


class OutboxMessage(Base):
    """A reply written with the update's changes, sent once the commit holds, in order per
    chat (`id`), then deleted: what is here has not reached Telegram yet."""

    __tablename__ = "outbox"
    # Ids never come again (SQLite would reuse a deleted row's): the sent journal names rows.
    __table_args__ = (Index("ix_outbox_chat", "chat_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    update_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # that queued it
    kind: Mapped[OutboxKind] = mapped_column(_enum(OutboxKind))
    text: Mapped[str | None] = mapped_column(EncryptedText)  # or the caption, or the answer
    buttons: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)  # signed, as built
    target: Mapped[str | None] = mapped_column(String(64))  # message id, or callback query id
    file: Mapped[str | None] = mapped_column(EncryptedText)  # base64 of a photo or document
    filename: Mapped[str | None] = mapped_column(EncryptedText)
    # What follows once Telegram answered: a note to someone, on delivery or on refusal.
    if_sent: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    if_refused: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    not_before: Mapped[datetime | None]  # held for the recipient's quiet hours
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The process sending it, until when: another takes it only after that (or a retry's time).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]


class WeekChoice(Base):
    """The one question after a week's look back: keep, bigger, smaller or talk it over."""

    __tablename__ = "week_choices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    until: Mapped[date] = mapped_column(Date)  # the last local day of the week looked back on
    choice: Mapped[str] = mapped_column(EncryptedChoice)
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ToBring(Base):
    """Something the client marked to bring to their next session, in their words."""

    __tablename__ = "to_bring"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TranscriptionJob(Base):
    """A voice note waiting for, or done with, transcription; claimed by workers with a lease."""

    __tablename__ = "transcription_jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    file_id: Mapped[str | None] = mapped_column(String(256))
    audio_path: Mapped[str | None] = mapped_column(String(512))
    declared_seconds: Mapped[int | None] = mapped_column(Integer)
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    # The report this note is the reflection of (sent at a report's "what made it easier?").
    report_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus), default=JobStatus.PENDING)
    problem: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    transcript: Mapped[str | None] = mapped_column(EncryptedText)
    corrected: Mapped[str | None] = mapped_column(EncryptedText)
    reply_message_id: Mapped[int | None] = mapped_column(BigInteger)
    replied: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    @property
    def words(self) -> str | None:
        """What the client said: their correction if they made one, else what the model heard."""
        return self.corrected or self.transcript or None


class ThoughtRecord(Base):
    """A thought record, built one step at a time in the client's words."""

    __tablename__ = "thought_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    situation: Mapped[str] = mapped_column(EncryptedText)
    thought: Mapped[str] = mapped_column(EncryptedText)
    belief_before: Mapped[int] = mapped_column(EncryptedInteger)
    feeling: Mapped[str] = mapped_column(EncryptedText)
    intensity_before: Mapped[int] = mapped_column(EncryptedInteger)
    trap: Mapped[str] = mapped_column(EncryptedChoice)
    balanced: Mapped[str] = mapped_column(EncryptedText)
    belief_after: Mapped[int] = mapped_column(EncryptedInteger)
    intensity_after: Mapped[int] = mapped_column(EncryptedInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invite(Base):
    """A one-time code a clinician hands to a client, valid until it expires; only its keyed
    hash is stored (storage/codes.py)."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Share(Base):
    """A client's consent to share with one clinician; stopping it ends what they see."""

    __tablename__ = "shares"
    __table_args__ = (
        Index("ix_shares_pair", "clinician_id", "client_id"),
        # One live share per client and clinician: a second consent while one is live would
        # list the client twice and leave one share running after "Stop sharing".
        Index(
            "uq_shares_live_pair",
            "clinician_id",
            "client_id",
            unique=True,
            sqlite_where=text("stopped_at IS NULL"),
            postgresql_where=text("stopped_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    consent_version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None]
    last_summary_at: Mapped[datetime | None]


class Suggestion(Base):
    """A practice a clinician suggested; the client shapes it into their own, or declines."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(EncryptedText)
    answer: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Supporter(Base):
    """Someone the client invited, who gets only what the client chose: never "not today"."""

    __tablename__ = "supporters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)  # keyed hash of the code
    weekly_count: Mapped[bool] = mapped_column(Boolean, default=False)
    supporter_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    expires_at: Mapped[datetime]  # until the code is used; then the moment it was (joined)
    removed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only: every time a clinician read a client's data (who, whose, what, when)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(BigInteger, index=True)
    subject_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(32))
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CodeAttempt(Base):
    """A wrong code (an invite, a supporter's or the clinician code), by a keyed hash of who
    tried it: holds no id, so erasure leaves it and cannot reset the limit (storage/codes.py)."""

    __tablename__ = "code_attempts"
    __table_args__ = (Index("ix_code_attempts_kind_subject", "kind", "subject_hash", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SafetyFlag(Base):
    """A message or voice note with crisis words: answered with crisis resources, and shown
    to a clinician the client shares with."""

    __tablename__ = "safety_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Encrypted: filter and order flags in Python (by id for order), never in SQL.
    source: Mapped[str] = mapped_column(EncryptedChoice)
    words: Mapped[str] = mapped_column(EncryptedText)
    at: Mapped[datetime] = mapped_column(EncryptedMoment, default=utcnow)


class Conversation(Base):
    """Where a client is in a flow, so a restart resumes instead of forgetting."""

    __tablename__ = "conversations"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KeyCheck(Base):
    """Values sealed with the encryption key at first start: the check value (row 1: any
    process started with another key fails at once instead of writing what the others cannot
    read) and the key for keyed hashes of codes (row 2), re-sealed by `between rekey`."""

    __tablename__ = "key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sealed: Mapped[str] = mapped_column(EncryptedText)


class InboxUpdate(Base):
    """An update stored before Telegram is told it arrived (durable ingest)."""

    __tablename__ = "inbox"
    __table_args__ = (
        Index("ix_inbox_status", "status", "update_id"),
        Index("ix_inbox_fingerprint", "fingerprint"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # The raw update, until it is handled; then only the row stays (to recognise a resend).
    payload: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    # A hash of who pressed which button on which message: recognises a double tap.
    fingerprint: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[InboxStatus] = mapped_column(_enum(InboxStatus), default=InboxStatus.PENDING)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]
    # The instance that stored or took it over, until when: another takes it only after that.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
