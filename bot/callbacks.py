"""Signed `callback_data`, so a forged or altered button press is recognised and refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.rules.vocabulary import Outcome
from bot.texts import t

SEPARATOR = ":"
SIGNATURE_CHARS = 8
MAX_BYTES = 64


class Kind(StrEnum):
    """What a button does: the first part of its callback data (one letter, to fit 64 bytes)."""

    ANSWER = "a"  # answer to the current step: step, value, conversation version
    OUTCOME = "r"  # report an outcome: practice, outcome
    WHICH = "w"  # which practice to report on
    PRACTICE = "p"  # practice card action: practice, action
    LATER = "l"  # "later" under a nudge: delivery
    SNOOZE = "z"  # snooze for a chosen time: delivery, minutes
    QUIET = "q"  # quiet-hours mode
    TRANSCRIPT = "v"  # use a voice note's transcript as the answer: job
    THOUGHT = "t"  # start a thought record
    SHARE_CONSENT = "k"  # consent to share with a clinician: invite, yes|no
    STOP_SHARING = "x"  # stop sharing: share
    SUGGESTION = "g"  # answer a clinician's suggestion: suggestion, answer
    INVITE = "n"  # invite a supporter: tried|weekly
    REMOVE_SUPPORTER = "u"  # remove one: link
    KIND_WORD = "h"  # a supporter's kind word back: link
    FORGET = "f"  # the answer to /forget: yes|no, the user row asked of, when asked
    LANGUAGE = "c"  # the language voice notes are heard in: code
    WEEK_CHOICE = "y"  # the week's one question: week's last day, choice, practice (0: any)
    BRING = "b"  # mark something to bring to the session: report, "line" or "none"


class CallbackSigner:
    """Pack button data with a short HMAC bound to the Telegram user it was sent to."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _signature(self, user_id: int, payload: str) -> str:
        digest = hmac.new(self._key, f"{user_id}|{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:6]).decode()

    def pack(self, user_id: int, *parts: object) -> str:
        """Return `part:part:...:signature`; raise if it would not fit Telegram's 64 bytes."""
        payload = SEPARATOR.join(str(part) for part in parts)
        data = f"{payload}{SEPARATOR}{self._signature(user_id, payload)}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data too long: {len(data.encode())} bytes")
        return data

    def unpack(self, user_id: int, data: str | None) -> list[str] | None:
        """Return the parts if the data was signed for this user, else None."""
        if not data or SEPARATOR not in data:
            return None
        payload, _, signature = data.rpartition(SEPARATOR)
        # As bytes: compare_digest refuses str with non-ASCII characters (forged data may have).
        expected = self._signature(user_id, payload).encode()
        if not hmac.compare_digest(signature.encode(), expected):
            return None
        return payload.split(SEPARATOR)


# A button: its label and its callback parts, kind first: ("Yes", (Kind.SHARE_CONSENT, 7, "yes")).
Button = tuple[str, Sequence[object]]


def keyboard(
    signer: CallbackSigner,
    user_id: int,
    rows: Sequence[Sequence[Button]],
    version: int | None = None,
) -> InlineKeyboardMarkup:
    """The one way buttons are built: rows of (label, (kind, *args)), signed for this user.

    Answer buttons (`a:<step>:<value>`) also carry the conversation's `version`, so one pressed
    under an older question is recognised as stale."""

    def data(parts: Sequence[object]) -> str:
        if parts and parts[0] == Kind.ANSWER and version is not None:
            parts = [*parts, version]
        return signer.pack(user_id, *parts)

    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data(parts)) for label, parts in row]
            for row in rows
        ]
    )


def report_rows(practice_id: int, noticing: bool = False) -> list[list[Button]]:
    """The three report buttons, under /done's question and under every nudge and check-in;
    for a noticing practice, "noticed it" (stored as did it) and "not this time"."""
    outcomes: tuple[tuple[str, Outcome], ...] = (
        (t.DID_IT, Outcome.DID),
        (t.PARTLY, Outcome.PARTLY),
        (t.NOT_TODAY, Outcome.NOT_TODAY),
    )
    if noticing:
        outcomes = ((t.NOTICED_IT, Outcome.DID), (t.NOT_THIS_TIME, Outcome.NOT_TODAY))
    return [[(label, (Kind.OUTCOME, practice_id, outcome.value)) for label, outcome in outcomes]]
