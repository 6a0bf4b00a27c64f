"""`/mydata` and `/forget` end to end: everything about a person goes out, or goes for good.

The erasure check walks every table in the metadata, so a table added later that refers to
people fails here until `storage/privacy.py` handles it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Table, select

from bot.config import Settings
from bot.rules import mydata
from bot.texts import t
from handlers.privacy import CONFIRM_WITHIN, decide
from storage.models import AuditEntry, Base, Practice, ThoughtRecord, ToBring, User
from storage.privacy import FORMER_READER, owned_tables
from tests.support.clinicians import DOCTOR, become_clinician, link_client, report
from tests.support.harness import Harness
from tests.support.nudges import make_due, set_user
from tests.support.practices import design_practice, saved_practice

SAM, ALEX, FRIEND = 7001, 7002, 7003
AUDIO = Path(__file__).parent / "fixtures" / "audio"
# Columns that name a person, by name; columns with a foreign key to users.id count too.
PERSON_COLUMN = re.compile(r"(^|_)(user|client|clinician|supporter|actor|subject|chat)(_id)?$")
PERSON_COLUMN_NAMES = {"used_by"}
DONE = f"{t.FORGET_DONE}\n\n{t.FORGET_TELEGRAM}"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No transcription workers: a voice note stays pending, its audio on disk. No per-chat
    flood gate either: these clients do a month's worth in seconds, and that is not the test."""
    return settings.model_copy(update={"transcribe_workers": 0, "flood_rate": 0})


# ------------------------------------------------------------------ finding rows about someone


# Tables that hold nobody's id: code_attempts keeps only a keyed hash of who tried a wrong
# code, so that /forget cannot reset the limit on wrong codes (storage/codes.py). The outbox
# holds a reply only until Telegram has it (bot/outbox.py), so it is empty between updates.
ABOUT_NO_ONE = {"key_check", "code_attempts", "outbox"}


def _names_a_person(column: Column[Any]) -> bool:
    if column.table.name == "users" and column.primary_key:
        return True
    if any(fk.column.table.name == "users" for fk in column.foreign_keys):
        return True
    return bool(PERSON_COLUMN.search(column.name)) or column.name in PERSON_COLUMN_NAMES


def _payload_names(value: Any, user_id: int) -> bool:
    """Whether a stored Telegram payload holds the person (as a user or a chat)."""
    if isinstance(value, dict):
        if value.get("id") == user_id and ("first_name" in value or "type" in value):
            return True
        return any(_payload_names(v, user_id) for v in value.values())
    if isinstance(value, list):
        return any(_payload_names(v, user_id) for v in value)
    return False


async def rows_about(
    harness: Harness, user_id: int, owned: dict[str, set[Any]] | None = None
) -> dict[str, dict[Any, dict[str, Any]]]:
    """Every row, in every table, that names the person, or points at a row that did.

    `owned` (primary keys of rows found earlier) catches rows left pointing at erased ones.
    """
    tables: list[Table] = list(Base.metadata.sorted_tables)
    found: dict[str, dict[Any, dict[str, Any]]] = {table.name: {} for table in tables}
    pointed = {name: set(keys) for name, keys in (owned or {}).items()}
    async with harness.db.session() as session:
        changed = True
        while changed:  # reports point at practices, which point at users...
            changed = False
            for table in tables:
                [key] = table.primary_key.columns
                for row in (await session.execute(select(table))).mappings():
                    if row[key.name] in found[table.name]:
                        continue
                    about = any(
                        row[c.name] == user_id for c in table.columns if _names_a_person(c)
                    ) or any(
                        row[c.name] in pointed.get(fk.column.table.name, set())
                        for c in table.columns
                        for fk in c.foreign_keys
                    )
                    if table.name == "inbox":
                        about = about or _payload_names(row["payload"], user_id)
                    if about:
                        found[table.name][row[key.name]] = dict(row)
                        pointed.setdefault(table.name, set()).add(row[key.name])
                        changed = True
    return found


def keys(found: dict[str, dict[Any, dict[str, Any]]]) -> dict[str, set[Any]]:
    return {name: set(rows) for name, rows in found.items()}


