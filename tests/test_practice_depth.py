"""Practice depth end to end (issue 15 items 3-10): rehearsing the first step, concrete smaller
versions, the space in plain view, noticing before acting, rewards that fade, the same
somewhere new, what would make it worth doing, a voice-note version, an anchor's case."""

from __future__ import annotations

import csv
import io
from datetime import date, time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.texts import t
from sandbox.botapi import BotApiStandIn
from storage.models import Adjustment, Outcome, Practice, Report
from tests.support.clinicians import DOCTOR, become_clinician, link_client
from tests.support.harness import Harness, bot_settings
from tests.support.nudges import NUDGE, make_due, set_user
from tests.support.practices import design_practice
from tests.support.voice import send_voice, settled_jobs

SAM = 7001


@pytest.fixture
def settings(fake: BotApiStandIn, database_url: str, tmp_path: Path) -> Settings:
    """The usual bot, with a per-chat flood gate wide enough for these long conversations
    (after 20 updates it lets one a second through, which is not what is tested here)."""
    return bot_settings(fake, database_url, tmp_path).model_copy(update={"flood_burst": 100})


async def save(
    harness: Harness, user_id: int, step: str, *, reward: str | None = None
) -> list[str]:
    """Onboard, then save `step` every day around 21:00, before bed (quiet hours off so
    nudges do not depend on the hour); return the replies to "Looks right"."""
    await harness.onboard(user_id)
    await set_user(harness, user_id, quiet_start=time(0, 0), quiet_end=time(0, 0))
    await harness.send(user_id, "/new")
    await harness.send(user_id, "practice")
    await harness.send(user_id, step)
    await harness.send(user_id, "9")
    await harness.send(user_id, "before bed")
    await harness.press(user_id, "Every day")
    await harness.send(user_id, "21:00")
    await harness.press(user_id, "Skip")
    if reward:
        await harness.send(user_id, reward)
    else:
        await harness.press(user_id, "Skip")
    replies = await harness.press(user_id, "Looks right")
    labels = [label for label, _ in harness.fake.buttons(harness.fake.last(user_id))]
    if "Not now" in labels:  # the rehearsal offer: leave no flow open
        await harness.press(user_id, "Not now")
    return replies


async def the_practice(harness: Harness, user_id: int) -> Practice:
    async with harness.db.session() as session:
        practice = await session.scalar(select(Practice).where(Practice.user_id == user_id))
    assert practice is not None
    return practice


async def reports_of(harness: Harness, user_id: int) -> list[Report]:
    async with harness.db.session() as session:
        rows = await session.scalars(
            select(Report).join(Practice).where(Practice.user_id == user_id).order_by(Report.id)
        )
        return list(rows.all())


async def earlier_tries(harness: Harness, user_id: int, count: int) -> None:
    """Reports of "did it" the client gave before (today, the way /done records them)."""
    practice = await the_practice(harness, user_id)
    async with harness.db.session() as session:
        for _ in range(count):
            session.add(
                Report(practice_id=practice.id, outcome=Outcome.DID, local_date=date.today())
            )


def labels(harness: Harness, user_id: int) -> list[str]:
    return [label for label, _ in harness.fake.buttons(harness.fake.last(user_id))]


async def summary_for_doctor(harness: Harness) -> str:
    replies = await harness.send(DOCTOR, "/summary 1")
    return "\n".join(replies[:-1])  # the chart comes last


async def export_rows(harness: Harness) -> list[list[str]]:
    """The clinician's CSV export of Sam, as rows."""
    await harness.send(DOCTOR, "/export Sam")
    document = harness.fake.last(DOCTOR)
    return list(csv.reader(io.StringIO(document["_uploaded"].decode())))


async def next_nudge(harness: Harness, user_id: int) -> dict:
    before = len(harness.fake.sent(user_id))
    await make_due(harness, user_id)
    [nudge] = (await harness.fake.wait_for(user_id, before + 1))[before:]
    return nudge


