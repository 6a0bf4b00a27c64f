"""Nudges at the cue, snooze, check-in, quiet hours, pause, downtime and Telegram's limits."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from bot.texts import t
from sandbox.botapi import BotApiStandIn
from storage.models import (
    Conversation,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Practice,
    PracticeStatus,
    QuietMode,
    Suggestion,
    User,
)
from tests.support.clinicians import DOCTOR, become_clinician, link_client
from tests.support.harness import Harness
from tests.support.nudges import NUDGE, client_ready_for_nudges, make_due, set_user
from tests.support.practices import saved_practice

SAM = 4001


async def deliveries(harness: Harness, user_id: int) -> list[Delivery]:
    async with harness.db.session() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.user_id == user_id).order_by(Delivery.id)
        )
        return list(rows.all())


async def test_nudge_arrives_at_the_cue_with_report_buttons(harness: Harness) -> None:
    await client_ready_for_nudges(harness, SAM)
    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM)

    [nudge] = (await harness.fake.wait_for(SAM, before + 1))[before:]

    assert nudge["text"] == NUDGE
    labels = [label for label, _ in harness.fake.buttons(nudge)]
    assert labels == [t.DID_IT, t.PARTLY, t.NOT_TODAY, t.LATER, t.THOUGHT_BUTTON]
    assert await harness.press(SAM, "Did it") == [t.ACK_DID, t.ASK_REFLECTION]
    [delivery, *_] = await deliveries(harness, SAM)
    assert delivery.status == DeliveryStatus.SENT
    async with harness.db.session() as session:
        practice = await session.scalar(select(Practice).where(Practice.user_id == SAM))
    assert practice is not None and practice.next_fire_at is not None
    assert practice.next_fire_at > datetime.now(UTC)


async def test_if_then_plan_is_shown_with_the_nudge(harness: Harness) -> None:
    await client_ready_for_nudges(harness, SAM)
    async with harness.db.session() as session:
        await session.execute(
            update(Practice).values(if_then="If I'm tired, then I'll read one line")
        )
    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM)
    [nudge] = (await harness.fake.wait_for(SAM, before + 1))[before:]
    assert nudge["text"] == f"{NUDGE}\nYour plan for this: If I'm tired, then I'll read one line"


async def test_later_snoozes_and_the_nudge_comes_back_once(harness: Harness) -> None:
    await client_ready_for_nudges(harness, SAM)
    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM)
    await harness.fake.wait_for(SAM, before + 1)
    nudge = harness.fake.last(SAM)

    assert await harness.press(SAM, "Later") == [t.SNOOZE_WHEN]
    [snoozed] = await harness.press(SAM, "30 minutes")
    assert snoozed.startswith("Okay, I'll come back to it around ")
    snooze = (await deliveries(harness, SAM))[-1]
    assert snooze.kind == DeliveryKind.SNOOZE
    assert timedelta(minutes=29) < snooze.due_at - datetime.now(UTC) <= timedelta(minutes=30)

    await harness.press_on(SAM, nudge, "Later")
    [again] = await harness.press(SAM, "2 hours")
    assert again.startswith("I'm already coming back to this one")

    async with harness.db.session() as session:
        await session.execute(
            update(Delivery).where(Delivery.id == snooze.id).values(due_at=datetime.now(UTC))
        )
    before = len(harness.fake.sent(SAM))
    [returned] = (await harness.fake.wait_for(SAM, before + 1))[before:]
    assert returned["text"] == NUDGE
    assert [d.kind for d in await deliveries(harness, SAM)].count(DeliveryKind.SNOOZE) == 1


async def test_checkin_comes_when_there_was_a_nudge_and_no_report(harness: Harness) -> None:
    await client_ready_for_nudges(harness, SAM)
    now = datetime.now(ZoneInfo("Europe/London"))
    await set_user(harness, SAM, checkin_time=now.time().replace(second=0, microsecond=0))
    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM, datetime.now(UTC) - timedelta(minutes=2))

    nudge, checkin = (await harness.fake.wait_for(SAM, before + 2))[before:]

    assert nudge["text"] == NUDGE
    assert checkin["text"] == t.CHECKIN.format(step="read 10 minutes")
    assert [label for label, _ in harness.fake.buttons(checkin)] == [
        t.DID_IT,
        t.PARTLY,
        t.NOT_TODAY,
    ]


async def test_no_checkin_after_the_practice_was_reported(harness: Harness) -> None:
    await client_ready_for_nudges(harness, SAM)
    now = datetime.now(ZoneInfo("Europe/London"))
    await set_user(harness, SAM, checkin_time=(now + timedelta(minutes=2)).time())
    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM)
    await harness.fake.wait_for(SAM, before + 1)
    await harness.press(SAM, "Partly")
    await harness.press(SAM, "Skip")

    checkin = next(d for d in await deliveries(harness, SAM) if d.kind == DeliveryKind.CHECKIN)
    async with harness.db.session() as session:
        await session.execute(
            update(Delivery).where(Delivery.id == checkin.id).values(due_at=datetime.now(UTC))
        )
    settled = await settled_delivery(harness, checkin.id)
    assert (settled.status, settled.note) == (DeliveryStatus.SKIPPED, "reported")
    assert t.CHECKIN.format(step="read 10 minutes") not in harness.fake.texts(SAM)


async def test_inside_quiet_hours_a_nudge_waits_for_their_end(harness: Harness) -> None:
    await client_ready_for_nudges(harness, SAM)
    now = datetime.now(ZoneInfo("Europe/London"))
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    await set_user(harness, SAM, quiet_start=start, quiet_end=end)
    await make_due(harness, SAM)

    nudge = await first_delivery(harness, SAM)

    assert nudge.status == DeliveryStatus.PENDING
    expected_end = datetime.combine(now.date(), end, tzinfo=now.tzinfo)
    if expected_end < now:
        expected_end += timedelta(days=1)
    assert nudge.due_at == expected_end.astimezone(UTC)
    assert NUDGE not in harness.fake.texts(SAM)


async def test_inside_quiet_hours_a_nudge_is_skipped_if_the_client_chose_so(
    harness: Harness,
) -> None:
    await client_ready_for_nudges(harness, SAM)
    now = datetime.now(ZoneInfo("Europe/London"))
    await harness.send(SAM, "/quiet")
    assert await harness.press(SAM, "Skip those") == [
        t.QUIET_NOW.format(start="00:00", end="00:00", mode=t.QUIET_MODE_SKIP)
    ]
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    await set_user(harness, SAM, quiet_start=start, quiet_end=end)
    await make_due(harness, SAM)

    nudge = await first_delivery(harness, SAM)
    assert (nudge.status, nudge.note) == (DeliveryStatus.SKIPPED, "quiet hours")


async def test_quiet_hours_can_be_changed_with_a_command(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    replies = await harness.send(SAM, "/quiet 23:00-06:30")
    assert replies[0] == t.QUIET_SAVED.format(start="23:00", end="06:30")
    async with harness.db.session() as session:
        user = await session.get(User, SAM)
    assert user is not None and (user.quiet_start, user.quiet_end) == (time(23), time(6, 30))
    assert user.quiet_mode == QuietMode.DEFER
    assert await harness.send(SAM, "/quiet whenever") == [t.QUIET_UNKNOWN]


async def test_pause_until_a_date_holds_nudges_and_resume_restores_them(
    harness: Harness,
) -> None:
    await client_ready_for_nudges(harness, SAM)
    [paused] = await harness.send(SAM, "/pause holiday until 12 Dec")
    assert paused.startswith("All practices are paused until 12 Dec")
    await make_due(harness, SAM)
    nudge = await first_delivery(harness, SAM)
    assert (nudge.status, nudge.note) == (DeliveryStatus.SKIPPED, "paused")

    assert await harness.send(SAM, "/resume") == [t.RESUMED_ALL]
    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM, datetime.now(UTC) - timedelta(minutes=1))
    [sent] = (await harness.fake.wait_for(SAM, before + 1))[before:]
    assert sent["text"] == NUDGE


async def test_after_downtime_a_recent_nudge_is_sent_late_and_an_old_one_recorded(
    harness: Harness,
) -> None:
    await client_ready_for_nudges(harness, SAM)
    await client_ready_for_nudges(harness, SAM + 1)
    await harness.stop()
    await make_due(harness, SAM, datetime.now(UTC) - timedelta(minutes=30))
    await make_due(harness, SAM + 1, datetime.now(UTC) - timedelta(hours=3))
    before = len(harness.fake.sent(SAM))

    await harness.start()

    [late] = (await harness.fake.wait_for(SAM, before + 1))[before:]
    assert late["text"] == NUDGE
    old = await first_delivery(harness, SAM + 1)
    old = await settled_delivery(harness, old.id)
    assert (old.status, old.note) == (DeliveryStatus.EXPIRED, "too late")
    assert NUDGE not in harness.fake.texts(SAM + 1)


async def test_a_client_who_blocked_the_bot_is_not_nudged_until_they_return(
    harness: Harness,
) -> None:
    await client_ready_for_nudges(harness, SAM)
    harness.fake.block(SAM)
    await make_due(harness, SAM)
    blocked = await settled_delivery(harness, (await first_delivery(harness, SAM)).id)
    assert blocked.status == DeliveryStatus.BLOCKED
    async with harness.db.session() as session:
        user = await session.get(User, SAM)
    assert user is not None and user.active is False

    harness.fake.unblock(SAM)
    await harness.send(SAM, "/help")
    async with harness.db.session() as session:
        user = await session.get(User, SAM)
    assert user is not None and user.active is True


def membership(fake: BotApiStandIn, user_id: int, old: str, new: str) -> dict:
    """The update Telegram sends a bot when a client blocks (kicked) or unblocks (member) it."""
    bot = dict(fake.bot_user)
    return {
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private", "first_name": "Sam"},
            "from": fake.make_message(user_id)["from"],
            "date": int(datetime.now(UTC).timestamp()),
            "old_chat_member": {"user": bot, "status": old}
            | ({"until_date": 0} if old == "kicked" else {}),
            "new_chat_member": {"user": bot, "status": new}
            | ({"until_date": 0} if new == "kicked" else {}),
        }
    }


async def test_blocking_the_bot_stops_nudges_before_one_is_refused(harness: Harness) -> None:
    await client_ready_for_nudges(harness, SAM)

    blocked = harness.fake.push_update(membership(harness.fake, SAM, "member", "kicked"))
    await harness.handled(blocked["update_id"])

    async with harness.db.session() as session:
        user = await session.get(User, SAM)
    assert user is not None and user.active is False
    unblocked = harness.fake.push_update(membership(harness.fake, SAM, "kicked", "member"))
    await harness.handled(unblocked["update_id"])
    async with harness.db.session() as session:
        user = await session.get(User, SAM)
    assert user is not None and user.active is True


async def test_a_429_is_retried_after_the_time_telegram_gives(harness: Harness) -> None:
    await client_ready_for_nudges(harness, SAM)
    harness.fake.fail_next("sendMessage", 429, retry_after=1)
    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM)
    [nudge] = (await harness.fake.wait_for(SAM, before + 1, timeout=15))[before:]
    assert nudge["text"] == NUDGE


async def test_a_burst_is_sent_oldest_first_within_telegrams_limits(harness: Harness) -> None:
    clients = [SAM + 100 + i for i in range(40)]
    greetings = [harness.fake.send_text(client, "hi") for client in clients]  # chats exist
    for greeting in greetings:  # answered before the burst, so they do not mix with it
        await harness.handled(greeting["update_id"])
    async with harness.db.session() as session:
        for client in clients:
            session.add(
                User(
                    id=client,
                    first_name="C",
                    timezone="Europe/London",
                    consent_version=t.CONSENT_VERSION,
                    quiet_start=time(0),
                    quiet_end=time(0),
                )
            )
            session.add(
                Practice(
                    user_id=client,
                    goal="reading",
                    step="read 10 minutes",
                    anchor="before bed",
                    days="mon,tue,wed,thu,fri,sat,sun",
                    cue_time=time(21),
                    status=PracticeStatus.ACTIVE,
                )
            )
    now = datetime.now(UTC)
    async with harness.db.session() as session:  # all due at once, as at 08:00
        for offset, client in enumerate(clients):
            await session.execute(
                update(Practice)
                .where(Practice.user_id == client)
                .values(next_fire_at=now - timedelta(seconds=len(clients) - offset))
            )

    for client in clients:
        await harness.fake.wait_until(lambda c=client: NUDGE in harness.fake.texts(c), 60)

    def nudge_time(client: int) -> float:
        index = harness.fake.texts(client).index(NUDGE)
        return harness.fake.send_times(client)[index]

    nudge_times = sorted((nudge_time(c), c) for c in clients)
    # Oldest due first: sends run concurrently behind the rate limiter, so allow a small shuffle.
    sent_order = [c for _, c in nudge_times]
    assert max(abs(sent_order.index(c) - i) for i, c in enumerate(clients)) <= 3
    times = [when for when, _ in nudge_times]
    busiest = max(sum(1 for x in times if a <= x < a + 1.0) for a in times)
    assert busiest <= 30


async def first_delivery(harness: Harness, user_id: int) -> Delivery:
    """Wait until the dispatcher has planned the client's first nudge."""
    for _ in range(100):
        planned = await deliveries(harness, user_id)
        if planned:
            return planned[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no delivery was planned")


async def settled_delivery(harness: Harness, delivery_id: int) -> Delivery:
    """Wait until a delivery is no longer pending."""
    for _ in range(100):
        async with harness.db.session() as session:
            delivery = await session.get(Delivery, delivery_id)
        assert delivery is not None
        if delivery.status != DeliveryStatus.PENDING:
            return delivery
        await asyncio.sleep(0.05)
    raise AssertionError(f"delivery {delivery_id} stayed pending")


async def test_a_pause_until_a_day_already_past_is_gently_corrected_and_pauses_nothing(
    harness: Harness,
) -> None:
    await client_ready_for_nudges(harness, SAM)

    replies = await harness.send(SAM, "/pause until 2020-01-05")

    assert replies == [t.PAUSE_DATE_PAST.format(day="5 Jan 2020")]
    async with harness.db.session() as session:
        user = await session.get(User, SAM)
    assert user is not None and not user.paused
    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM)
    [nudge] = (await harness.fake.wait_for(SAM, before + 1))[before:]
    assert nudge["text"] == NUDGE