def audio_files(settings: Settings) -> list[Path]:
    folder = settings.audio_dir
    return sorted(folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------ a client's whole life here


async def thought_record(harness: Harness, user_id: int, situation: str) -> None:
    await harness.send(user_id, "/thought")
    for answer in (situation, "they think I'm useless", "80", "anxious", "70"):
        await harness.send(user_id, answer)
    await harness.press(user_id, "Mind reading")
    for answer in ("they were busy, not cross", "40", "30"):
        await harness.send(user_id, answer)


async def voice_note(harness: Harness, user_id: int) -> None:
    update = harness.fake.send_voice(user_id, (AUDIO / "sister.ogg").read_bytes(), duration=4)
    await harness.handled(update["update_id"])


async def sams_life(harness: Harness) -> None:
    """Sam uses everything: a practice, reports, a reflection, a change, a nudge, a thought
    record, crisis words, a voice note, a clinician (who reads and suggests), a supporter,
    supporting Alex, and a flow left half-way. Alex and a clinician use the bot too."""
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    await report(harness, SAM, "Did it")
    await harness.send(SAM, "/done")
    await harness.press(SAM, "Did it")
    assert await harness.send(SAM, "felt calm afterwards") == [t.REFLECTION_SAVED]
    await report(harness, SAM, "Not today", "Too big", choice="Shorter")
    await harness.send(DOCTOR, "/summary 1")
    await harness.send(DOCTOR, "/suggest 1 a short walk after lunch")
    await harness.press(SAM, "Not now")
    await harness.send(SAM, "/week")  # the week's one question, and a line to bring
    await harness.press(SAM, t.WEEK_CHOICES["keep"])
    async with harness.db.session() as session:  # the day-before question: tests/test_week.py
        session.add(ToBring(user_id=SAM, text="my sister's visit"))

    await harness.send(SAM, "/supporter")
    [code_message] = await harness.press(SAM, "Only")
    await harness.send(FRIEND, "/start")
    await harness.send(FRIEND, f"/support {code_message.split('this code: ')[1].split()[0]}")

    await harness.onboard(ALEX)
    await design_practice(harness, ALEX)
    await harness.press(ALEX, "Looks right")
    await thought_record(harness, ALEX, "alex at the bus stop")
    await harness.send(ALEX, "/supporter")
    [code_message] = await harness.press(ALEX, "the week's count")
    await harness.send(SAM, f"/support {code_message.split('this code: ')[1].split()[0]}")

    await thought_record(harness, SAM, "sam at the team meeting")
    await harness.send(SAM, "some days I want to end my life")  # crisis words are flagged
    await set_user(harness, SAM, quiet_start=time(0, 0), quiet_end=time(0, 0))
    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM)
    await harness.fake.wait_for(SAM, before + 1)  # the nudge: a delivery row
    await harness.send(SAM, "/thought")
    await voice_note(harness, SAM)  # in the middle of a thought record, left there


# ------------------------------------------------------------------ /mydata


async def test_mydata_holds_what_the_client_stored_and_nothing_of_another_client(
    harness: Harness,
) -> None:
    await sams_life(harness)

    replies = await harness.send(SAM, "/mydata")

    assert replies == [t.MYDATA_CAPTION, t.MYDATA_THOUGHTS_CAPTION]
    json_doc, text_doc = harness.fake.sent(SAM)[-2:]
    assert re.fullmatch(
        r"between-mydata-\d{4}-\d{2}-\d{2}\.json", json_doc["document"]["file_name"]
    )
    export = json.loads(json_doc["_uploaded"])
    assert export["user"]["id"] == SAM and export["user"]["timezone"] == "Europe/London"
    assert export["user"]["consent_version"] == t.CONSENT_VERSION
    assert [p["step"] for p in export["practices"]] == ["read 5 minutes"]
    assert export["practices"][0]["anchor"] == "before bed"
    outcomes = [r["outcome"] for r in export["reports"]]
    assert outcomes == ["did", "did", "not_today"]
    assert "felt calm afterwards" in [r["reflection"] for r in export["reports"]]
    assert [(a["before"], a["after"]) for a in export["adjustments"]] == [
        ("read 10 minutes", "read 5 minutes")
    ]
    assert export["deliveries"] and export["deliveries"][0]["kind"] == "nudge"
    [record] = export["thought_records"]
    assert record["situation"] == "sam at the team meeting" and record["trap"] == "mind_reading"
    [note] = export["voice_notes"]
    assert note["status"] == "pending" and note["audio_kept_until_transcribed"] is True
    assert "audio_path" not in note and "file_id" not in note
    [share] = export["shares"]
    assert share["you_are"] == "client" and share["clinician"]["role"] == "clinician"
    assert set(share["clinician"]) == {"role", "first_name"}  # never their Telegram id
    assert [s["text"] for s in export["suggestions"]] == ["a short walk after lunch"]
    assert len(export["supporters"]) == 2  # their supporter, and Alex whom they support
    reads = {(a["actor"]["role"], a["action"]) for a in export["audit_log"]}
    assert ("clinician", "summary") in reads
    assert export["conversation"]["flow"] == "thought"
    assert export["messages_received"]
    for table, _ in owned_tables():  # tables found by their foreign key to users (safety flags)
        assert export[table.name], table.name
    # ISO 8601 everywhere a time is stored.
    assert datetime.fromisoformat(export["user"]["consent_at"]).tzinfo is not None
    assert datetime.fromisoformat(record["created_at"]).utcoffset() == timedelta(0)

    everything = json_doc["_uploaded"].decode()
    assert "speaking up" not in everything and "alex at the bus stop" not in everything
    assert text_doc["document"]["file_name"].endswith(".txt")
    text = text_doc["_uploaded"].decode()
    assert "Situation: sam at the team meeting" in text and "alex" not in text


