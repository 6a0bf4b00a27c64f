"""Each client's language: from Telegram's language_code at first contact, changed with
/language, shown in /mydata, and used to hear their voice notes (end to end, real model)."""

from __future__ import annotations

import json

from bot.texts import speaking, t
from storage.models import User
from tests.support.harness import Harness
from tests.support.voice import send_voice, settled_jobs

SAM = 5101


async def language_of(harness: Harness, user_id: int) -> str | None:
    async with harness.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.language


async def test_the_language_comes_from_telegram_at_first_contact(harness: Harness) -> None:
    harness.fake.language_codes[SAM] = "es"
    harness.fake.language_codes[SAM + 1] = "pt-br"
    harness.fake.language_codes[SAM + 2] = "tlh"  # no voice model hears it: detected per note
    for user_id in (SAM, SAM + 1, SAM + 2):
        await harness.onboard(user_id)
    assert await language_of(harness, SAM) == "es"
    assert await language_of(harness, SAM + 1) == "pt"
    assert await language_of(harness, SAM + 2) is None


async def test_language_buttons_change_it_and_telegram_does_not_change_it_back(
    harness: Harness,
) -> None:
    harness.fake.language_codes[SAM] = "en"
    await harness.onboard(SAM)

    [shown] = await harness.send(SAM, "/language")
    assert shown == t.LANGUAGE_NOW.format(language="English") + t.LANGUAGE_PICK
    labels = [label for label, _ in harness.fake.buttons(harness.fake.last(SAM))]
    assert {"English", "Español", "Deutsch", "Русский"} <= set(labels)

    with speaking("de"):
        saved = t.LANGUAGE_SAVED.format(language="Deutsch")
    assert await harness.press(SAM, "Deutsch") == [saved]
    assert await language_of(harness, SAM) == "de"
    await harness.send(SAM, "/help")  # Telegram still says "en": the choice stays
    assert await language_of(harness, SAM) == "de"


async def test_a_language_code_can_be_typed(harness: Harness) -> None:
    await harness.onboard(SAM)
    with speaking("es"):  # the answer is in the new language
        saved = t.LANGUAGE_SAVED.format(language="Español")
    assert await harness.send(SAM, "/language es") == [saved]
    assert await language_of(harness, SAM) == "es"
    assert await harness.send(SAM, "/language ja") == [t.LANGUAGE_SAVED.format(language="ja")]
    assert await harness.send(SAM, "/language klingon") == [t.LANGUAGE_UNKNOWN]
    assert await language_of(harness, SAM) == "ja"


async def test_the_language_is_in_mydata(harness: Harness) -> None:
    harness.fake.language_codes[SAM] = "de"
    await harness.onboard(SAM)
    await harness.send(SAM, "/mydata")
    json_doc = next(m for m in harness.fake.sent(SAM) if "document" in m)
    assert json.loads(json_doc["_uploaded"])["user"]["language"] == "de"


async def test_a_spanish_speakers_voice_note_is_heard_in_spanish(harness: Harness) -> None:
    harness.fake.language_codes[SAM] = "es"
    await harness.onboard(SAM)

    got_it, heard = await send_voice(harness, SAM, "es-sister.ogg", seconds=5)

    with speaking("es"):  # a Spanish speaker is answered in Spanish
        assert got_it == t.VOICE_GOT_IT
    assert "por teléfono" in heard.lower()  # heard as English it is "the telephone"-ish noise
    [job] = await settled_jobs(harness)
    assert job.transcript and "teléfono" in job.transcript.lower()


async def test_a_language_chosen_with_the_command_hears_the_next_note(harness: Harness) -> None:
    """The worker looks the client's language up when it transcribes."""
    await harness.onboard(SAM)  # Telegram says English
    await harness.send(SAM, "/language de")
    _, heard = await send_voice(harness, SAM, "de-walk.ogg", seconds=5)
    assert "park" in heard.lower() and "bäume" in heard.lower()
