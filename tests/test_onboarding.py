"""`/start`, consent and timezone, end to end through the fake Bot API server."""

from __future__ import annotations

from sqlalchemy import select

from bot.texts import t
from storage.models import Conversation, User
from tests.support.harness import Harness

SAM = 1001


async def test_start_welcomes_explains_and_asks_consent(harness: Harness) -> None:
    replies = await harness.send(SAM, "/start")

    assert replies[0].startswith("Hi Sam, I'm Between")
    joined = "\n".join(replies)
    assert "not a crisis service" in joined
    assert "not end-to-end encrypted" in joined
    labels = [label for label, _ in harness.fake.buttons(harness.fake.last(SAM))]
    assert labels == [t.CONSENT_YES, t.CONSENT_NO]


async def test_consent_is_stored_with_version_and_time(harness: Harness) -> None:
    await harness.send(SAM, "/start")
    replies = await harness.press(SAM, "Yes, that's okay")

    assert replies == [t.ASK_TIMEZONE]
    async with harness.db.session() as session:
        user = await session.get(User, SAM)
    assert user is not None
    assert user.consent_version == t.CONSENT_VERSION
    assert user.consent_at is not None


async def test_declining_consent_stores_nothing_about_practices(harness: Harness) -> None:
    await harness.send(SAM, "/start")
    assert await harness.press(SAM, "Not now") == [t.CONSENT_DECLINED]
    assert await harness.send(SAM, "/new") == [t.CONSENT_NEEDED]


async def test_timezone_accepts_city_names_and_confirms_local_time(harness: Harness) -> None:
    await harness.send(SAM, "/start")
    await harness.press(SAM, "Yes, that's okay")

    replies = await harness.send(SAM, "new york")
    assert replies[0].startswith("America/New_York: it's ")

    replies = await harness.press(SAM, "Yes, that's right")
    assert replies[0] == t.TIMEZONE_SAVED.format(zone="America/New_York")
    async with harness.db.session() as session:
        user = await session.get(User, SAM)
        assert user is not None and user.timezone == "America/New_York"
        assert await session.scalar(select(Conversation)) is None


async def test_unknown_timezone_gets_a_kind_hint_and_can_be_retried(harness: Harness) -> None:
    await harness.send(SAM, "/start")
    await harness.press(SAM, "Yes, that's okay")

    assert await harness.send(SAM, "Atlantis") == [t.TIMEZONE_UNKNOWN]
    replies = await harness.send(SAM, "Europe/Berlin")
    assert replies[0].startswith("Europe/Berlin: it's ")


async def test_timezone_can_be_changed_later(harness: Harness) -> None:
    await harness.onboard(SAM, "London")
    await harness.send(SAM, "/timezone")
    await harness.send(SAM, "Sydney")
    await harness.press(SAM, "Yes, that's right")

    async with harness.db.session() as session:
        user = await session.get(User, SAM)
    assert user is not None and user.timezone == "Australia/Sydney"


async def test_timezone_given_with_the_command_is_confirmed_at_once(harness: Harness) -> None:
    await harness.onboard(SAM, "London")

    [confirm] = await harness.send(SAM, "/timezone Lisbon")

    assert confirm.startswith("Europe/Lisbon: it's ")
    await harness.press(SAM, "Yes, that's right")
    async with harness.db.session() as session:
        user = await session.get(User, SAM)
    assert user is not None and user.timezone == "Europe/Lisbon"


async def test_second_start_greets_without_asking_consent_again(harness: Harness) -> None:
    await harness.onboard(SAM)
    replies = await harness.send(SAM, "/start")
    assert replies == [t.WELCOME_BACK.format(name="Sam")]
