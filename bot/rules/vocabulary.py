"""The words of the domain: how a practice went, what got in the way, a practice's status and
what quiet hours do. Pure, so the rules speak them without SQL; storage.models keeps them in
its columns (a row's own lifecycle states, such as a delivery's status, stay with the rows)."""

from __future__ import annotations

import enum


class Outcome(enum.StrEnum):
    DID = "did"
    PARTLY = "partly"
    NOT_TODAY = "not_today"


class Obstacle(enum.StrEnum):
    FORGOT = "forgot"
    TOO_BIG = "too_big"
    NO_TIME = "no_time"
    PRESSURE = "pressure"
    NOT_USEFUL = "not_useful"
    OTHER = "other"


class PracticeStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    REMOVED = "removed"


class QuietMode(enum.StrEnum):
    DEFER = "defer"
    SKIP = "skip"
