"""Transcripts as the client sees them: which one a reply corrects."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TranscriptionJob


async def replied_with(
    session: AsyncSession, user_id: int, message_id: int
) -> TranscriptionJob | None:
    """The client's job whose transcript is that message, so a reply to it corrects it."""
    return await session.scalar(
        select(TranscriptionJob).where(
            TranscriptionJob.user_id == user_id,
            TranscriptionJob.reply_message_id == message_id,
        )
    )