async def test_mydata_for_someone_with_nothing_stored_says_so_kindly(harness: Harness) -> None:
    assert await harness.send(SAM, "/mydata") == [t.MYDATA_NOTHING]
    async with harness.db.session() as session:
        assert await session.get(User, SAM) is None  # asking created nothing


async def test_mydata_with_a_great_deal_stored_is_still_two_files(harness: Harness) -> None:
    await harness.onboard(SAM)
    long_words = "went round and round in my head " * 120
    async with harness.db.session() as session:
        for number in range(300):
            session.add(
                ThoughtRecord(
                    user_id=SAM,
                    situation=f"evening {number}: {long_words}",
                    thought="I can't cope",
                    belief_before=90,
                    feeling="worried",
                    intensity_before=80,
                    trap="catastrophising",
                    balanced="I have coped before",
                    belief_after=50,
                    intensity_after=40,
                )
            )

    assert await harness.send(SAM, "/mydata") == [t.MYDATA_CAPTION, t.MYDATA_THOUGHTS_CAPTION]
    json_doc, text_doc = harness.fake.sent(SAM)[-2:]
    assert len(json.loads(json_doc["_uploaded"])["thought_records"]) == 300
    assert len(text_doc["_uploaded"]) > 1_000_000
    assert "300. " in text_doc["_uploaded"].decode()


def test_the_thought_records_file_reads_as_cards_in_the_clients_time() -> None:
    record = {
        "created_at": "2026-07-03T18:05:00+00:00",
        "situation": "at the team meeting",
        "thought": "they think I'm useless",
        "belief_before": 80,
        "feeling": "anxious",
        "intensity_before": 70,
        "trap": "mind_reading",
        "balanced": "they were busy, not cross",
        "belief_after": 40,
        "intensity_after": 30,
    }

    text = mydata.thought_records_text([record, record], "Europe/London")

    assert text == (
        "Your thought records from Between (2)\n"
        "\n"
        "1. Friday 3 July 2026, 19:05\n"
        "Situation: at the team meeting\n"
        "Thought: they think I'm useless (80%)\n"
        "Feeling: anxious (70/100)\n"
        "Thinking trap: Mind reading\n"
        "More balanced: they were busy, not cross\n"
        "Now: belief 40%, feeling 30/100\n"
        "\n"
        "2. Friday 3 July 2026, 19:05\n"
        "Situation: at the team meeting\n"
        "Thought: they think I'm useless (80%)\n"
        "Feeling: anxious (70/100)\n"
        "Thinking trap: Mind reading\n"
        "More balanced: they were busy, not cross\n"
        "Now: belief 40%, feeling 30/100\n"
    )
    assert "18:05 UTC" in mydata.thought_records_text([record], None)


# ------------------------------------------------------------------ /forget


