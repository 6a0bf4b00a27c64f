"""A clinician registered with the code, linked to a client who consents; a client's report."""

from __future__ import annotations

from sqlalchemy import select

from bot.texts import t
from storage.models import AuditEntry
from tests.support.harness import CLINICIAN_CODE, Harness

DOCTOR = 6001


async def audit(harness: Harness) -> list[tuple[int, int | None, str, bool]]:
    """(actor, subject, action, allowed) of every audit entry, oldest first."""
    async with harness.db.session() as session:
        rows = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    return [(r.actor_id, r.subject_id, r.action, r.allowed) for r in rows]


async def become_clinician(harness: Harness, user_id: int) -> None:
    """Register `user_id` as a clinician with the deployment's code."""
    await harness.send(user_id, "/start")
    assert await harness.send(user_id, f"/clinician {CLINICIAN_CODE}") == [t.CLINICIAN_WELCOME]


async def link_client(harness: Harness, client: int) -> None:
    """DOCTOR invites `client`, who sees the preview and agrees to share."""
    [code_message] = await harness.send(DOCTOR, "/invite")
    code = code_message.split("code to your client: ")[1].split("\n")[0]
    [preview] = await harness.send(client, f"/link {code}")
    assert preview.startswith("Sam would see, from today on:")
    assert await harness.press(client, "Yes, share") == [t.LINKED.format(name="Sam")]


async def report(
    harness: Harness,
    client: int,
    outcome: str,
    obstacle: str | None = None,
    choice: str = "Keep it",
) -> None:
    """The client reports on their practice with /done (and what got in the way)."""
    await harness.send(client, "/done")
    await harness.press(client, outcome)
    if obstacle:
        await harness.press(client, obstacle)
        await harness.press(client, choice)
    else:
        await harness.press(client, "Skip")