async def test_a_yes_to_rehearsing_at_the_end_of_new_is_recorded_as_the_first_try(
    harness: Harness,
) -> None:
    await become_clinician(harness, DOCTOR)
    await harness.onboard(SAM)
    await link_client(harness, SAM)  # sharing starts now: the first try is in the summary
    await design_practice(harness, SAM)
    assert await harness.press(SAM, "Looks right") == [
        t.PRACTICE_SAVED.format(when="weekdays around 07:30"),
        t.REHEARSE_OFFER,
    ]

    assert await harness.press(SAM, t.REHEARSE_YES) == [
        t.REHEARSE_GO.format(step="say one clear sentence out loud")
    ]
    assert await harness.press(SAM, t.REHEARSE_TRIED) == [t.REHEARSE_DONE]

    [report] = await reports_of(harness, SAM)
    assert report.outcome == Outcome.DID and report.rehearsal is True
    assert t.SUMMARY_REHEARSALS.format(count=1) in await summary_for_doctor(harness)
    assert "did (rehearsal)" in [row[3] for row in await export_rows(harness)]


async def test_too_big_offers_concrete_smaller_versions_and_the_halved_one_becomes_the_step(
    harness: Harness,
) -> None:
    await save(harness, SAM, "read 10 minutes")
    await harness.send(SAM, "/done")
    await harness.press(SAM, t.NOT_TODAY)

    assert await harness.press(SAM, "Too big") == [t.OFFER_FOR["too_big"]]
    assert labels(harness, SAM) == [
        "Shorter: read 5 minutes",
        "Once this week instead of every day",
        t.OPTION_LABELS["first_move"],
        t.OPTION_LABELS["own_smaller"],
        t.OPTION_LABELS["keep"],
    ]

    [changed] = await harness.press(SAM, "Shorter: read 5 minutes")
    assert changed == f"{t.CHANGED}\n\nEvery day around 21:00, before bed: read 5 minutes"
    assert (await the_practice(harness, SAM)).step == "read 5 minutes"
    [card] = (await harness.send(SAM, "/practices"))[1:]
    assert card.startswith("Every day around 21:00, before bed: read 5 minutes")


async def test_forgot_asks_what_to_put_in_plain_view_and_the_next_nudge_shows_it(
    harness: Harness,
) -> None:
    await save(harness, SAM, "read 10 minutes")
    await harness.send(SAM, "/done")
    await harness.press(SAM, t.NOT_TODAY)
    await harness.press(SAM, "Forgot")

    assert await harness.press(SAM, t.OPTION_LABELS["space"]) == [t.ASK_SPACE]
    [changed] = await harness.send(SAM, "the book is on my pillow")
    assert changed.endswith("\nIn plain view: the book is on my pillow")
    assert (await the_practice(harness, SAM)).space == "the book is on my pillow"

    nudge = await next_nudge(harness, SAM)
    assert nudge["text"] == f"{NUDGE}\nIn plain view: the book is on my pillow"


async def test_a_noticing_practice_asks_whether_they_noticed_it_noticed_or_not_this_time(
    harness: Harness,
) -> None:
    replies = await save(harness, SAM, "notice when I start to avoid something")
    assert replies == [t.PRACTICE_SAVED.format(when="every day around 21:00")]  # no rehearsal

    nudge = await next_nudge(harness, SAM)
    assert nudge["text"] == (
        "Before bed: notice when I start to avoid something\nDid you notice it today?"
    )
    assert [label for label, _ in harness.fake.buttons(nudge)][:2] == [
        "Noticed it",
        "Not this time",
    ]
    assert await harness.press_on(SAM, nudge, "Not this time") == [t.ACK_NOT_NOTICED]
    assert await harness.send(SAM, "/done") == [
        t.NOTICE_QUESTION.format(step="notice when I start to avoid something")
    ]
    assert await harness.press(SAM, "Noticed it") == [t.ACK_NOTICED, t.ASK_NOTICE_REFLECTION]
    await harness.send(SAM, "I was about to put off a phone call")

    assert [r.outcome for r in await reports_of(harness, SAM)] == [
        Outcome.NOT_TODAY,
        Outcome.DID,
    ]


