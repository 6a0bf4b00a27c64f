"""A practice designed through /new, the way a client does it."""

from __future__ import annotations

from bot.texts import t
from tests.support.harness import Harness

STICKER = {
    "file_id": "CAACAgIAAxkBAAEB",
    "file_unique_id": "AgADAQAD",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
    "type": "regular",
    "emoji": "🙂",
}


async def design_practice(harness: Harness, user_id: int, *, confidence: str = "9") -> None:
    """Go through /new with typed answers and buttons, ending on the confirmation card."""
    assert await harness.send(user_id, "/new") == [t.ASK_GOAL]
    assert await harness.send(user_id, "speaking up") == [t.ASK_STEP]
    assert await harness.send(user_id, "say one clear sentence out loud") == [t.ASK_CONFIDENCE]
    assert await harness.press(user_id, confidence) == [t.ASK_ANCHOR]
    assert await harness.press(user_id, "While my coffee brews") == [t.ASK_DAYS]
    assert await harness.press(user_id, "Weekdays") == [t.ASK_TIME]
    assert await harness.send(user_id, "7.30am") == [t.ASK_IF_THEN]
    assert await harness.send(user_id, "If I'm late, then I will say it in the car") == [
        t.ASK_REWARD
    ]
    replies = await harness.press(user_id, "Skip")
    assert replies == [
        f"{t.CONFIRM_INTRO}\n\nWeekdays around 07:30, while my coffee brews: "
        "say one clear sentence out loud\nPlan: If I'm late, then I will say it in the car"
    ]


async def saved_practice(harness: Harness, user_id: int, *, reward: str | None = None) -> None:
    """Onboard, then save "read 10 minutes" every day around 21:00, before bed."""
    await harness.onboard(user_id)
    await harness.send(user_id, "/new")
    await harness.send(user_id, "reading")
    await harness.send(user_id, "read 10 minutes")
    await harness.send(user_id, "9")
    await harness.send(user_id, "before bed")
    await harness.press(user_id, "Every day")
    await harness.send(user_id, "21:00")
    await harness.press(user_id, "Skip")
    if reward:
        await harness.send(user_id, reward)
    else:
        await harness.press(user_id, "Skip")
    await harness.press(user_id, "Looks right")
    await harness.press(user_id, t.REHEARSE_NO)  # no rehearsal: no flow left open
