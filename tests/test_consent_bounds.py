"""What a clinician reads is bounded by the client's consent: from the moment they agreed,
never across a gap when sharing was stopped; one live share per pair; audit rows that outlive
a failed reply; summary windows in the client's own zone."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.rules import summary
from bot.texts import t
from storage.db import alembic_config, migrate
from storage.models import (
    AuditEntry,
    JobStatus,
    Share,
    ThoughtRecord,
    TranscriptionJob,
    User,
)
from tests.support.clinicians import DOCTOR, audit, become_clinician, link_client
from tests.support.databases import empty_database
from tests.support.harness import Harness
from tests.support.practices import saved_practice

SAM = 6002  # the client of tests/test_clinician.py


async def reflect(harness: Harness, client: int, words: str) -> None:
    """Report "did it" with a reflection in the client's words."""
    await harness.send(client, "/done")
    await harness.press(client, "Did it")
    assert await harness.send(client, words) == [t.REFLECTION_SAVED]


async def stop_sharing(harness: Harness, client: int) -> None:
    await harness.send(client, "/sharing")
    assert await harness.press(client, "Stop sharing") == [t.SHARING_STOPPED.format(name="Sam")]


def detail(replies: list[str]) -> str:
    return "\n".join(replies)


async def exported_rows(harness: Harness) -> list[list[str]]:
    await harness.send(DOCTOR, "/export Sam")
    document = harness.fake.last(DOCTOR)
    return list(csv.reader(io.StringIO(document["_uploaded"].decode())))[1:]


# ------------------------------------------------------------------ item 1: consent bounds


