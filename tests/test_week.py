"""The week's look back, the next session and "anything to bring?", end to end."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.texts import t
from scheduler.cues import at_local
from storage.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Share,
    User,
    WeekChoice,
    move_clock_ahead,
    utcnow,
)
from tests.support.clinicians import DOCTOR, become_clinician, link_client
from tests.support.harness import Harness
from tests.support.nudges import set_user
from tests.support.practices import saved_practice

SAM = 4101
LONDON = ZoneInfo("Europe/London")
STEP = "read 10 minutes"


@pytest.fixture
def clock() -> Iterator[None]:
    """Time travel moves the one clock every part reads; back to real time afterwards."""
    yield
    move_clock_ahead(timedelta())


async def user_row(harness: Harness, user_id: int) -> User:
    async with harness.db.session() as session:
        found = await session.get(User, user_id)
    assert found is not None
    return found


async def reflect(harness: Harness, client: int, outcome: str, words: str | None) -> None:
    await harness.send(client, "/done")
    await harness.press(client, outcome)
    if words:
        await harness.send(client, words)
    else:
        await harness.press(client, "Skip")


async def a_week_of_reports(harness: Harness) -> None:
    await reflect(harness, SAM, "Did it", "the book was already on my pillow")
    await reflect(harness, SAM, "Partly", None)
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Not today")
    await harness.press(SAM, "Forgot")
    await harness.press(SAM, t.OPTION_LABELS["keep"])


async def test_week_shows_the_tries_in_kind_words_their_reflections_and_one_question(
    harness: Harness,
) -> None:
    await saved_practice(harness, SAM)
    await a_week_of_reports(harness)

    replies = await harness.send(SAM, "/week")

    assert replies[0] == t.WEEK_CHART_CAPTION  # the small picture of the week
    look_back = replies[-1]
    assert t.WEEK_TRIED.format(step=STEP, count=2) in look_back
    assert t.WEEK_PARTLY.format(count=1) in look_back
    assert "“the book was already on my pillow”" in look_back
    assert t.WEEK_IN_THE_WAY_TITLE in look_back and t.OBSTACLES["forgot"] in look_back
    assert look_back.endswith(t.WEEK_QUESTION)
    assert "missed" not in look_back.lower() and "streak" not in look_back.lower()
    labels = [label for label, _ in harness.fake.buttons(harness.fake.last(SAM))]
    assert labels == list(t.WEEK_CHOICES.values())


async def test_a_silent_week_gets_a_gentle_line_and_no_list(harness: Harness) -> None:
    await saved_practice(harness, SAM)

    [look_back] = await harness.send(SAM, "/week")

    assert t.WEEK_SILENT in look_back
    assert t.WEEK_HELPED_TITLE not in look_back and "•" not in look_back
    labels = [label for label, _ in harness.fake.buttons(harness.fake.last(SAM))]
    assert t.WEEK_CHOICES["bigger"] not in labels and t.WEEK_CHOICES["keep"] in labels


async def test_the_weekly_choice_is_recorded_leads_to_a_smaller_step_and_reaches_the_clinician(
    harness: Harness,
) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    await a_week_of_reports(harness)
    await harness.send(SAM, "/week")

    [offer] = await harness.press(SAM, t.WEEK_CHOICES["smaller"])
    assert offer == t.WEEK_PROPOSE_SMALLER.format(proposal="read 5 minutes")
    [changed] = await harness.press(SAM, t.WEEK_USE)
    assert changed.startswith(t.CHANGED) and "read 5 minutes" in changed

    async with harness.db.session() as session:
        [choice] = (await session.scalars(select(WeekChoice))).all()
    assert (choice.user_id, choice.choice) == (SAM, "smaller")
    [text, *_] = await harness.send(DOCTOR, "/summary Sam")
    today = datetime.now(LONDON).date()
    expected = t.SUMMARY_WEEK_CHOICE.format(day=today, choice=t.WEEK_CHOICE_NOTES["smaller"])
    assert expected in text
    assert "after the week's look back" in text  # the change, with its reason
    await harness.send(DOCTOR, "/export Sam")
    rows = list(csv.reader(io.StringIO(harness.fake.last(DOCTOR)["_uploaded"].decode())))
    assert ["Sam", "weekly choice", today.isoformat(), "smaller", ""] in rows


async def test_a_look_back_choice_leaves_a_thought_record_half_written_as_it_is(
    harness: Harness,
) -> None:
    await saved_practice(harness, SAM)
    await a_week_of_reports(harness)
    await harness.send(SAM, "/week")
    look_back = harness.fake.sent(SAM)[-1]
    assert await harness.send(SAM, "/thought") == [t.THOUGHT_START, t.ASK_SITUATION]
    assert await harness.send(SAM, "the team meeting") == [t.ASK_THOUGHT]

    assert await harness.press_on(SAM, look_back, t.WEEK_CHOICES["keep"]) == [t.WEEK_KEPT]

    # The thought record goes on where it was.
    assert await harness.send(SAM, "they think I'm slow") == [t.ASK_BELIEF]


async def test_the_weekly_choice_pressed_twice_or_changed_is_one_choice(
    harness: Harness,
) -> None:
    await saved_practice(harness, SAM)
    await a_week_of_reports(harness)
    await harness.send(SAM, "/week")
    look_back = harness.fake.sent(SAM)[-1]

    await harness.press_on(SAM, look_back, t.WEEK_CHOICES["keep"])
    await harness.press_on(SAM, look_back, t.WEEK_CHOICES["keep"])
    await harness.press_on(SAM, look_back, t.WEEK_CHOICES["talk"])

    async with harness.db.session() as session:
        choices = (await session.scalars(select(WeekChoice.choice))).all()
    assert choices == ["talk"]


async def test_a_little_bigger_leads_into_the_step_up(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await a_week_of_reports(harness)
    await harness.send(SAM, "/week")

    assert await harness.press(SAM, t.WEEK_CHOICES["bigger"]) == [t.ASK_STEP_UP]
    [changed] = await harness.send(SAM, "read 15 minutes")
    assert changed.startswith(t.CHANGED) and "read 15 minutes" in changed


async def test_session_then_the_look_back_arrives_the_evening_before(
    harness: Harness, clock: None
) -> None:
    await saved_practice(harness, SAM)
    await a_week_of_reports(harness)
    await set_user(harness, SAM, quiet_start=time(0, 0), quiet_end=time(0, 0))
    session_day = datetime.now(LONDON).date() + timedelta(days=3)
    day_name = session_day.strftime("%A").lower()

    [noted] = await harness.send(SAM, f"/session {day_name} 10:00")

    session_at = at_local(session_day, time(10, 0), "Europe/London")
    assert noted.startswith("Your next session:") and "10:00" in noted
    sam = await user_row(harness, SAM)
    evening_before = at_local(session_day - timedelta(days=1), time(18, 0), "Europe/London")
    assert (sam.session_at, sam.next_week_at) == (session_at, evening_before)
    noon_before = at_local(session_day - timedelta(days=1), time(12), "Europe/London")
    assert sam.next_bring_at == noon_before

    before = len(harness.fake.sent(SAM))
    assert sam.next_bring_at is not None
    move_clock_ahead(sam.next_bring_at + timedelta(seconds=30) - datetime.now(UTC))
    [asked] = (await harness.fake.wait_for(SAM, before + 1, timeout=15))[before:]
    assert asked["text"].startswith("Your session is tomorrow")  # midday: anything to bring?
    move_clock_ahead(evening_before + timedelta(seconds=30) - datetime.now(UTC))
    chart, look_back = (await harness.fake.wait_for(SAM, before + 3, timeout=15))[before + 1 :]

    assert chart["caption"] == t.WEEK_CHART_CAPTION
    assert t.WEEK_TRIED.format(step=STEP, count=2) in look_back["text"]
    assert look_back["text"].endswith(t.WEEK_QUESTION)
    labels = [label for label, _ in harness.fake.buttons(look_back)]
    assert labels == list(t.WEEK_CHOICES.values())
    # The dispatcher marks a delivery sent once Telegram has answered: wait for that mark.
    for _ in range(100):
        async with harness.db.session() as session:
            kinds = (
                await session.scalars(
                    select(Delivery.kind).where(
                        Delivery.user_id == SAM, Delivery.status == DeliveryStatus.SENT
                    )
                )
            ).all()
        if DeliveryKind.WEEK in kinds:
            break
        await asyncio.sleep(0.1)
    assert DeliveryKind.WEEK in kinds and DeliveryKind.BRING in kinds
    sam = await user_row(harness, SAM)
    assert sam.next_week_at is not None and sam.next_week_at > utcnow()


async def test_the_day_before_the_client_marks_a_note_or_a_line_to_bring(
    harness: Harness, clock: None
) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    await reflect(harness, SAM, "Did it", "reading calmed me down")
    await set_user(harness, SAM, quiet_start=time(0, 0), quiet_end=time(0, 0))
    session_day = datetime.now(LONDON).date() + timedelta(days=3)
    await harness.send(SAM, f"/session {session_day.strftime('%A').lower()} 10:00")
    sam = await user_row(harness, SAM)
    assert sam.next_bring_at is not None
    before = len(harness.fake.sent(SAM))
    # The clock reaches midday the day before the session, whatever the hour now.
    move_clock_ahead(sam.next_bring_at + timedelta(seconds=30) - datetime.now(UTC))
    [asked] = (await harness.fake.wait_for(SAM, before + 1, timeout=15))[before:]
    assert asked["text"].startswith("Your session is tomorrow")
    labels = [label for label, _ in harness.fake.buttons(asked)]
    assert labels == ["“reading calmed me down”", t.BRING_WRITE, t.BRING_NOTHING]

    assert await harness.press(SAM, "reading calmed") == [
        t.BRING_SAVED.format(text="reading calmed me down")
    ]
    assert await harness.press_on(SAM, asked, t.BRING_WRITE) == [t.BRING_ASK_LINE]
    assert await harness.send(SAM, "my sister's visit") == [
        t.BRING_SAVED.format(text="my sister's visit")
    ]

    [text, *_] = await harness.send(DOCTOR, "/summary Sam")
    assert t.SUMMARY_TO_BRING_TITLE in text
    assert "“reading calmed me down”" in text and "“my sister's visit”" in text
    assert t.SUMMARY_NEXT_SESSION.format(when="")[:12] in text


async def test_the_clinician_notes_a_session_for_a_linked_client_and_they_are_told(
    harness: Harness,
) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    before = len(harness.fake.sent(SAM))

    [noted] = await harness.send(DOCTOR, "/session Sam every Tuesday 17:30")

    assert noted.startswith("Noted: Sam's next session is") and "Europe/London" in noted
    [told] = (await harness.fake.wait_for(SAM, before + 1))[before:]
    assert told["text"].startswith("Sam, your clinician, noted your next session:")
    [shown] = await harness.send(SAM, "/session")
    assert shown.startswith("Your sessions: every Tue at 17:30")
    sam = await user_row(harness, SAM)
    assert sam.session_weekly and sam.session_at is not None
    assert sam.session_at.astimezone(LONDON).strftime("%a %H:%M") == "Tue 17:30"
    assert await harness.send(DOCTOR, "/session 7 thursday 10:00") == [t.SUMMARY_UNKNOWN_CLIENT]


async def test_the_summary_defaults_to_since_the_last_session(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    await reflect(harness, SAM, "Did it", None)
    last = datetime.now(UTC) - timedelta(days=2)
    await set_user(harness, SAM, session_at=last, session_weekly=False)
    async with harness.db.session() as session:  # sharing began before that session
        await session.execute(
            update(Share).values(started_at=datetime.now(UTC) - timedelta(days=5))
        )

    [text, *_] = await harness.send(DOCTOR, "/summary Sam")

    since = last.astimezone(LONDON).date()
    assert text.startswith(f"Sam, {since} to") and t.SUMMARY_SINCE_SESSION in text.split("\n")[0]


async def test_the_client_chooses_when_the_look_back_comes(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    sam = await user_row(harness, SAM)
    assert sam.next_week_at is not None  # Sunday evening, until they choose
    assert sam.next_week_at.astimezone(LONDON).strftime("%a %H:%M") == "Sun 18:00"

    [saved] = await harness.send(SAM, "/week friday 8am")

    assert saved == t.WEEK_WHEN_SET.format(day="Fri", time="08:00")
    sam = await user_row(harness, SAM)
    assert sam.next_week_at is not None
    assert sam.next_week_at.astimezone(LONDON).strftime("%a %H:%M") == "Fri 08:00"
    assert await harness.send(SAM, "/week often") == [t.WEEK_WHEN_UNKNOWN]
    assert await harness.send(SAM, "/week default") == [t.WEEK_WHEN_DEFAULT]
    assert await harness.send(SAM, "/session someday") == [t.SESSION_UNKNOWN]

