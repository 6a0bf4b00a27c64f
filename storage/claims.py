"""Claims that let several instances share one database's work, each piece done by one.

A row that instances share (an inbox update, a delivery) carries `claimed_by` and
`claimed_until`. An instance takes rows that are unclaimed, whose claim ran out, or that are its
own (the same name after a restart takes its work back at once), with `FOR UPDATE SKIP LOCKED`
on PostgreSQL so two instances never wait for or take the same row; on SQLite, `BEGIN
IMMEDIATE` serialises writers and the lock clause is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_


@dataclass(frozen=True)
class Claimant:
    """This instance: its name (`BETWEEN_INSTANCE`) and how long what it takes stays its own."""

    name: str
    seconds: float

    def until(self, now: datetime) -> datetime:
        """When a claim taken `now` runs out."""
        return now + timedelta(seconds=self.seconds)

    def values(self, now: datetime) -> dict[str, Any]:
        """The column values of a claim taken `now`."""
        return {"claimed_by": self.name, "claimed_until": self.until(now)}


# One process, no name given (tests, tools): claims nothing away from anyone for long.
SOLO = Claimant("between", 120.0)


def free_for(model: Any, claimant: Claimant, now: datetime) -> ColumnElement[bool]:
    """Rows of `model` (a mapped class with the claim columns) that `claimant` may take:
    unclaimed, claim run out, or its own."""
    return or_(
        model.claimed_until.is_(None),
        model.claimed_until < now,
        model.claimed_by == claimant.name,
    )