async def test_nothing_written_before_the_client_agreed_is_shown(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await reflect(harness, SAM, "written before sharing")

    await link_client(harness, SAM)

    [overview] = await harness.send(DOCTOR, "/summary")
    assert overview.splitlines()[1].startswith("1. Sam: tried 0, not today 0; no reports yet")
    shown = detail(await harness.send(DOCTOR, "/summary Sam 90"))
    assert "written before sharing" not in shown
    assert "No nudges and no reports in this period" in shown  # the report before is not counted
    assert await exported_rows(harness) == []

    await reflect(harness, SAM, "written after sharing")
    shown = detail(await harness.send(DOCTOR, "/summary Sam 90"))
    assert "written after sharing" in shown and "written before sharing" not in shown
    assert [row[3] for row in await exported_rows(harness)] == ["did"]


async def test_nothing_from_the_gap_after_a_stop_and_relink_is_shown(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    await reflect(harness, SAM, "while sharing the first time")
    await stop_sharing(harness, SAM)
    await reflect(harness, SAM, "written while not sharing")
    await harness.send(SAM, "/thought")
    for answer in ("gap situation", "a gap thought", "80", "low", "70"):
        await harness.send(SAM, answer)
    await harness.press(SAM, "Mind reading")
    for answer in ("a kinder view", "40", "30"):
        await harness.send(SAM, answer)

    await link_client(harness, SAM)
    await reflect(harness, SAM, "while sharing again")

    shown = detail(await harness.send(DOCTOR, "/summary Sam 90"))
    assert "while sharing again" in shown
    assert "written while not sharing" not in shown and "gap situation" not in shown
    # Stopping is a withdrawal: the new consent ("from today on") does not reopen the old share.
    assert "while sharing the first time" not in shown
    assert "Tried 1, partly 0, not today 0" in shown
    assert [row[3] for row in await exported_rows(harness)] == ["did"]


async def test_journal_voice_notes_outside_any_flow_are_not_shown(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    async with harness.db.session() as session:
        for flow, words in ((None, "a private journal note"), ("thought", "words in a record")):
            session.add(
                TranscriptionJob(
                    user_id=SAM,
                    source_message_id=1,
                    status=JobStatus.DONE,
                    transcript=words,
                    flow=flow,
                    step="situation" if flow else None,
                )
            )

    shown = detail(await harness.send(DOCTOR, "/summary Sam"))

    assert "a private journal note" not in shown
    assert "words in a record" in shown  # named in the preview: "with voice transcripts"


async def test_summary_days_are_the_clients_local_days(harness: Harness) -> None:
    """`/summary Sam 1` is the client's today in their zone, not from UTC midnight."""
    zone = "America/Los_Angeles"
    await harness.onboard(DOCTOR, "Los Angeles")
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    await harness.send(SAM, "/timezone Los Angeles")
    await harness.press(SAM, "Yes, that's right")
    midnight = datetime.combine(
        datetime.now(ZoneInfo(zone)).date(), time(0), tzinfo=ZoneInfo(zone)
    ).astimezone(UTC)
    async with harness.db.session() as session:
        assert (await session.get(User, SAM)).timezone == zone  # type: ignore[union-attr]
        await session.execute(
            update(Share).values(started_at=midnight - timedelta(days=3))
        )  # consent long ago
        for situation, at in (("late yesterday", midnight - timedelta(hours=1)),):
            session.add(
                ThoughtRecord(
                    user_id=SAM,
                    situation=situation,
                    thought="t",
                    belief_before=50,
                    feeling="f",
                    intensity_before=50,
                    trap="mind_reading",
                    balanced="b",
                    belief_after=20,
                    intensity_after=20,
                    created_at=at,
                )
            )

    assert "late yesterday" not in detail(await harness.send(DOCTOR, "/summary Sam 1"))
    assert "late yesterday" in detail(await harness.send(DOCTOR, "/summary Sam 2"))


# ------------------------------------------------------------------ item 2: one live share


async def test_linking_twice_keeps_one_share_and_stop_ends_it(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    [code_message] = await harness.send(DOCTOR, "/invite")
    code = code_message.split("code to your client: ")[1].split("\n")[0]
    await harness.send(SAM, f"/link {code}")
    assert await harness.press(SAM, "Yes, share") == [t.ALREADY_SHARING.format(name="Sam")]

    [overview] = await harness.send(DOCTOR, "/summary")
    assert len(overview.splitlines()) == 2
    assert (await harness.send(DOCTOR, "/summary Sam"))[0].startswith("Sam, ")
    await stop_sharing(harness, SAM)
    assert await harness.send(DOCTOR, "/summary") == [t.SUMMARY_NO_CLIENTS]
    assert await harness.send(SAM, "/sharing") == [t.SHARING_NONE]


async def test_the_database_refuses_a_second_live_share_for_a_pair(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    with pytest.raises(IntegrityError):
        async with harness.db.session() as session:
            session.add(Share(client_id=SAM, clinician_id=DOCTOR, consent_version="x"))
    async with harness.db.session() as session:  # a stopped one beside it is fine
        session.add(
            Share(client_id=SAM, clinician_id=DOCTOR, consent_version="x", stopped_at=func.now())
        )


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_the_migration_closes_duplicate_live_shares_first(kind: str, tmp_path: Path) -> None:
    async with empty_database(kind, tmp_path) as url:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0008")
        engine = create_async_engine(url)
        now = datetime.now(UTC)
        async with engine.begin() as connection:
            for user in (DOCTOR, SAM):
                await connection.execute(
                    text(
                        "INSERT INTO users (id, first_name, active, checkin_time, quiet_start,"
                        " quiet_end, quiet_mode, paused, is_clinician, clinician_code_failures,"
                        " created_at) VALUES (:id, 'Sam', true, '20:00:00', '22:00:00',"
                        " '07:00:00', 'defer', false, false, 0, :now)"
                    ),
                    {"id": user, "now": now},
                )
            for _ in range(3):
                await connection.execute(
                    text(
                        "INSERT INTO shares (client_id, clinician_id, consent_version,"
                        " started_at) VALUES (:client, :clinician, 'v', :now)"
                    ),
                    {"client": SAM, "clinician": DOCTOR, "now": now},
                )
        await engine.dispose()

        await asyncio.to_thread(migrate, url)

        engine = create_async_engine(url)
        async with engine.connect() as connection:
            live = (
                await connection.execute(
                    text("SELECT id FROM shares WHERE stopped_at IS NULL ORDER BY id")
                )
            ).all()
            total = (await connection.execute(text("SELECT count(*) FROM shares"))).scalar()
        await engine.dispose()
        assert [row[0] for row in live] == [1] and total == 3


# ------------------------------------------------------------------ item 8: CSV injection


def test_export_cells_cannot_become_spreadsheet_formulas() -> None:
    facts = summary.ClientFacts(
        name='=HYPERLINK("http://x.example","click")',
        since=date(2026, 1, 1),
        until=date(2026, 1, 1),
        practices=[
            summary.PracticeFacts(
                card="+1 cup of tea",
                talk_over=False,
                planned=1,
                days=[summary.DayMark(date(2026, 1, 1), "did")],
            ),
            summary.PracticeFacts(
                card="@SUM(A1)",
                talk_over=False,
                planned=1,
                days=[summary.DayMark(date(2026, 1, 1), None)],
            ),
        ],
        thought_records=[],
        voice_notes=[],
        last_report=None,
    )
    raw = summary.to_csv(facts).decode()
    rows = list(csv.reader(io.StringIO(raw)))
    assert rows[1][0] == "'" + facts.name and rows[1][1] == "'+1 cup of tea"
    assert rows[2][1] == "'@SUM(A1)"
    for cell in ("-2+3", "\t=1", "\r=1"):
        assert summary.safe_cell(cell) == "'" + cell
    assert summary.safe_cell("reading") == "reading"
    assert all(line.startswith('"') for line in raw.splitlines())  # every field quoted


# ------------------------------------------------------------------ item 10: audit first


async def test_a_read_whose_reply_fails_is_still_audited(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    harness.fake.fail_next("sendDocument", 400, description="Bad Request: file is too big")

    replies = await harness.send(DOCTOR, "/export Sam")

    assert replies == [t.SOMETHING_WENT_WRONG]
    assert (DOCTOR, SAM, "export", True) in await audit(harness)


# ------------------------------------------------------------------ the chart


def test_the_chart_is_drawn_without_pyplot() -> None:
    """pyplot keeps global state (not thread-safe); the chart is drawn on a thread."""
    program = (
        "import sys\n"
        "from datetime import date\n"
        "from bot.rules import summary\n"
        "f = summary.ClientFacts('Sam', date(2026, 1, 1), date(2026, 1, 7), "
        "[summary.PracticeFacts('read', False, 1)], [], [], None)\n"
        "assert summary.chart(f).startswith(b'\\x89PNG')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    root = Path(__file__).parent.parent
    subprocess.run([sys.executable, "-c", program], check=True, cwd=root)


async def test_audit_entries_are_kept_when_counting_reads(harness: Harness) -> None:
    """The overview audits one read per client, committed before the reply."""
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    harness.fake.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    await harness.send(DOCTOR, "/summary")
    async with harness.db.session() as session:
        reads = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "summary_overview")
        )
    assert reads == 1
