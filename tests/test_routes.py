"""The tables of commands and buttons: one row each, and one guard for both."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.callbacks import Kind
from bot.texts import t
from handlers import COMMAND_NAMES
from handlers.router import BUTTON_ROUTES, COMMANDS, Command, Needs, Who, start
from storage.models import AuditEntry
from tests.support.harness import Harness

ALEX = 7001


def test_every_command_is_one_row_and_the_menu_and_the_crisis_screen_read_the_table() -> None:
    names = [command.name for command in COMMANDS]
    assert len(names) == len(set(names))
    assert frozenset(names) == COMMAND_NAMES  # what the crisis screen leaves to the commands
    assert set(t.COMMAND_MENU) <= set(names)  # every menu line belongs to a command
    menu = [name for name in names if name in t.COMMAND_MENU]
    assert menu == list(t.COMMAND_MENU)  # the menu shows them in the table's order


def test_every_button_kind_has_a_route_through_the_guard() -> None:
    assert set(BUTTON_ROUTES) == set(Kind)
    for route in BUTTON_ROUTES.values():
        assert route.who is not Who.CLIENT or route.needs is not Needs.NOTHING


def test_a_clients_command_that_needs_nothing_is_refused_when_the_table_is_built() -> None:
    with pytest.raises(ValueError, match="at least consent"):
        Command("week", start, Needs.NOTHING, Who.CLIENT)


async def test_clinician_commands_are_refused_to_others_and_only_reads_are_audited(
    harness: Harness,
) -> None:
    await harness.send(ALEX, "/start")
    for command in ("/invite", "/suggest 1 walk", "/summary", "/export 1"):
        assert await harness.send(ALEX, command) == [t.CLINICIAN_ONLY]
    async with harness.db.session() as session:
        rows = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(r.actor_id, r.subject_id, r.action, r.allowed) for r in rows] == [
        (ALEX, None, "summary", False),
        (ALEX, None, "export", False),
    ]