async def planned_nudge(
    harness: Harness, user_id: int, due_at: datetime, kind: DeliveryKind = DeliveryKind.NUDGE
) -> int:
    """A pending delivery planned earlier (before downtime, or before a change of settings)."""
    async with harness.db.session() as session:
        practice = await session.scalar(select(Practice).where(Practice.user_id == user_id))
        assert practice is not None
        delivery = Delivery(
            key=f"{kind.value}:{practice.id}:{due_at.isoformat()}",
            kind=kind,
            practice_id=practice.id,
            user_id=user_id,
            cue_at=due_at,
            due_at=due_at,
            local_date=due_at.astimezone(ZoneInfo("Europe/London")).date(),
            status=DeliveryStatus.PENDING,
        )
        session.add(delivery)
        await session.flush()
        return delivery.id


async def quiet_around_now(harness: Harness, user_id: int) -> datetime:
    """Quiet hours from an hour ago to an hour ahead (London); return when they end, in UTC."""
    now = datetime.now(ZoneInfo("Europe/London"))
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    await set_user(harness, user_id, quiet_start=start, quiet_end=end)
    ends = datetime.combine(now.date(), end, tzinfo=now.tzinfo)
    return (ends if ends > now else ends + timedelta(days=1)).astimezone(UTC)


async def moved_delivery(harness: Harness, delivery_id: int, due_at: datetime) -> Delivery:
    """Wait until a delivery no longer has the given due time, or is no longer pending."""
    for _ in range(100):
        async with harness.db.session() as session:
            delivery = await session.get(Delivery, delivery_id)
        assert delivery is not None
        if delivery.due_at != due_at or delivery.status != DeliveryStatus.PENDING:
            return delivery
        await asyncio.sleep(0.05)
    raise AssertionError(f"delivery {delivery_id} was left as it was")