async def test_forget_asks_first_and_keep_erases_nothing(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/thought")  # a flow in progress survives "keep" too
    before = await rows_about(harness, SAM)

    assert await harness.send(SAM, "/forget") == [t.FORGET_ASK]
    question = harness.fake.last(SAM)
    assert [label for label, _ in harness.fake.buttons(question)] == [t.FORGET_YES, t.FORGET_NO]
    assert await harness.press(SAM, t.FORGET_NO) == [t.FORGET_KEPT]

    after = await rows_about(harness, SAM)
    for table, rows in before.items():
        if table != "inbox":  # the /forget messages themselves arrived
            assert after[table] == rows, table
    assert not harness.fake.buttons(harness.fake.sent(SAM)[-2])  # the question is closed
    assert await harness.send(SAM, "situation: the bus") == [t.ASK_THOUGHT]


async def test_forget_erases_every_row_about_them_their_audio_and_no_one_elses(
    harness: Harness, settings: Settings
) -> None:
    await sams_life(harness)
    before = await rows_about(harness, SAM)
    untouched = {person: await rows_about(harness, person) for person in (ALEX, DOCTOR, FRIEND)}
    missing = [t for t, rows in before.items() if not rows and t not in ABOUT_NO_ONE]
    assert missing == [], f"extend sams_life (and erase_user) to cover {missing}"
    [sams_audio] = audio_files(settings)
    others_sent = {p: len(harness.fake.sent(p)) for p in (ALEX, DOCTOR, FRIEND)}

    await harness.send(SAM, "/forget")
    assert await harness.press(SAM, t.FORGET_YES) == [DONE]

    left = await rows_about(harness, SAM, keys(before))
    assert {table: rows for table, rows in left.items() if rows} == {}
    assert not sams_audio.exists()
    assert {p: len(harness.fake.sent(p)) for p in others_sent} == others_sent  # nobody told
    for person, rows in untouched.items():  # everyone else keeps all that was not Sam's too
        now = await rows_about(harness, person)
        expected = {table: set(found) - set(before[table]) for table, found in rows.items()}
        assert {table: set(found) - set(before[table]) for table, found in now.items()} == (
            expected
        ), person
    # Sam was Alex's supporter: that link is Alex's, so it stays, ended and without Sam.
    [link] = (await rows_about(harness, ALEX))["supporters"].values()
    assert link["supporter_id"] is None and link["removed_at"] is not None
    async with harness.db.session() as session:
        alex = await session.scalar(select(Practice.step).where(Practice.user_id == ALEX))
    assert alex == "say one clear sentence out loud"

    assert await harness.send(DOCTOR, "/summary") == [t.SUMMARY_NO_CLIENTS]

    await harness.restart()
    left = await rows_about(harness, SAM, keys(before))
    assert {table: rows for table, rows in left.items() if rows} == {}
    assert audio_files(settings) == []

    replies = await harness.send(SAM, "/start")
    assert replies[0] == t.WELCOME.format(name="Sam") and replies[-1] == t.PRIVACY
    assert await harness.send(SAM, "/mydata") != [t.MYDATA_NOTHING]
    export = json.loads(harness.fake.last(SAM)["_uploaded"])
    assert export["practices"] == export["thought_records"] == export["reports"] == []


async def test_a_stale_or_repeated_confirm_is_answered_kindly(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    questions = []
    for _ in range(3):
        await harness.send(SAM, "/forget")
        questions.append(harness.fake.last(SAM))
    first, second, third = questions
    assert await harness.press_on(SAM, third, t.FORGET_YES) == [DONE]

    # Pressed again on another question: there is nothing left, and nothing goes wrong.
    assert await harness.press_on(SAM, first, t.FORGET_YES) == [
        f"{t.FORGET_ALREADY}\n\n{t.FORGET_TELEGRAM}"
    ]

    # Once they have started again, a question from before erases nothing.
    await saved_practice(harness, SAM)
    assert await harness.press_on(SAM, second, t.FORGET_YES) == [t.FORGET_STALE]
    async with harness.db.session() as session:
        step = await session.scalar(select(Practice.step).where(Practice.user_id == SAM))
    assert step == "read 10 minutes"

    # An answered question has no buttons left to press by mistake.
    for question in questions:
        [message] = [
            m for m in harness.fake.sent(SAM) if m["message_id"] == question["message_id"]
        ]
        assert not harness.fake.buttons(message)


async def test_a_clinician_who_forgets_ends_their_clients_sharing_quietly(
    harness: Harness,
) -> None:
    await become_clinician(harness, DOCTOR)
    await saved_practice(harness, SAM)
    await link_client(harness, SAM)
    await harness.send(DOCTOR, "/summary 1")
    sent_to_sam = len(harness.fake.sent(SAM))

    await harness.send(DOCTOR, "/forget")
    assert await harness.press(DOCTOR, t.FORGET_YES) == [DONE]

    assert len(harness.fake.sent(SAM)) == sent_to_sam
    left = await rows_about(harness, DOCTOR)
    assert {table: rows for table, rows in left.items() if rows} == {}
    assert await harness.send(SAM, "/sharing") == [t.SHARING_NONE]
    assert await harness.send(DOCTOR, "/summary") == [t.CLINICIAN_ONLY]
    async with harness.db.session() as session:
        assert await session.get(User, SAM) is not None
        reads = (
            await session.scalars(select(AuditEntry).where(AuditEntry.subject_id == SAM))
        ).all()
    # Sam keeps the record that their data was read, by a reader no longer named.
    assert [(r.actor_id, r.action) for r in reads] == [(FORMER_READER, "summary")]


def test_a_confirmation_counts_only_for_the_same_person_and_only_for_a_while() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    asked = format(int(now.timestamp()), "x")
    later = now + CONFIRM_WITHIN + timedelta(seconds=1)
    assert decide("abc", "abc", asked, now, exists=True) == "erase"
    assert decide("abc", "abc", asked, later, exists=True) == "stale"
    assert decide("def", "abc", asked, now, exists=True) == "stale"  # started again since
    assert decide("abc", "abc", "not-hex", now, exists=True) == "stale"
    assert decide("0", "abc", asked, now, exists=False) == "already"
    assert decide("0", "0", asked, now, exists=False) == "erase"


async def test_an_old_button_after_forget_or_before_consent_starts_nothing(
    harness: Harness,
) -> None:
    await saved_practice(harness, SAM)
    await harness.send(SAM, "/done")
    asked = harness.fake.last(SAM)  # report buttons
    await set_user(harness, SAM, quiet_start=time(0, 0), quiet_end=time(0, 0))
    before = len(harness.fake.sent(SAM))
    await make_due(harness, SAM)
    nudge = (await harness.fake.wait_for(SAM, before + 1))[before]  # report + thought record
    await harness.send(SAM, "/forget")
    assert await harness.press(SAM, t.FORGET_YES) == [DONE]

    # After /forget: neither a thought record nor a report is begun, and no user row either.
    assert await harness.press_on(SAM, nudge, t.THOUGHT_BUTTON) == [t.BUTTON_BEFORE_CONSENT]
    assert await harness.press_on(SAM, nudge, t.DID_IT) == [t.BUTTON_BEFORE_CONSENT]
    left = await rows_about(harness, SAM)
    assert {table for table, rows in left.items() if rows} == {"inbox"}

    # Started again, consent not yet given: the same.
    await harness.send(SAM, "/start")
    assert await harness.press_on(SAM, nudge, t.THOUGHT_BUTTON) == [t.BUTTON_BEFORE_CONSENT]
    assert await harness.press_on(SAM, asked, t.DID_IT) == [t.BUTTON_BEFORE_CONSENT]
    left = await rows_about(harness, SAM)
    assert {table for table, rows in left.items() if rows} == {"inbox", "users", "conversations"}
    assert [row["flow"] for row in left["conversations"].values()] == ["onboarding"]
    assert t.SOMETHING_WENT_WRONG not in harness.fake.texts(SAM)


async def test_mydata_names_other_people_by_name_and_role_never_by_telegram_id(
    harness: Harness,
) -> None:
    await sams_life(harness)

    await harness.send(SAM, "/mydata")

    export = json.loads(harness.fake.sent(SAM)[-2]["_uploaded"])
    others = {DOCTOR, ALEX, FRIEND}

    def values(node: Any) -> list[Any]:
        if isinstance(node, dict):
            return [v for value in node.values() for v in values(value)]
        if isinstance(node, list):
            return [v for value in node for v in values(value)]
        return [node]

    found = values(export)
    assert not others & {v for v in found if isinstance(v, int)}
    assert not {str(i) for i in others} & {v for v in found if isinstance(v, str)}
    [share] = export["shares"]
    doctor = {"role": "clinician", "first_name": "Sam"}
    assert share["client"] == "you" and share["clinician"] == doctor
    supporting = {(repr(s["client"]), repr(s["supporter"])) for s in export["supporters"]}
    assert supporting == {
        ("'you'", repr({"role": "supporter", "first_name": "Sam"})),
        (repr({"role": "client", "first_name": "Sam"}), "'you'"),
    }
    assert (doctor, "summary") in [(a["actor"], a["action"]) for a in export["audit_log"]]
