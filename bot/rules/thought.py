"""The steps of a thought record, in order (pure): the flow asks them, /mydata prints them."""

from __future__ import annotations

from enum import StrEnum


class ThoughtStep(StrEnum):
    """One step of a thought record; its value is the step stored in a conversation, in
    answer buttons, and the name of the thought record's column."""

    SITUATION = "situation"
    THOUGHT = "thought"
    BELIEF_BEFORE = "belief_before"
    FEELING = "feeling"
    INTENSITY_BEFORE = "intensity_before"
    TRAP = "trap"
    BALANCED = "balanced"
    BELIEF_AFTER = "belief_after"
    INTENSITY_AFTER = "intensity_after"


# The steps answered with a 0–100 rating; the others with words (the trap: with a button).
RATINGS = frozenset(
    {
        ThoughtStep.BELIEF_BEFORE,
        ThoughtStep.INTENSITY_BEFORE,
        ThoughtStep.BELIEF_AFTER,
        ThoughtStep.INTENSITY_AFTER,
    }
)
