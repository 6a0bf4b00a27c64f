"""Spanish, German and Russian clients hear Between in their language end to end (fake Bot API):
onboarding, /new, a nudge and its report, a voice note heard with the real bundled model, crisis
words, the command menu, /language mid-flow."""

from __future__ import annotations

import json
import re
from datetime import time, timedelta

import pytest

from bot.texts import speaking, t
from storage.models import utcnow
from tests.support.clinicians import DOCTOR
from tests.support.harness import CLINICIAN_CODE, Harness
from tests.support.nudges import make_due, set_user
from tests.support.voice import send_voice

SAM = 5101
LANGUAGES = ("es", "de", "ru")
# A crisis phrase a client might write in each language (any case, accents as typed).
CRISIS_WORDS = {
    "es": "A veces QUIERO MORIR, la verdad",
    "de": "Manchmal will ich nicht mehr leben. Ich will sterben",
    "ru": "Иногда я Хочу Умереть",
}


def said(in_language: str, name: str, **values: object) -> str:
    """The text `name` as the client should see it in `in_language`."""
    with speaking(in_language):
        text = getattr(t, name)
        return text.format(**values) if values else text


async def onboard_in(harness: Harness, user_id: int, language: str) -> list[str]:
    """/start, consent and time zone, pressing the buttons the client sees in their language."""
    harness.fake.language_codes[user_id] = language
    replies = await harness.send(user_id, "/start")
    replies += await harness.press(user_id, said(language, "CONSENT_YES"))
    replies += await harness.send(user_id, "London")
    replies += await harness.press(user_id, said(language, "TIMEZONE_RIGHT"))
    return replies


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_client_is_onboarded_designs_is_nudged_and_reports_in_their_language(
    harness: Harness, language: str
) -> None:
    replies = await onboard_in(harness, SAM, language)
    assert said(language, "ASK_TIMEZONE") in replies
    assert t.ASK_TIMEZONE not in replies  # not the English one

    assert await harness.send(SAM, "/new") == [said(language, "ASK_GOAL")]
    assert await harness.send(SAM, "leer") == [said(language, "ASK_STEP")]
    assert await harness.send(SAM, "read 10 minutes") == [said(language, "ASK_CONFIDENCE")]
    assert await harness.send(SAM, "9") == [said(language, "ASK_ANCHOR")]
    assert await harness.send(SAM, "before bed") == [said(language, "ASK_DAYS")]
    assert await harness.press(SAM, said(language, "DAYS_EVERY")) == [said(language, "ASK_TIME")]
    local_time = {"es": "21 h", "de": "um 21 Uhr", "ru": "в 21:00"}[language]
    assert await harness.send(SAM, local_time) == [said(language, "ASK_IF_THEN")]
    await harness.press(SAM, said(language, "SKIP"))
    [card] = await harness.press(SAM, said(language, "SKIP"))
    assert card.startswith(said(language, "CONFIRM_INTRO"))
    assert "21:00" in card
    await harness.press(SAM, said(language, "CONFIRM_SAVE"))
    await harness.send(SAM, "/cancel")  # whatever the save offers next (a rehearsal) waits
    await set_user(harness, SAM, quiet_start=time(0, 0), quiet_end=time(0, 0))

    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM)
    [nudge] = (await harness.fake.wait_for(SAM, before + 1))[before:]
    assert "read 10 minutes" in nudge["text"]
    labels = [label for label, _ in harness.fake.buttons(nudge)]
    assert said(language, "DID_IT") in labels and t.DID_IT not in labels
    assert await harness.press(SAM, said(language, "DID_IT")) == [
        said(language, "ACK_DID"),
        said(language, "ASK_REFLECTION"),
    ]