async def test_a_nudge_planned_before_quiet_hours_changed_waits_for_their_end(
    harness: Harness,
) -> None:
    await client_ready_for_nudges(harness, SAM)
    ends = await quiet_around_now(harness, SAM)
    due = datetime.now(UTC) - timedelta(minutes=5)  # late, as after downtime

    delivery = await moved_delivery(harness, await planned_nudge(harness, SAM, due), due)

    assert (delivery.status, delivery.due_at) == (DeliveryStatus.PENDING, ends)
    assert NUDGE not in harness.fake.texts(SAM)


async def test_a_late_nudge_inside_quiet_hours_is_skipped_if_the_client_chose_so(
    harness: Harness,
) -> None:
    await client_ready_for_nudges(harness, SAM)
    await set_user(harness, SAM, quiet_mode=QuietMode.SKIP)
    ends = await quiet_around_now(harness, SAM)
    due = datetime.now(UTC) - timedelta(minutes=5)
    nudge = await planned_nudge(harness, SAM, due)
    snooze = await planned_nudge(harness, SAM, due, DeliveryKind.SNOOZE)

    skipped = await moved_delivery(harness, nudge, due)
    moved = await moved_delivery(harness, snooze, due)

    assert (skipped.status, skipped.note) == (DeliveryStatus.SKIPPED, "quiet hours")
    # A return the client asked for ("Later") is moved out of quiet hours, never dropped.
    assert (moved.status, moved.due_at) == (DeliveryStatus.PENDING, ends)
    assert NUDGE not in harness.fake.texts(SAM)


