"""Designing, listing, changing and reporting on practices, end to end."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.texts import t
from storage.models import (
    Adjustment,
    Conversation,
    Obstacle,
    Outcome,
    Practice,
    PracticeStatus,
    Report,
)
from tests.support.harness import Harness
from tests.support.practices import STICKER, design_practice, saved_practice

SAM = 2001
ALEX = 2002


async def practices_of(harness: Harness, user_id: int) -> list[Practice]:
    async with harness.db.session() as session:
        rows = await session.scalars(select(Practice).where(Practice.user_id == user_id))
        return list(rows.all())


async def test_new_practice_is_codesigned_and_saved_in_the_clients_words(
    harness: Harness,
) -> None:
    await harness.onboard(SAM)
    await design_practice(harness, SAM)

    replies = await harness.press(SAM, "Looks right")

    assert replies == [t.PRACTICE_SAVED.format(when="weekdays around 07:30"), t.REHEARSE_OFFER]
    [practice] = await practices_of(harness, SAM)
    assert practice.goal == "speaking up"
    assert practice.step == "say one clear sentence out loud"
    assert practice.anchor == "while my coffee brews"
    assert practice.days == "mon,tue,wed,thu,fri"
    assert practice.cue_time == time(7, 30)
    assert practice.if_then == "If I'm late, then I will say it in the car"
    assert practice.reward is None
    assert practice.confidence == 9
    assert practice.next_fire_at is not None
    first_nudge = practice.next_fire_at.astimezone(ZoneInfo("Europe/London"))
    assert first_nudge.time() == time(7, 30) and first_nudge.weekday() < 5


async def test_low_confidence_offers_a_smaller_version(harness: Harness) -> None:
    await harness.onboard(SAM)
    await harness.send(SAM, "/new")
    await harness.send(SAM, "reading")
    await harness.send(SAM, "read 10 pages")

    assert await harness.press(SAM, "4") == [t.CONFIDENCE_LOW]
    assert await harness.send(SAM, "read one page") == [t.ASK_CONFIDENCE]
    assert await harness.send(SAM, "8") == [t.ASK_ANCHOR]
    async with harness.db.session() as session:
        conversation = await session.get(Conversation, SAM)
    assert conversation is not None and conversation.data["step"] == "read one page"


async def test_chosen_days_and_an_edit_before_saving(harness: Harness) -> None:
    await harness.onboard(SAM)
    await harness.send(SAM, "/new")
    await harness.send(SAM, "walking")
    await harness.send(SAM, "put my shoes on")
    await harness.send(SAM, "10")
    await harness.send(SAM, "after lunch")
    assert await harness.press(SAM, "Choose days") == [t.DAYS_PICK]
    await harness.press(SAM, "Mon")
    await harness.press(SAM, "Wed")
    assert "✓ Wed" in [label for label, _ in harness.fake.buttons(harness.fake.last(SAM))]
    assert await harness.press(SAM, "Done") == [t.ASK_TIME]
    assert await harness.send(SAM, "half past one") == [t.TIME_UNKNOWN]
    await harness.send(SAM, "13:30")
    await harness.press(SAM, "Skip")
    await harness.send(SAM, "a cup of tea")

    assert await harness.press(SAM, "Change something") == [t.EDIT_WHICH]
    assert await harness.press(SAM, "Time") == [t.ASK_TIME]
    [card] = await harness.send(SAM, "19:30")
    assert "Mon, Wed around 19:30, after lunch: put my shoes on" in card
    assert "Reward: a cup of tea" in card
    await harness.press(SAM, "Looks right")

    [practice] = await practices_of(harness, SAM)
    assert practice.days == "mon,wed"
    assert practice.cue_time == time(19, 30)
    assert practice.reward == "a cup of tea"


async def test_cancel_leaves_the_flow_and_stores_nothing(harness: Harness) -> None:
    await harness.onboard(SAM)
    await harness.send(SAM, "/new")
    await harness.send(SAM, "journaling")

    assert await harness.send(SAM, "/cancel") == [t.CANCELLED]
    assert await harness.send(SAM, "hello") == [t.FALLBACK]
    assert await practices_of(harness, SAM) == []
    assert await harness.send(SAM, "/cancel") == [t.NOTHING_TO_CANCEL]


async def test_over_long_answer_is_refused_kindly_and_the_step_kept(harness: Harness) -> None:
    await harness.onboard(SAM)
    await harness.send(SAM, "/new")

    replies = await harness.send(SAM, "x" * 1500)

    assert replies == [t.TOO_LONG.format(limit="1,000")]
    assert await harness.send(SAM, "breathing") == [t.ASK_STEP]


async def test_restart_mid_flow_resumes_where_the_client_was(harness: Harness) -> None:
    await harness.onboard(SAM)
    await harness.send(SAM, "/new")
    await harness.send(SAM, "stretching")

    await harness.restart()

    assert await harness.send(SAM, "one stretch") == [t.ASK_CONFIDENCE]
    replies = await harness.send(SAM, "/start")
    assert replies == [t.RESUMING, t.ASK_CONFIDENCE]


async def test_stale_button_says_where_we_are(harness: Harness) -> None:
    await harness.onboard(SAM)
    await harness.send(SAM, "/new")
    await harness.send(SAM, "walking")
    await harness.send(SAM, "shoes on")
    ratings = harness.fake.last(SAM)
    await harness.press(SAM, "9")

    replies = await harness.press_on(SAM, ratings, "3")

    assert replies == [t.STALE_BUTTON, t.ASK_ANCHOR]


async def test_a_button_under_another_practices_question_is_stale(harness: Harness) -> None:
    await harness.onboard(SAM)
    for _ in range(2):
        await design_practice(harness, SAM)
        await harness.press(SAM, "Looks right")
    await harness.send(SAM, "/practices")
    first_card, second_card = harness.fake.sent(SAM)[-2:]
    await harness.press_on(SAM, first_card, "Change")
    first_question = harness.fake.last(SAM)
    await harness.press_on(SAM, second_card, "Change")

    replies = await harness.press_on(SAM, first_question, "Time")

    assert replies == [t.STALE_BUTTON, t.EDIT_WHICH]


async def test_forged_callback_is_refused_and_changes_nothing(harness: Harness) -> None:
    await harness.onboard(SAM)
    await design_practice(harness, SAM)
    await harness.press(SAM, "Looks right")
    [practice] = await practices_of(harness, SAM)
    message = harness.fake.last(SAM)

    update = harness.fake.press(SAM, message["message_id"], f"p:{practice.id}:remove_yes:AAAAAAAA")
    await harness.handled(update["update_id"])

    assert harness.fake.answered_callbacks[-1]["text"] == t.UNKNOWN_BUTTON
    [still_there] = await practices_of(harness, SAM)
    assert still_there.status == PracticeStatus.ACTIVE


async def test_another_clients_button_data_is_refused(harness: Harness) -> None:
    await harness.onboard(SAM)
    await design_practice(harness, SAM)
    await harness.press(SAM, "Looks right")
    await harness.send(SAM, "/practices")
    remove_data = dict(harness.fake.buttons(harness.fake.last(SAM)))[t.REMOVE]
    await harness.onboard(ALEX)

    update = harness.fake.press(ALEX, harness.fake.last(ALEX)["message_id"], remove_data)
    await harness.handled(update["update_id"])

    assert harness.fake.answered_callbacks[-1]["text"] == t.UNKNOWN_BUTTON
    [practice] = await practices_of(harness, SAM)
    assert practice.status == PracticeStatus.ACTIVE


async def test_practices_lists_and_edits_pauses_resumes_and_removes(harness: Harness) -> None:
    await harness.onboard(SAM)
    await design_practice(harness, SAM)
    await harness.press(SAM, "Looks right")

    replies = await harness.send(SAM, "/practices")
    assert replies[0] == t.PRACTICES_HEADER
    assert replies[1].startswith("Weekdays around 07:30, while my coffee brews")

    assert await harness.press(SAM, "Change") == [t.EDIT_WHICH]
    assert await harness.press(SAM, "The moment") == [t.ASK_ANCHOR]
    [changed] = await harness.send(SAM, "after I brush my teeth")
    assert "after I brush my teeth: say one clear sentence out loud" in changed

    await harness.send(SAM, "/practices")
    assert await harness.press(SAM, "Pause") == [t.PAUSED]
    [practice] = await practices_of(harness, SAM)
    assert practice.status == PracticeStatus.PAUSED and practice.next_fire_at is None

    await harness.send(SAM, "/practices")
    assert await harness.press(SAM, "Resume") == [t.RESUMED.format(when="weekdays around 07:30")]
    await harness.send(SAM, "/practices")
    assert await harness.press(SAM, "Remove") == [t.REMOVE_CONFIRM]
    assert await harness.press(SAM, "Yes, remove it") == [t.REMOVED]
    assert await harness.send(SAM, "/practices") == [t.NO_PRACTICES]

    async with harness.db.session() as session:
        changes = (await session.scalars(select(Adjustment).order_by(Adjustment.id))).all()
    assert [(c.field, c.after) for c in changes] == [
        ("anchor", "after I brush my teeth"),
        ("status", "paused"),
        ("status", "active"),
        ("status", "removed"),
    ]


async def reports_of(harness: Harness) -> list[Report]:
    async with harness.db.session() as session:
        return list((await session.scalars(select(Report).order_by(Report.id))).all())


async def test_did_it_acknowledges_offers_reward_and_keeps_reflection(harness: Harness) -> None:
    await saved_practice(harness, SAM, reward="a favourite song")

    assert await harness.send(SAM, "/done") == [t.HOW_DID_IT_GO.format(step="read 10 minutes")]
    replies = await harness.press(SAM, "Did it")
    assert replies == [
        t.ACK_DID,
        t.REWARD_NOW.format(reward="a favourite song"),
        t.ASK_REFLECTION,
    ]
    assert await harness.send(SAM, "I left the book on my pillow") == [t.REFLECTION_SAVED]

    [report] = await reports_of(harness)
    assert report.outcome == Outcome.DID
    assert report.reflection == "I left the book on my pillow"


async def test_partly_counts_as_a_success(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/done")
    replies = await harness.press(SAM, "Partly")
    assert replies == [t.ACK_PARTLY, t.ASK_REFLECTION]
    await harness.press(SAM, "Skip")
    [report] = await reports_of(harness)
    assert report.outcome == Outcome.PARTLY and report.reflection is None


async def test_skip_for_too_big_offers_smaller_version(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/done")

    assert await harness.press(SAM, "Not today") == [t.ACK_NOT_TODAY]
    replies = await harness.press(SAM, "Too big")
    assert replies == [t.OFFER_FOR["too_big"]]

    [changed] = await harness.press(SAM, "Shorter: read 5 minutes")
    assert "before bed: read 5 minutes" in changed
    [report] = await reports_of(harness)
    assert report.outcome == Outcome.NOT_TODAY and report.obstacle == Obstacle.TOO_BIG
    async with harness.db.session() as session:
        change = await session.scalar(select(Adjustment))
    assert change is not None
    assert (change.before, change.after, change.reason) == (
        "read 10 minutes",
        "read 5 minutes",
        "too_big",
    )


async def test_skip_for_forgot_moves_the_cue(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Not today")
    assert await harness.press(SAM, "Forgot") == [t.OFFER_FOR["forgot"]]
    assert await harness.press(SAM, "Change the time") == [t.ASK_TIME]
    [changed] = await harness.send(SAM, "20:15")
    assert "Every day around 20:15" in changed


async def test_skip_for_pressure_says_you_cant_fail_and_lowers_the_bar(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Not today")
    [offer] = await harness.press(SAM, "pressure")
    assert "You can't fail at this" in offer
    await harness.press(SAM, "lower the bar")
    [practice] = await practices_of(harness, SAM)
    assert practice.step == "read 10 minutes, any way at all (a rough try counts)"


async def test_skip_for_not_useful_can_mark_it_to_talk_over(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Not today")
    await harness.press(SAM, "useful")
    assert await harness.press(SAM, "Talk it over") == [t.MARKED_TALK_OVER]
    [practice] = await practices_of(harness, SAM)
    assert practice.talk_over is True


async def test_something_else_keeps_the_clients_words(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Not today")
    assert await harness.press(SAM, "Something else") == [t.ASK_OTHER_OBSTACLE]
    assert await harness.send(SAM, "my sister visited") == [t.OFFER_FOR["other"]]
    assert await harness.press(SAM, "Keep it") == [t.KEPT]
    [report] = await reports_of(harness)
    assert report.obstacle == Obstacle.OTHER and report.obstacle_note == "my sister visited"


async def test_third_not_today_in_a_week_offers_to_shrink_or_change(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    for _ in range(2):
        await harness.send(SAM, "/done")
        await harness.press(SAM, "Not today")
        await harness.press(SAM, "No time")
        await harness.press(SAM, "Keep it")
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Not today")

    assert await harness.press(SAM, "No time") == [t.RETHINK_OFFER]


async def test_five_easy_successes_bring_an_offer_to_step_up(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    for _ in range(4):
        await harness.send(SAM, "/done")
        await harness.press(SAM, "Did it")
        assert await harness.press(SAM, "Skip") == []
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Did it")

    assert await harness.press(SAM, "Skip") == [t.STEP_UP_OFFER.format(count=5)]
    assert await harness.press(SAM, "a little bigger") == [t.ASK_STEP_UP]
    await harness.send(SAM, "read 15 minutes")
    [practice] = await practices_of(harness, SAM)
    assert practice.step == "read 15 minutes"


async def test_help_lists_commands_and_crisis_resources(harness: Harness) -> None:
    [reply] = await harness.send(SAM, "/help")
    assert "/new" in reply and "/done" in reply and "emergency services" in reply


async def test_unknown_text_and_stickers_get_a_friendly_pointer(harness: Harness) -> None:
    await harness.onboard(SAM)
    assert await harness.send(SAM, "hello?") == [t.FALLBACK]
    update = harness.fake.push_update({"message": harness.fake.make_message(SAM, sticker=STICKER)})
    await harness.handled(update["update_id"])
    assert harness.fake.texts(SAM)[-1] == t.FALLBACK


async def test_a_button_from_a_flow_that_ended_is_stale_in_the_same_step_of_a_new_one(
    harness: Harness,
) -> None:
    await harness.onboard(SAM)
    for goal in ("reading", "walking"):
        await harness.send(SAM, "/new")
        await harness.send(SAM, goal)
        assert await harness.send(SAM, "one page") == [t.ASK_CONFIDENCE]
        if goal == "reading":
            old_question = harness.fake.last(SAM)
            await harness.send(SAM, "/cancel")

    replies = await harness.press_on(SAM, old_question, "9")

    assert replies == [t.STALE_BUTTON, t.ASK_CONFIDENCE]
    async with harness.db.session() as session:
        conversation = await session.get(Conversation, SAM)
    assert conversation is not None and conversation.data["goal"] == "walking"
    assert conversation.step == "confidence"


async def test_an_unknown_command_says_so_and_points_to_help(harness: Harness) -> None:
    await harness.onboard(SAM)
    assert await harness.send(SAM, "/weather") == [t.UNKNOWN_COMMAND]
    await harness.send(SAM, "/new")
    assert await harness.send(SAM, "/weather") == [t.UNKNOWN_COMMAND]  # mid-flow too
