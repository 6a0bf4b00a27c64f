"""The clinician's side end to end: registration, invite, consent, summary, export, refusals."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from bot.texts import t
from storage.models import Practice, Suggestion, User
from tests.support.clinicians import DOCTOR, audit, become_clinician, link_client, report
from tests.support.harness import CLINICIAN_CODE, Harness
from tests.support.practices import saved_practice

SAM, ALEX = 6002, 6003


async def test_wrong_clinician_codes_are_limited(harness: Harness) -> None:
    await harness.send(DOCTOR, "/start")
    for _ in range(5):
        assert await harness.send(DOCTOR, "/clinician guess") == [t.CLINICIAN_WRONG_CODE]
    assert await harness.send(DOCTOR, f"/clinician {CLINICIAN_CODE}") == [t.CLINICIAN_TOO_MANY]
    async with harness.db.session() as session:
        user = await session.get(User, DOCTOR)
    assert user is not None and not user.is_clinician


async def test_summary_counts_match_what_the_client_reported(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    await report(harness, SAM, "Did it")
    await report(harness, SAM, "Partly")
    await report(harness, SAM, "Not today", "Too big", choice="Shorter")

    [overview] = await harness.send(DOCTOR, "/summary")
    assert overview.splitlines()[0] == t.SUMMARY_HEADER
    assert overview.splitlines()[1].startswith("1. Sam: tried 2, not today 1; reported today")

    replies = await harness.send(DOCTOR, "/summary 1")
    detail = "\n".join(replies[:-1])
    assert "Every day around 21:00, before bed: read 5 minutes" in detail
    assert "Tried 1, partly 1, not today 1" in detail
    assert "too big or too long × 1" in detail
    assert "Changed: read 10 minutes → read 5 minutes, after 1 × too big or too long" in detail
    chart = harness.fake.last(DOCTOR)
    assert "photo" in chart and chart["_uploaded"].startswith(b"\x89PNG")

    assert (DOCTOR, SAM, "summary", True) in await audit(harness)
    [sharing] = await harness.send(SAM, "/sharing")
    assert sharing.startswith("You share with Sam since") and "Last looked:" in sharing


async def test_export_sends_a_csv_of_the_same_data(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    await report(harness, SAM, "Did it")

    await harness.send(DOCTOR, "/export Sam")

    document = harness.fake.last(DOCTOR)
    rows = list(csv.reader(io.StringIO(document["_uploaded"].decode())))
    assert rows[0] == ["client", "practice", "date", "outcome", "talk_over"]
    assert [row[3] for row in rows[1:]] == ["did"]
    assert (DOCTOR, SAM, "export", True) in await audit(harness)


async def test_an_export_is_named_by_first_name_and_date_never_the_telegram_id(
    harness: Harness,
) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    meet = harness.fake.send_text(ALEX, "/start", first_name="../Jo Ann\u202e")
    await harness.handled(meet["update_id"])
    await saved_practice(harness, ALEX)
    await link_client(harness, ALEX)
    dated = r"-\d{4}-\d{2}-\d{2}\.csv"

    await harness.send(DOCTOR, "/export 1")
    name = harness.fake.last(DOCTOR)["document"]["file_name"]
    assert re.fullmatch("between-Sam" + dated, name), name
    await harness.send(DOCTOR, "/export 2")
    name = harness.fake.last(DOCTOR)["document"]["file_name"]
    assert re.fullmatch("between-Jo-Ann" + dated, name), name


async def test_after_the_client_stops_sharing_the_clinician_sees_nothing(
    harness: Harness,
) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)

    await harness.send(SAM, "/sharing")
    assert await harness.press(SAM, "Stop sharing") == [t.SHARING_STOPPED.format(name="Sam")]

    assert await harness.send(DOCTOR, "/summary") == [t.SUMMARY_NO_CLIENTS]
    assert await harness.send(DOCTOR, "/summary 1") == [t.SUMMARY_UNKNOWN_CLIENT]
    assert await harness.send(DOCTOR, "/export 1") == [t.SUMMARY_UNKNOWN_CLIENT]
    assert (DOCTOR, None, "summary", False) in await audit(harness)


async def test_clients_and_unlinked_clinicians_are_refused(harness: Harness) -> None:
    await saved_practice(harness, ALEX)
    assert await harness.send(ALEX, "/summary") == [t.CLINICIAN_ONLY]
    assert await harness.send(ALEX, "/export 1") == [t.CLINICIAN_ONLY]
    await become_clinician(harness, DOCTOR)
    assert await harness.send(DOCTOR, "/summary Alex") == [t.SUMMARY_UNKNOWN_CLIENT]
    refused = [row for row in await audit(harness) if not row[3]]
    assert len(refused) == 3


async def test_an_invite_works_once(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    [code_message] = await harness.send(DOCTOR, "/invite")
    code = code_message.split("code to your client: ")[1].split("\n")[0]
    await saved_practice(harness, SAM)
    await harness.send(SAM, f"/link {code}")
    await harness.press(SAM, "Yes, share")
    await saved_practice(harness, ALEX)
    assert await harness.send(ALEX, f"/link {code}") == [t.LINK_UNKNOWN]


async def test_a_suggested_practice_is_shaped_by_the_client_or_declined(
    harness: Harness,
) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)

    replies = await harness.send(DOCTOR, "/suggest 1 a short walk after lunch")
    assert replies == [t.SUGGESTION_SENT.format(name="Sam")]
    assert harness.fake.last(SAM)["text"] == t.SUGGESTION.format(
        name="Sam", text="a short walk after lunch"
    )
    assert await harness.press(SAM, "Shape it with me") == [t.ASK_STEP]
    await harness.send(SAM, "shoes on and out of the door")
    await harness.press(SAM, "9")
    await harness.send(SAM, "after lunch")
    await harness.press(SAM, "Weekdays")
    await harness.send(SAM, "13:00")
    await harness.press(SAM, "Skip")
    await harness.press(SAM, "Skip")
    await harness.press(SAM, "Looks right")
    async with harness.db.session() as session:
        goals = (await session.scalars(select(Practice.goal).where(Practice.user_id == SAM))).all()
    assert "a short walk after lunch" in goals

    await harness.send(DOCTOR, "/suggest Sam journaling")
    assert await harness.press(SAM, "Not now") == [t.SUGGESTION_DECLINED]
    assert harness.fake.last(DOCTOR)["text"] == t.SUGGESTION_DECLINED_NOTE.format(
        name="Sam", text="journaling"
    )


async def test_a_supporter_hears_only_of_tries_and_can_send_a_kind_word(
    harness: Harness,
) -> None:
    friend = 6010
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/supporter")
    [code_message] = await harness.press(SAM, "the week's count")
    code = code_message.split("this code: ")[1].split("\n")[0]
    await harness.send(friend, "/start")
    [linked] = await harness.send(friend, f"/support {code}")
    assert linked.startswith("Thank you for supporting Sam")

    before = len(harness.fake.sent(friend))
    await report(harness, SAM, "Not today", "No time")
    assert len(harness.fake.sent(friend)) == before  # "not today" is never passed on
    await report(harness, SAM, "Did it")
    note = harness.fake.last(friend)
    assert note["text"] == "Sam tried their practice today. Tries this week: 1."

    assert await harness.press(friend, "Send a kind word") == [
        t.SUPPORT_ASK_REPLY.format(name="Sam")
    ]
    assert await harness.send(friend, "Proud of you!") == [t.SUPPORT_SENT]
    assert harness.fake.last(SAM)["text"] == "Sam says: Proud of you!"

    assert await harness.send(friend, "/summary") == [t.CLINICIAN_ONLY]

    await harness.send(SAM, "/supporter")
    listing = next(m for m in harness.fake.sent(SAM)[::-1] if m["text"] == t.SUPPORTERS_NOW)
    assert await harness.press_on(SAM, listing, "Remove Sam") == [
        t.SUPPORTER_REMOVED.format(name="Sam")
    ]
    before = len(harness.fake.sent(friend))
    await report(harness, SAM, "Did it")
    assert len(harness.fake.sent(friend)) == before


async def test_each_clinician_sees_only_the_clients_who_share_with_them(
    harness: Harness,
) -> None:
    other_doctor = 6020
    await become_clinician(harness, DOCTOR)
    await become_clinician(harness, other_doctor)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    await saved_practice(harness, ALEX)
    [code_message] = await harness.send(other_doctor, "/invite")
    code = code_message.split("code to your client: ")[1].split("\n")[0]
    await harness.send(ALEX, f"/link {code}")
    await harness.press(ALEX, "Yes, share")

    [mine] = await harness.send(DOCTOR, "/summary")
    [theirs] = await harness.send(other_doctor, "/summary")
    assert len(mine.splitlines()) == 2 and len(theirs.splitlines()) == 2
    assert await harness.send(DOCTOR, "/summary 2") == [t.SUMMARY_UNKNOWN_CLIENT]
    subjects = {(actor, subject) for actor, subject, action, ok in await audit(harness) if ok}
    assert subjects == {(DOCTOR, SAM), (other_doctor, ALEX)}


async def test_a_suggestion_to_a_client_who_stopped_the_bot_is_not_kept(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    harness.fake.block(SAM)

    replies = await harness.send(DOCTOR, "/suggest 1 a short walk")

    assert replies == [t.SUGGESTION_UNDELIVERED.format(name="Sam")]
    async with harness.db.session() as session:
        assert (await session.scalars(select(Suggestion))).all() == []