async def test_a_journal_that_cannot_be_written_stops_sending_instead_of_repeating_a_nudge(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scheduler.dispatcher")
    await client_ready_for_nudges(harness, SAM)
    await client_ready_for_nudges(harness, SAM + 1)
    journal = harness.settings.data_dir / "sent-nudges.journal"
    journal.unlink(missing_ok=True)
    journal.mkdir()  # unwritable even for root, like a full disk or a read-only volume
    before = len(harness.fake.sent(SAM))

    await make_due(harness, SAM)
    await harness.fake.wait_for(SAM, before + 1)
    await asyncio.sleep(2.0)  # ten dispatch ticks

    assert harness.fake.texts(SAM)[before:].count(NUDGE) == 1
    [first] = [d for d in await deliveries(harness, SAM) if d.kind == DeliveryKind.NUDGE]
    assert first.status == DeliveryStatus.SENT  # recorded in the database instead
    other = len(harness.fake.sent(SAM + 1))
    await make_due(harness, SAM + 1)
    await asyncio.sleep(2.0)
    assert NUDGE not in harness.fake.texts(SAM + 1)  # nothing more goes out meanwhile
    said = [r.getMessage() for r in caplog.records if "sent journal" in r.getMessage()]
    assert len(said) == 1 and "cannot be written" in said[0]  # once, not once a tick

    journal.rmdir()
    [late] = (await harness.fake.wait_for(SAM + 1, other + 1, timeout=40))[other:]
    assert late["text"] == NUDGE
    await asyncio.sleep(1.0)
    assert harness.fake.texts(SAM + 1).count(NUDGE) == 1
    assert harness.fake.texts(SAM)[before:].count(NUDGE) == 1
    said = [r.getMessage() for r in caplog.records if "sent journal" in r.getMessage()]
    assert len(said) == 2 and "again" in said[1]


async def test_one_client_with_a_long_queue_does_not_hold_up_another(harness: Harness) -> None:
    await client_ready_for_nudges(harness, SAM)
    await client_ready_for_nudges(harness, SAM + 1)
    due = datetime.now(UTC) - timedelta(minutes=10)
    async with harness.db.session() as session:  # more than a round's batch of 1,000, all older
        practice = await session.scalar(select(Practice.id).where(Practice.user_id == SAM))
        await session.execute(
            insert(Delivery),
            [
                {
                    "key": f"nudge:{practice}:backlog{i}",
                    "kind": DeliveryKind.NUDGE,
                    "practice_id": practice,
                    "user_id": SAM,
                    "cue_at": due,
                    "due_at": due,
                    "local_date": due.date(),
                    "status": DeliveryStatus.PENDING,
                }
                for i in range(3000)
            ],
        )
    before = len(harness.fake.sent(SAM + 1))

    await make_due(harness, SAM + 1)

    [nudge] = (await harness.fake.wait_for(SAM + 1, before + 1, timeout=8))[before:]
    assert nudge["text"] == NUDGE


async def add_practices(harness: Harness, user_id: int, count: int) -> None:
    async with harness.db.session() as session:
        for i in range(count):
            session.add(
                Practice(
                    user_id=user_id,
                    goal=f"goal {i}",
                    step="one small step",
                    anchor="after breakfast",
                    days="mon",
                    cue_time=time(9),
                    status=PracticeStatus.PAUSED,
                )
            )


async def test_a_client_at_the_practice_limit_is_told_kindly_when_starting_another(
    harness: Harness,
) -> None:
    assert harness.settings.max_practices == 20
    await client_ready_for_nudges(harness, SAM)
    await add_practices(harness, SAM, 18)
    assert await harness.send(SAM, "/new") == [t.ASK_GOAL]  # the 20th is still welcome
    await harness.send(SAM, "/cancel")
    await add_practices(harness, SAM, 1)

    assert await harness.send(SAM, "/new") == [t.PRACTICE_LIMIT.format(count=20)]

    async with harness.db.session() as session:
        conversation = await session.get(Conversation, SAM)
    assert conversation is None


async def test_a_suggestion_to_a_client_at_the_limit_waits_until_there_is_room(
    harness: Harness,
) -> None:
    client = 6002  # the client of tests.test_clinician's helpers
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, client)
    await link_client(harness, client)
    await add_practices(harness, client, 19)
    await harness.send(DOCTOR, "/suggest 1 a short walk after lunch")

    assert await harness.press(client, "Shape it with me") == [t.PRACTICE_LIMIT.format(count=20)]

    async with harness.db.session() as session:
        suggestion = await session.scalar(select(Suggestion))
        removed = await session.scalar(
            select(Practice)
            .where(Practice.user_id == client, Practice.status == PracticeStatus.PAUSED)
            .limit(1)
        )
        assert removed is not None
        removed.status = PracticeStatus.REMOVED
    assert suggestion is not None and suggestion.answer is None
    assert await harness.press(client, "Shape it with me") == [t.ASK_STEP]
