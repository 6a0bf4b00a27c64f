"""What waits in the database, for /healthz and the gauges of /metrics (each on its index)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Delivery,
    DeliveryStatus,
    InboxStatus,
    InboxUpdate,
    JobStatus,
    TranscriptionJob,
)


@dataclass(frozen=True)
class Backlog:
    inbox: int  # updates stored, not handled yet
    nudges_due: int  # deliveries due, not sent yet
    transcription: int  # voice notes waiting or being transcribed


def _count(*where: ColumnElement[bool]) -> ScalarSelect[int]:
    return select(func.count()).where(*where).scalar_subquery()


async def backlog(session: AsyncSession, now: datetime) -> Backlog:
    """Count the three queues in one round trip (which also shows the database answers)."""
    row = (
        await session.execute(
            select(
                _count(InboxUpdate.status == InboxStatus.PENDING),
                _count(Delivery.status == DeliveryStatus.PENDING, Delivery.due_at <= now),
                _count(TranscriptionJob.status.in_([JobStatus.PENDING, JobStatus.RUNNING])),
            )
        )
    ).one()
    return Backlog(inbox=int(row[0]), nudges_due=int(row[1]), transcription=int(row[2]))