async def test_the_offer_to_turn_noticing_into_an_action_comes_after_three_not_before(
    harness: Harness,
) -> None:
    await save(harness, SAM, "notice when I start to avoid something")
    for _ in range(2):
        await harness.send(SAM, "/done")
        await harness.press(SAM, "Noticed it")
        assert await harness.press(SAM, t.SKIP) == []  # nothing offered yet
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Noticed it")

    assert await harness.press(SAM, t.SKIP) == [t.ACT_OFFER.format(count=3)]
    assert await harness.send(SAM, "yes") == [t.ASK_ACTION]  # typed, as good as pressed
    [changed] = await harness.send(SAM, "take one slow breath, then say what I need")
    assert "before bed: take one slow breath, then say what I need" in changed
    practice = await the_practice(harness, SAM)
    assert practice.noticing is False
    # The noticings were not tries of the action: a step up waits for five real ones.
    for _ in range(2):
        await harness.send(SAM, "/done")
        await harness.press(SAM, t.DID_IT)
        assert await harness.press(SAM, t.SKIP) == []  # no "5 times in a row" after 2


async def test_after_a_step_up_a_reward_rule_can_fade(harness: Harness) -> None:
    rule = "ten minutes earns two minutes of my game"
    await save(harness, SAM, "read 10 minutes", reward=rule)
    await earlier_tries(harness, SAM, 4)
    await harness.send(SAM, "/done")
    assert await harness.press(SAM, t.DID_IT) == [
        t.ACK_DID,
        t.REWARD_RULE_NOW.format(reward=rule),
        t.ASK_REFLECTION,
    ]
    await harness.press(SAM, t.SKIP)
    await harness.press(SAM, t.STEP_UP_YES)

    [changed, fade] = await harness.send(SAM, "read 15 minutes")
    assert changed.startswith(t.CHANGED) and fade == t.ASK_FADE.format(reward=rule)
    assert await harness.press(SAM, t.FADE_YES) == [t.FADED]

    assert (await the_practice(harness, SAM)).reward is None
    async with harness.db.session() as session:
        faded = await session.scalar(select(Adjustment).where(Adjustment.reason == "fade"))
    assert faded is not None and (faded.field, faded.before) == ("reward", rule)


async def test_the_step_up_offer_includes_the_same_somewhere_new_and_the_reward_can_stay(
    harness: Harness,
) -> None:
    await save(harness, SAM, "read 10 minutes", reward="a cup of tea")
    await earlier_tries(harness, SAM, 4)
    await harness.send(SAM, "/done")
    await harness.press(SAM, t.DID_IT)

    assert await harness.press(SAM, t.SKIP) == [t.STEP_UP_OFFER.format(count=5)]
    assert labels(harness, SAM) == [t.STEP_UP_YES, t.STEP_UP_NEW, t.KEEP_AS_IS]
    assert await harness.press(SAM, t.STEP_UP_NEW) == [t.ASK_SOMEWHERE_NEW]
    [changed, fade] = await harness.send(SAM, "on the train home")
    assert "on the train home: read 10 minutes" in changed
    assert fade == t.ASK_FADE.format(reward="a cup of tea")
    assert await harness.press(SAM, t.FADE_KEEP) == [t.REWARD_KEPT]

    practice = await the_practice(harness, SAM)
    assert (practice.anchor, practice.step, practice.reward) == (
        "on the train home",
        "read 10 minutes",
        "a cup of tea",
    )


