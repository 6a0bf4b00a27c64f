"""Crisis words and /sos: crisis resources at once, no coaching, and a flag for the clinician."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.rules.crisis import crisis_phrases, mentions_crisis
from bot.texts import t
from storage.models import Conversation, Practice, SafetyFlag, Share, User
from tests.support.clinicians import DOCTOR, become_clinician, link_client
from tests.support.harness import Harness
from tests.support.practices import saved_practice
from tests.support.voice import send_voice

SAM, ALEX = 6102, 6103
RESOURCES = "Call 999, or Samaritans on 116 123 (free, any time)."
CRISIS = t.CRISIS_REPLY.format(crisis=RESOURCES)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.crisis_text = RESOURCES
    # The operator's list: the defaults, plus words a committed voice clip really says.
    settings.crisis_phrases = "my sister called"
    return settings


@pytest.mark.parametrize(
    "said",
    [
        "Honestly I want to die",
        "i DONT want to live like this",
        "I don’t want to be alive anymore",
        "thinking about self-harm again",
        "had suicidal thoughts last night",
        "I might hurt   myself",
        "the thought of suicide's been there all week",
        "I keep self-harming",
        "I just want to end it all",
    ],
)
def test_crisis_words_are_noticed_however_they_are_written(said: str) -> None:
    assert mentions_crisis(said, crisis_phrases(None))


@pytest.mark.parametrize(
    "said",
    [
        "me quiero suicidar",
        "a veces pienso que estaría mejor muerta",
        "ojala estuviera muerto",
        "no vale la pena vivir así",
        "no quiero despertar mañana",
        "quiero lastimarme",
        "Ich bringe mich um",
        "ich habe Suizidgedanken",
        "ich will tot sein",
        "ich könnte mir was antun",
        "ich ritze mich wieder",
        "я думаю о самоубийстве",
        "жить не хочется",
        "хочу сдохнуть",
        "лучше бы меня не было",
        "снова селф-харм",
        "хочу наглотаться таблеток",
        "mejor estar múerto",  # an accent typed where none belongs is still read
    ],
)
def test_crisis_words_in_spanish_german_and_russian_are_noticed(said: str) -> None:
    assert mentions_crisis(said, crisis_phrases(None))


@pytest.mark.parametrize(
    "said",
    [
        "me corto el pelo mañana",
        "estaba muerto de risa",
        "quiero acabar con todo el trabajo antes del viernes",
        "ich bin todmüde",
        "я умираю со смеху",
    ],
)
def test_everyday_spanish_german_and_russian_are_not_taken_for_crisis_words(said: str) -> None:
    assert not mentions_crisis(said, crisis_phrases(None))


@pytest.mark.parametrize(
    "said",
    ["This homework is killing me, haha", "I could die laughing", "skill myself up", ""],
)
def test_everyday_words_are_not_taken_for_crisis_words(said: str) -> None:
    assert not mentions_crisis(said, crisis_phrases(None))


def test_the_operators_phrases_add_to_the_defaults() -> None:
    phrases = crisis_phrases("Dark place, NO WAY OUT")

    assert mentions_crisis("I'm in a dark place", phrases)
    assert mentions_crisis("there's no way out", phrases)
    assert mentions_crisis("I want to die", phrases)


def test_an_empty_list_of_phrases_does_not_turn_screening_off() -> None:
    assert mentions_crisis("I want to die", crisis_phrases(" , "))


async def flags(harness: Harness, user_id: int) -> list[SafetyFlag]:
    async with harness.db.session() as session:
        rows = await session.scalars(select(SafetyFlag).where(SafetyFlag.user_id == user_id))
        return list(rows.all())


async def test_crisis_words_mid_flow_get_resources_not_coaching_and_the_flow_waits(
    harness: Harness,
) -> None:
    await harness.onboard(SAM)
    assert await harness.send(SAM, "/new") == [t.ASK_GOAL]

    assert await harness.send(SAM, "I want to kill myself") == [CRISIS]

    async with harness.db.session() as session:
        conversation = await session.get(Conversation, SAM)
        practices = await session.scalar(select(func.count()).select_from(Practice))
    assert conversation is not None and (conversation.flow, conversation.step) == (
        "design",
        "goal",
    )
    assert "goal" not in conversation.data and practices == 0
    [flag] = await flags(harness, SAM)
    assert (flag.source, flag.words) == ("message", "I want to kill myself")
    assert await harness.send(SAM, "walking") == [t.ASK_STEP]  # carries on when they do


async def test_crisis_words_in_a_reflection_are_not_stored_as_a_reflection(
    harness: Harness,
) -> None:
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Did it")

    assert await harness.send(SAM, "did it but I still feel suicidal") == [CRISIS]

    assert len(await flags(harness, SAM)) == 1


async def test_sos_and_help_give_the_configured_resources(harness: Harness) -> None:
    assert await harness.send(SAM, "/sos") == [t.SOS.format(crisis=RESOURCES)]
    [help_text] = await harness.send(SAM, "/help")
    assert help_text.endswith(RESOURCES)


async def test_before_consent_crisis_words_get_resources_and_nothing_is_stored(
    harness: Harness,
) -> None:
    assert await harness.send(ALEX, "I want to end my life") == [CRISIS]
    assert await flags(harness, ALEX) == []
    async with harness.db.session() as session:
        assert await session.get(User, ALEX) is None  # not even their name


async def test_crisis_words_in_a_caption_or_an_edit_get_resources(harness: Harness) -> None:
    await harness.onboard(SAM)
    photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 1, "height": 1, "file_size": 1}]
    captioned = harness.fake.push_update(
        {"message": harness.fake.make_message(SAM, photo=photo, caption="I want to die")}
    )
    await harness.handled(captioned["update_id"])
    edited = harness.fake.push_update(
        {"edited_message": harness.fake.make_message(SAM, text="thinking about suicide")}
    )
    await harness.handled(edited["update_id"])

    assert harness.fake.texts(SAM)[-2:] == [CRISIS, CRISIS]
    assert [f.words for f in await flags(harness, SAM)] == [
        "I want to die",
        "thinking about suicide",
    ]


async def test_the_clinician_sees_crisis_words_first(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await saved_practice(harness, ALEX)
    await link_client(harness, ALEX)
    await link_client(harness, SAM)
    await harness.send(SAM, "some days I think everyone would be better off dead")

    [overview] = await harness.send(DOCTOR, "/summary")
    first, second = overview.splitlines()[1:3]
    assert first.endswith(t.SUMMARY_CRISIS_FLAG) and "Sam" in first
    assert t.SUMMARY_CRISIS_FLAG not in second

    number = first.split(".")[0]
    detail = "\n".join((await harness.send(DOCTOR, f"/summary {number}"))[:-1])
    assert t.SUMMARY_CRISIS_TITLE in detail
    assert "(message): “some days I think everyone would be better off dead”" in detail


async def test_crisis_words_in_a_voice_note_get_resources_and_no_coaching_buttons(
    harness: Harness,
) -> None:
    await harness.onboard(SAM)
    await harness.send(SAM, "/thought")  # mid-flow, a transcript normally offers a button

    _, heard = await send_voice(harness, SAM, "sister.ogg")

    assert heard.startswith("Here's what I heard:") and heard.endswith(CRISIS)
    assert harness.fake.buttons(harness.fake.last(SAM)) == []
    [flag] = await flags(harness, SAM)
    assert flag.source == "voice" and "sister called" in flag.words.lower()


async def test_a_share_agreed_before_crisis_words_were_listed_does_not_show_them(
    harness: Harness,
) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    async with harness.db.session() as session:
        share = await session.scalar(select(Share).where(Share.client_id == SAM))
        assert share is not None and share.consent_version == t.SHARE_CONSENT_VERSION
        share.consent_version = "2026-11-21"  # the preview then did not mention them
    await harness.send(SAM, "I want to die")

    [overview] = await harness.send(DOCTOR, "/summary")
    detail = "\n".join((await harness.send(DOCTOR, "/summary 1"))[:-1])

    assert t.SUMMARY_CRISIS_FLAG not in overview
    assert t.SUMMARY_CRISIS_TITLE not in detail and "want to die" not in detail


@pytest.mark.parametrize("said", ["/ I want to die", "/i want to die", "/ suicide"])
async def test_crisis_words_after_a_slash_that_is_no_command_of_ours_get_resources(
    harness: Harness, said: str
) -> None:
    await harness.onboard(SAM)
    assert await harness.send(SAM, said) == [CRISIS]
    [flag] = await flags(harness, SAM)
    assert flag.words == said


async def test_a_clinicians_command_about_suicide_prevention_is_not_taken_for_crisis_words(
    harness: Harness,
) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)

    replies = await harness.send(DOCTOR, "/suggest 1 read the suicide prevention leaflet")

    assert CRISIS not in replies and t.SOS.format(crisis=RESOURCES) not in replies
    assert await flags(harness, DOCTOR) == [] and await flags(harness, SAM) == []


@pytest.mark.parametrize("said", ["/pause I want to kill myself", "/done I want to die"])
async def test_crisis_words_after_one_of_our_commands_get_resources(
    harness: Harness, said: str
) -> None:
    await saved_practice(harness, SAM)
    assert await harness.send(SAM, said) == [CRISIS]
    [flag] = await flags(harness, SAM)
    assert flag.words == said
    async with harness.db.session() as session:
        practice = await session.scalar(select(Practice).where(Practice.user_id == SAM))
    assert practice is not None and practice.status == "active"  # the command did not run
