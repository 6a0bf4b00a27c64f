"""Supporter codes and clinician invites: long enough not to be guessed, stored only hashed, one
live code per issuer, a limit on wrong codes that /forget does not reset, one redemption each."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Table, select

from bot.config import Settings
from bot.texts import t
from sandbox.botapi import BotApiStandIn
from storage import codes
from storage.db import migrate
from storage.models import Base, CodeAttempt, Invite, Supporter, User
from tests.support.clinicians import DOCTOR, become_clinician, report
from tests.support.harness import CLINICIAN_CODE, Harness
from tests.support.practices import saved_practice

SAM, ALEX, FRIEND, OTHER = 8001, 8002, 8003, 8004
GROUPED = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")  # 80 bits


async def meet(harness: Harness, user_id: int, name: str) -> None:
    """First contact, so the bot knows this person by their first name."""
    await harness.handled(harness.fake.send_text(user_id, "/start", first_name=name)["update_id"])


async def supporter_code(harness: Harness, client: int) -> str:
    await harness.send(client, "/supporter")
    [message] = await harness.press(client, "the week's count")
    return message.split("this code: ")[1].split("\n")[0]


async def invite_code(harness: Harness) -> str:
    [message] = await harness.send(DOCTOR, "/invite")
    return message.split("code to your client: ")[1].split("\n")[0]


async def all_stored_text(harness: Harness) -> str:
    """Every value in every table, as text."""
    tables: list[Table] = list(Base.metadata.sorted_tables)
    async with harness.db.session() as session:
        rows = [row for table in tables for row in (await session.execute(select(table))).all()]
    return "\n".join(str(value) for row in rows for value in row)


def typed_loosely(code: str) -> str:
    """The code as someone might type it: lower case, spaces for dashes, O for 0, l for 1."""
    loose = code.replace("-", " ").lower().replace("0", "o").replace("1", "l")
    return loose[:3] + "-" + loose[3:]


async def test_codes_carry_80_bits_in_groups_and_are_accepted_however_typed(
    harness: Harness,
) -> None:
    await saved_practice(harness, SAM)
    code = await supporter_code(harness, SAM)
    assert GROUPED.match(code), code
    await meet(harness, FRIEND, "Robin")
    [linked, *_] = await harness.send(FRIEND, f"/support {typed_loosely(code)}")
    assert linked == t.SUPPORT_LINKED.format(name="Sam")

    await become_clinician(harness, DOCTOR)
    code = await invite_code(harness)
    assert GROUPED.match(code), code
    await saved_practice(harness, ALEX)
    [preview] = await harness.send(ALEX, f"/link {typed_loosely(code)}")
    assert preview.startswith("Sam would see")
    assert await harness.press(ALEX, t.LINK_YES) == [t.LINKED.format(name="Sam")]


async def test_codes_are_stored_only_as_a_keyed_hash(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await become_clinician(harness, DOCTOR)
    shown = [await supporter_code(harness, SAM), await invite_code(harness)]

    stored = await all_stored_text(harness)
    for code in shown:
        assert code not in stored and code.replace("-", "") not in stored
    async with harness.db.session() as session:
        [link] = (await session.scalars(select(Supporter))).all()
        [invite] = (await session.scalars(select(Invite))).all()
        assert link.code_hash == codes.code_hashes(session, shown[0])[0]
        assert invite.code_hash == codes.code_hashes(session, shown[1])[0]


async def test_a_new_code_replaces_the_unused_one_before_it(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    first = await supporter_code(harness, SAM)
    second = await supporter_code(harness, SAM)
    await meet(harness, FRIEND, "Robin")
    assert await harness.send(FRIEND, f"/support {first}") == [t.LINK_UNKNOWN]
    [linked, *_] = await harness.send(FRIEND, f"/support {second}")
    assert linked == t.SUPPORT_LINKED.format(name="Sam")

    await become_clinician(harness, DOCTOR)
    first, second = await invite_code(harness), await invite_code(harness)
    await saved_practice(harness, ALEX)
    assert await harness.send(ALEX, f"/link {first}") == [t.LINK_UNKNOWN]
    [preview] = await harness.send(ALEX, f"/link {second}")
    assert preview.startswith("Sam would see")


async def test_wrong_codes_lock_that_account_out_for_a_while(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    code = await supporter_code(harness, SAM)
    await meet(harness, FRIEND, "Robin")
    for _ in range(codes.PER_PERSON):
        wrong = codes.new_code()
        assert await harness.send(FRIEND, f"/support {wrong}") == [t.LINK_UNKNOWN]
    # Now even the right code is refused ...
    assert await harness.send(FRIEND, f"/support {code}") == [t.CODE_TOO_MANY]
    # ... but only for that account.
    await meet(harness, OTHER, "Kim")
    [linked, *_] = await harness.send(OTHER, f"/support {code}")
    assert linked == t.SUPPORT_LINKED.format(name="Sam")


@pytest.fixture
async def low_ceilings(fake: BotApiStandIn, settings: Settings) -> AsyncIterator[Harness]:
    """The bot with ceilings low enough to reach in a test (the defaults are in the thousands)."""
    low = settings.model_copy(update=LOW_CEILINGS)
    await asyncio.to_thread(migrate, low.resolved_database_url)
    running = Harness(fake, low)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
        await running.db.dispose()


LOW_CEILINGS = {"code_tries_per_hour": 30, "clinician_code_tries_per_day": 12}


async def add_wrong_tries(harness: Harness, kind: codes.Kind, count: int) -> None:
    """`count` wrong codes, each from a different account."""
    async with harness.db.session() as session:
        session.add_all(
            CodeAttempt(kind=kind.value, subject_hash=secrets.token_hex(32)) for _ in range(count)
        )


async def test_a_few_strangers_cannot_close_clinician_registration(harness: Harness) -> None:
    for stranger in range(9001, 9005):  # four throwaway accounts, five wrong codes each
        await harness.send(stranger, "/start")
        for _ in range(codes.PER_PERSON):
            assert await harness.send(stranger, "/clinician guess") == [t.CLINICIAN_WRONG_CODE]
    await harness.send(DOCTOR, "/start")
    assert await harness.send(DOCTOR, f"/clinician {CLINICIAN_CODE}") == [t.CLINICIAN_WELCOME]


async def test_forty_accounts_cannot_close_codes_for_everyone(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    code = await supporter_code(harness, SAM)
    await add_wrong_tries(harness, codes.Kind.CODE, 40 * codes.PER_PERSON)
    await meet(harness, FRIEND, "Robin")
    [linked, *_] = await harness.send(FRIEND, f"/support {code}")
    assert linked == t.SUPPORT_LINKED.format(name="Sam")


async def test_wrong_codes_from_many_accounts_meet_a_ceiling_logged_without_ids(
    low_ceilings: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = low_ceilings
    await saved_practice(harness, SAM)
    code = await supporter_code(harness, SAM)
    async with harness.db.session() as session:  # many accounts, one wrong code each
        ceiling = harness.settings.code_tries_per_hour
        session.add_all(
            CodeAttempt(kind=codes.Kind.CODE.value, subject_hash=secrets.token_hex(32))
            for _ in range(ceiling)
        )
    caplog.set_level(logging.INFO, logger="storage.codes")
    await meet(harness, FRIEND, "Robin")
    assert await harness.send(FRIEND, f"/support {code}") == [t.CODE_TOO_MANY]
    logged = [r.getMessage() for r in caplog.records if r.name == "storage.codes"]
    assert any("everyone" in line for line in logged), logged
    assert not any(str(FRIEND) in line or str(SAM) in line for line in logged)


async def test_forget_does_not_reset_the_limit_on_clinician_codes(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="storage.codes")
    await harness.send(DOCTOR, "/start")
    for _ in range(codes.PER_PERSON):
        assert await harness.send(DOCTOR, "/clinician guess") == [t.CLINICIAN_WRONG_CODE]
    await harness.send(DOCTOR, "/forget")
    await harness.press(DOCTOR, t.FORGET_YES)
    async with harness.db.session() as session:
        assert await session.get(User, DOCTOR) is None
    await harness.send(DOCTOR, "/start")
    assert await harness.send(DOCTOR, f"/clinician {CLINICIAN_CODE}") == [t.CLINICIAN_TOO_MANY]
    logged = [r.getMessage() for r in caplog.records if r.name == "storage.codes"]
    assert logged and not any(str(DOCTOR) in line for line in logged)


async def test_the_clinician_code_has_a_ceiling_across_accounts(low_ceilings: Harness) -> None:
    harness = low_ceilings
    ceiling = harness.settings.clinician_code_tries_per_day
    await add_wrong_tries(harness, codes.Kind.CLINICIAN, ceiling - 1)
    await harness.send(9001, "/start")
    assert await harness.send(9001, "/clinician guess") == [t.CLINICIAN_WRONG_CODE]
    await harness.send(DOCTOR, "/start")
    assert await harness.send(DOCTOR, f"/clinician {CLINICIAN_CODE}") == [t.CLINICIAN_TOO_MANY]


async def test_the_client_is_told_who_joined_and_can_remove_them_there(
    harness: Harness,
) -> None:
    await saved_practice(harness, SAM)
    code = await supporter_code(harness, SAM)
    await meet(harness, FRIEND, "Robin")
    await harness.send(FRIEND, f"/support {code}")

    told = harness.fake.last(SAM)
    assert told["text"] == t.SUPPORTER_JOINED.format(name="Robin")
    assert await harness.press_on(SAM, told, "Remove Robin") == [
        t.SUPPORTER_REMOVED.format(name="Robin")
    ]
    before = len(harness.fake.sent(FRIEND))
    await report(harness, SAM, "Did it")
    assert len(harness.fake.sent(FRIEND)) == before


async def redeem_at_once(harness: Harness, people: list[int], send: str | None = None) -> None:
    """Each person sends `send` (or presses "Yes, share") in the same instant."""
    fake = harness.fake
    updates = [
        fake.send_text(person, send) if send else fake.press_button(person, t.LINK_YES)
        for person in people
    ]
    await asyncio.gather(*(harness.handled(update["update_id"]) for update in updates))


async def test_a_supporter_code_redeemed_by_several_at_once_goes_to_one(
    harness: Harness,
) -> None:
    await saved_practice(harness, SAM)
    code = await supporter_code(harness, SAM)
    people = [FRIEND, OTHER, 8005, 8006]
    for person in people:
        await meet(harness, person, "Robin")
    await redeem_at_once(harness, people, f"/support {code}")

    linked = [p for p in people if harness.fake.texts(p)[-1].startswith("Thank you")]
    assert len(linked) == 1
    async with harness.db.session() as session:
        [link] = (await session.scalars(select(Supporter))).all()
    assert link.supporter_id == linked[0]


async def test_an_invite_redeemed_by_several_at_once_goes_to_one(harness: Harness) -> None:
    await become_clinician(harness, DOCTOR)
    code = await invite_code(harness)
    people = [SAM, ALEX, 8005, 8006]
    for person in people:
        await saved_practice(harness, person)
        [preview] = await harness.send(person, f"/link {code}")
        assert preview.startswith("Sam would see")
    await redeem_at_once(harness, people)

    linked = [p for p in people if harness.fake.texts(p)[-1] == t.LINKED.format(name="Sam")]
    assert len(linked) == 1
    [overview] = await harness.send(DOCTOR, "/summary")
    assert len(overview.splitlines()) == 2


async def test_a_supporters_weekly_count_starts_when_they_joined(harness: Harness) -> None:
    await saved_practice(harness, SAM)
    await report(harness, SAM, "Did it")
    await report(harness, SAM, "Partly")  # two tries before anyone supported Sam
    code = await supporter_code(harness, SAM)
    await meet(harness, FRIEND, "Robin")
    await harness.send(FRIEND, f"/support {code}")
    await report(harness, SAM, "Did it")
    assert harness.fake.last(FRIEND)["text"] == t.SUPPORT_TRIED.format(
        name="Sam"
    ) + t.SUPPORT_WEEK.format(count=1)


async def test_a_stranger_with_a_wrong_supporter_code_leaves_no_user_row(
    harness: Harness,
) -> None:
    stranger = 8050
    assert await harness.send(stranger, f"/support {codes.new_code()}") == [t.LINK_UNKNOWN]
    assert await harness.send(stranger, "/support") == [t.SUPPORT_USAGE]
    async with harness.db.session() as session:
        assert await session.get(User, stranger) is None