async def test_repeated_not_useful_asks_what_would_make_it_worth_doing_for_the_clinician(
    harness: Harness,
) -> None:
    await become_clinician(harness, DOCTOR)
    await save(harness, SAM, "read 10 minutes")
    await link_client(harness, SAM)
    drop = t.OPTION_LABELS["drop"]

    await harness.send(SAM, "/done")
    await harness.press(SAM, t.NOT_TODAY)
    assert await harness.press(SAM, "useful") == [t.OFFER_FOR["not_useful"]]  # once: no question
    assert drop not in labels(harness, SAM)
    await harness.press(SAM, t.OPTION_LABELS["keep"])

    await harness.send(SAM, "/done")
    await harness.press(SAM, t.NOT_TODAY)
    assert await harness.press(SAM, "useful") == [t.ASK_WORTH]
    assert await harness.send(SAM, "if it helped me fall asleep") == [
        t.WORTH_SAVED,
        t.OFFER_FOR["not_useful"],
    ]
    assert drop not in labels(harness, SAM)  # twice is not yet a pattern
    await harness.press(SAM, t.OPTION_LABELS["keep"])

    await harness.send(SAM, "/done")
    await harness.press(SAM, t.NOT_TODAY)
    assert await harness.press(SAM, "useful") == [t.ASK_WORTH]
    assert await harness.press(SAM, t.SKIP) == [t.NOT_USEFUL_PATTERN]
    assert drop in labels(harness, SAM)  # the third time in four weeks
    await harness.press(SAM, t.OPTION_LABELS["keep"])

    detail = await summary_for_doctor(harness)
    assert t.SUMMARY_WORTH.format(text="if it helped me fall asleep") in detail
    outcomes = [row[3] for row in await export_rows(harness)]
    assert "worth doing if: if it helped me fall asleep" in outcomes


async def test_a_writing_practice_that_is_too_big_is_offered_a_voice_note_version(
    harness: Harness,
) -> None:
    await save(harness, SAM, "write 3 lines in my journal")
    await harness.send(SAM, "/done")
    await harness.press(SAM, t.NOT_TODAY)
    await harness.press(SAM, "Too big")

    voice = "By voice: say 3 lines in my journal in a voice note"
    assert voice in labels(harness, SAM)
    [changed] = await harness.press(SAM, voice)
    assert changed.endswith("before bed: say 3 lines in my journal in a voice note")


async def test_a_pressed_anchor_keeps_its_case_on_the_card(harness: Harness) -> None:
    await harness.onboard(SAM)
    await harness.send(SAM, "/new")
    await harness.send(SAM, "mornings")
    await harness.send(SAM, "drink a glass of water")
    await harness.press(SAM, "9")
    await harness.press(SAM, "After I wake up")
    await harness.press(SAM, "Every day")
    await harness.send(SAM, "07:00")
    await harness.press(SAM, "Skip")

    [card] = await harness.press(SAM, "Skip")

    assert "Every day around 07:00, after I wake up: drink a glass of water" in card
    await harness.press(SAM, "Looks right")
    assert (await the_practice(harness, SAM)).anchor == "after I wake up"


# The bundled Whisper model is slow on a small machine: once, on SQLite, is enough here.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_voice_note_at_what_made_it_easier_becomes_the_reports_reflection(
    harness: Harness,
) -> None:
    await save(harness, SAM, "read 10 minutes")
    await harness.send(SAM, "/done")
    assert await harness.press(SAM, t.DID_IT) == [t.ACK_DID, t.ASK_REFLECTION]

    got_it, heard = await send_voice(harness, SAM, "sister.ogg")

    assert got_it == t.VOICE_GOT_IT_REFLECTION
    assert heard.startswith("Here's what I heard, kept as your reflection:")
    await settled_jobs(harness)
    [report] = await reports_of(harness, SAM)
    assert report.reflection is not None and "sister" in report.reflection.lower()
    assert await harness.send(SAM, "hello") == [t.FALLBACK]  # the report's flow is over


async def test_a_step_edited_into_noticing_words_becomes_a_noticing_practice(
    harness: Harness,
) -> None:
    """Whether a practice is one of noticing follows its words, when made and when edited."""
    await save(harness, SAM, "read 10 minutes")
    await harness.send(SAM, "/practices")
    await harness.press(SAM, "Change")
    await harness.press(SAM, t.FIELD_LABELS["step"])

    await harness.send(SAM, "notice when I start to avoid something")

    assert (await the_practice(harness, SAM)).noticing is True
    assert await harness.send(SAM, "/done") == [
        t.NOTICE_QUESTION.format(step="notice when I start to avoid something")
    ]