# A committed espeak-ng clip in each language (tests/fixtures/audio/languages.json) and a word
# of it the multilingual base model hears when told the client's language.
VOICE_CLIPS = {
    "es": ("es-sister.ogg", "teléfono"),
    "de": ("de-walk.ogg", "park"),
    "ru": ("ru-sister.ogg", "сестра"),
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_voice_note_is_heard_and_answered_in_the_clients_language(
    harness: Harness, language: str
) -> None:
    await onboard_in(harness, SAM, language)
    clip, word = VOICE_CLIPS[language]

    got_it, heard = await send_voice(harness, SAM, clip, seconds=5)

    assert got_it == said(language, "VOICE_GOT_IT") != t.VOICE_GOT_IT
    opening = said(language, "VOICE_HEARD").split("{transcript}")[0]
    assert opening != t.VOICE_HEARD.split("{transcript}")[0]  # not the English words
    assert heard.startswith(opening)
    assert word in heard.lower()  # heard in the language, by the worker, in the language


@pytest.mark.parametrize("language", LANGUAGES)
async def test_crisis_words_in_each_language_get_the_resources_in_that_language(
    harness: Harness, language: str
) -> None:
    harness.fake.language_codes[SAM] = language
    crisis = said(language, "DEFAULT_CRISIS")
    # Before any consent (nothing stored), and whatever language the words are in.
    assert await harness.send(SAM, CRISIS_WORDS[language]) == [
        said(language, "CRISIS_REPLY", crisis=crisis)
    ]
    other = LANGUAGES[(LANGUAGES.index(language) + 1) % len(LANGUAGES)]
    assert await harness.send(SAM, CRISIS_WORDS[other]) == [
        said(language, "CRISIS_REPLY", crisis=crisis)
    ]


async def test_the_command_menu_is_published_in_every_language_with_english_names(
    harness: Harness,
) -> None:
    default_scope = json.dumps({"type": "default"}, sort_keys=True)
    fake = harness.fake
    await fake.wait_until(lambda: len(fake.calls_of("setMyCommands")) > len(LANGUAGES), 30)
    english = fake.commands[(default_scope, "")]
    assert english
    for language in LANGUAGES:
        menu = harness.fake.commands[(default_scope, language)]
        assert [c["command"] for c in menu] == [c["command"] for c in english]
        lines = said(language, "COMMAND_MENU")
        assert [c["description"] for c in menu] == [lines[c["command"]] for c in menu]
        assert menu != english


async def test_switching_language_mid_flow_speaks_the_new_one_from_the_next_reply(
    harness: Harness,
) -> None:
    await onboard_in(harness, SAM, "en")
    assert await harness.send(SAM, "/new") == [t.ASK_GOAL]
    assert await harness.send(SAM, "reading") == [t.ASK_STEP]
    assert await harness.send(SAM, "/language de") == [
        said("de", "LANGUAGE_SAVED", language="Deutsch")
    ]
    # Telegram still says English; the choice holds, and the open flow goes on in German.
    assert await harness.send(SAM, "read 10 minutes") == [said("de", "ASK_CONFIDENCE")]


PAUSE_UNTIL = {  # what a client types, and the day as their language writes it back
    "es": ("/pause hasta el 12 de diciembre", "12 dic"),
    "de": ("/pause bis 12. Dezember", "12. Dez."),
    "ru": ("/pause до 12 декабря", "12 дек."),
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_pause_until_a_day_is_read_and_told_back_in_the_clients_language(
    harness: Harness, language: str
) -> None:
    await onboard_in(harness, SAM, language)
    typed, shown = PAUSE_UNTIL[language]

    assert await harness.send(SAM, typed) == [said(language, "PAUSED_ALL_UNTIL", day=shown)]
    with speaking(language):  # the example the client is given reads the same way
        example = re.search(r"/pause [^»\"“”]+", t.PAUSE_DATE_UNKNOWN)
    assert example is not None
    await harness.send(SAM, "/resume")
    [paused] = await harness.send(SAM, example.group(0))
    assert paused.startswith(said(language, "PAUSED_ALL_UNTIL").split("{day}")[0])


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_clinicians_invite_code_says_until_when_in_their_language(
    harness: Harness, language: str
) -> None:
    harness.fake.language_codes[DOCTOR] = language
    await harness.send(DOCTOR, "/start")
    await harness.send(DOCTOR, f"/clinician {CLINICIAN_CODE}")

    [code_message] = await harness.send(DOCTOR, "/invite")

    expires = utcnow() + timedelta(days=7)
    with speaking(language):
        shown = t.day(expires)
    assert shown in code_message and expires.strftime("%-d %b") not in code_message
    assert code_message.startswith(said(language, "INVITE_CODE").split("{code}")[0])
