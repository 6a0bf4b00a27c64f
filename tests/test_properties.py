"""Property-based tests: whatever arrives, at any step of any flow, Between stays kind and whole.

Random Unicode (right-to-left, emoji, zero-width, whitespace only, up to Telegram's 4,096),
forged and stale buttons, commands with junk arguments, and updates the bot does not handle
(stickers, photos, edits, groups, channels) are sent to the real bot over HTTP. After each:
no update failed or logged an error, a private message got a short answer that is not the
apology, groups and channels got at most a pointer to a private chat, and the flow the client
was in can still be finished normally.

The flow properties run many examples on SQLite and a smaller random walk on PostgreSQL.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time as wall
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import hypothesis
import pytest
from hypothesis import HealthCheck, assume, event, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.callbacks import MAX_BYTES, CallbackSigner
from bot.config import Settings
from bot.keys import load_or_create_key
from bot.messages import split_message, telegram_length
from bot.rules.parsing import (
    EVERY_DAY,
    WEEKDAYS,
    parse_days,
    parse_rating,
    parse_time,
    parse_until,
    resolve_timezone,
)
from bot.texts import t
from storage import codes, repo
from storage.models import (
    Conversation,
    InboxStatus,
    InboxUpdate,
    Outcome,
    Practice,
    PracticeStatus,
    Report,
    Share,
    Supporter,
    ThoughtRecord,
    User,
    utcnow,
)
from tests.support.databases import empty_database
from tests.support.harness import Harness
from tests.support.practices import STICKER

ZONE = "Europe/London"
MAX_TEXT = 4096
PROPERTY = hypothesis.settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_user_ids = itertools.count(810_000_001)


# PROPERTY_SCALE=10 runs ten times the examples, for a longer search than CI's.
SCALE = float(os.environ.get("PROPERTY_SCALE", "1"))


def examples(count: int) -> hypothesis.settings:
    return hypothesis.settings(PROPERTY, max_examples=max(1, round(count * SCALE)))


def fresh_user() -> int:
    """Every example is a new Telegram user, so examples never see each other's state."""
    return next(_user_ids)


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """SQLite unless a test asks for PostgreSQL (`indirect` parametrisation)."""
    async with empty_database(getattr(request, "param", "sqlite"), tmp_path) as url:
        yield url


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No flood gate: it would pace these machine-speed clients to an update a second."""
    return settings.model_copy(update={"flood_rate": 0.0})


ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

# --------------------------------------------------------------------------- what is sent

ANY_CHAR = st.characters(exclude_categories=("Cs",))  # lone surrogates are not valid UTF-8
RTL = ["שלום", "مرحبا", "\u200f", "\u202e", "\u202b", "\u2067", "ک", "۷"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f"]
EMOJI = ["😀", "👩‍👩‍👧‍👦", "🏳️‍🌈", "❤️‍🔥", "🧘🏽‍♀️", "👍🏿", "🇬🇧", "𝕏", "🫶"]
WHITESPACE = [" ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\u2028", "\u2029"]
# Words some step would take as an answer, and near misses, so accepted junk is tried too.
PLAUSIBLE = [
    "0", "7", "10", "100", "101", "-3", "٧", "²", "𝟕", "1e9", "9" * 60, "0" * 30 + "7",
    "7:30", "7.30am", "25:99", "0730", "noon", "half past", "12 Dec", "31/2", "2026-02-30",
    "every day", "weekdays", "mon", "Mon", "done", "sat sun", "London", "utc", "Atlantis",
    "Europe/Nowhere", "yes", "no", "skip", "save", "edit", "keep", "time", "goal", "reward",
    "not_sure", "other", "too_big", "pressure", "please /cancel", " /new junk", "<b>hi</b>",
    "&amp;", "<", "a:b:c", "%s %d {}", "{name}", "Robert'); DROP TABLE users;--", "\\x00",
    "\x00", "\x1b[31m",
]  # fmt: skip


def fits_in_a_message(text: str) -> str:
    """Telegram takes at most 4,096 UTF-16 code units from a client (most emoji take two)."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > MAX_TEXT:
            return text[:index]
    return text


def _long(unit: str, units: int) -> str:
    return fits_in_a_message(unit * units)


def _pieces(pool: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from([*pool, "a", " ", "1", "/", ":"]), min_size=1, max_size=30)


texts: st.SearchStrategy[str] = st.one_of(
    st.text(ANY_CHAR, min_size=1, max_size=40),
    _pieces(RTL + ZERO_WIDTH + EMOJI + WHITESPACE).map("".join),
    st.lists(st.sampled_from(WHITESPACE), min_size=1, max_size=12).map("".join),
    st.sampled_from(PLAUSIBLE),
    # Long: up to the limit, often over the 1,000 characters a short answer may have.
    st.builds(_long, st.text(ANY_CHAR, min_size=1, max_size=6), st.integers(150, MAX_TEXT)),
    st.builds(_long, st.sampled_from(EMOJI + RTL + ["x", "a b ", "7"]), st.integers(900, 4096)),
).map(fits_in_a_message)
words = texts.filter(lambda s: not s.startswith("/"))  # a leading "/" is a command

CLIENT_COMMANDS = (
    "help", "practices", "quiet", "checkin", "pause", "resume", "link", "sharing",
    "supporter", "support", "clinician", "invite", "summary", "export", "suggest",
)  # fmt: skip
FLOW_COMMANDS = ("start", "new", "done", "thought", "cancel", "timezone")
KNOWN_COMMANDS = {*CLIENT_COMMANDS, *FLOW_COMMANDS, "mydata", "forget", "sos"}
ARGUMENTS = st.one_of(st.just(""), texts, st.sampled_from(["1", "Sam", "1 ²", "² 7", "1 99"]))


def _command(name: str, addressee: str, arguments: str) -> str:
    return fits_in_a_message(f"/{name}{addressee} {arguments}".rstrip())


def commands(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A command with junk arguments, sometimes addressed to us or to another bot."""
    addressee = st.sampled_from(["", "", "@between_test_bot", "@Between_Test_Bot", "@other_bot"])
    known = st.builds(_command, st.sampled_from(names), addressee, ARGUMENTS)
    unknown_name = st.from_regex(r"[a-z_]{1,12}", fullmatch=True).filter(
        lambda name: name not in KNOWN_COMMANDS
    )
    unknown = st.builds(_command, unknown_name, addressee, texts)
    return st.one_of(known, known, unknown)


@dataclass(frozen=True)
class Junk:
    """Something a client (or a group, a channel, a forger) sends instead of an answer."""

    kind: str
    text: str = ""
    pick: int = 0  # which earlier button or message, modulo how many there are


MEDIA = ("sticker", "photo", "location", "contact", "dice", "document", "video", "poll")
SILENT = ("group_text", "channel_post", "reaction", "group_other_bot")

junk_in_a_flow: st.SearchStrategy[Junk] = st.one_of(
    st.builds(Junk, st.just("text"), words),
    st.builds(Junk, st.just("reply"), words, st.integers(0, 99)),
    st.builds(Junk, st.just("command"), commands(CLIENT_COMMANDS)),
    st.builds(Junk, st.sampled_from(MEDIA), st.one_of(st.just(""), texts)),
    st.builds(Junk, st.just("edited"), texts),
    st.builds(Junk, st.sampled_from(SILENT), texts, st.integers(0, 99)),
    st.builds(Junk, st.sampled_from(["group_command", "added_to_group"]), commands(FLOW_COMMANDS)),
    st.builds(Junk, st.just("forged"), st.text(ANY_CHAR, min_size=1, max_size=64)),
    st.builds(Junk, st.sampled_from(["tampered", "other_client"]), st.just(""), st.integers()),
    st.builds(Junk, st.just("stale"), st.just(""), st.integers(0, 10**6)),
)

# --------------------------------------------------------------------------- the driver

FILE = {"file_id": "BQACAgIAAxkBAAIBFake", "file_unique_id": "AgADFake"}
MEDIA_FIELDS: dict[str, dict[str, Any]] = {
    "sticker": {"sticker": STICKER},
    "photo": {"photo": [{**FILE, "width": 90, "height": 67, "file_size": 2048}]},
    "location": {"location": {"latitude": 51.5072, "longitude": -0.1276}},
    "contact": {"contact": {"phone_number": "+447700900123", "first_name": "Alex"}},
    "dice": {"dice": {"emoji": "🎲", "value": 4}},
    "document": {"document": {**FILE, "file_name": "notes.pdf", "mime_type": "application/pdf"}},
    "video": {"video": {**FILE, "width": 640, "height": 480, "duration": 3}},
    "poll": {
        "poll": {
            "id": "5001",
            "question": "Tea or coffee?",
            "options": [
                {"text": "Tea", "voter_count": 0, "persistent_id": "1"},
                {"text": "Coffee", "voter_count": 0, "persistent_id": "2"},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
    },
}
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")


def command_entity(text: str) -> list[dict[str, Any]]:
    """Telegram marks a bot command only when it is a well-formed one at the start."""
    match = _COMMAND.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": telegram_length(match.group())}]


@dataclass
class Seen:
    """What the bot did with one update."""

    sent: list[tuple[int, str]] = field(default_factory=list)  # (chat, text or caption)
    edits: int = 0
    alerts: list[str | None] = field(default_factory=list)

    def to(self, chat_id: int) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


@dataclass(frozen=True)
class Where:
    """The step a client is on, from the conversations table."""

    flow: str
    step: str
    version: str


class Probe:
    """Send updates to the real bot like Telegram would, and check what came back."""

    def __init__(self, harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
        self.harness = harness
        self.fake = harness.fake
        self.caplog = caplog
        self.signer = CallbackSigner(load_or_create_key(harness.settings.data_dir, "callback.key"))
        self.said: dict[int, dict[str, Any]] = {}  # the client's last message, to edit it
        self.names: dict[int, str] = {}  # Telegram first names other than "Sam"
        self._logged = len(caplog.records)

    # ---- sending

    async def exchange(self, update: dict[str, Any]) -> Seen:
        """Wait until the bot has handled the update; fail on any error it logged."""
        mark = len(self.fake.calls)
        status = await self.harness.handled(update["update_id"])
        assert self.fake.served_count.get(update["update_id"], 0) >= 1
        errors = [r for r in self.caplog.records[self._logged :] if r.levelno >= logging.ERROR]
        self._logged = len(self.caplog.records)
        assert not errors, [r.getMessage() for r in errors]
        assert status == InboxStatus.DONE, f"update {update['update_id']} failed"
        seen = Seen()
        for method, params in self.fake.calls[mark:]:
            method = method.lower()
            if method in ("sendmessage", "sendphoto", "senddocument"):
                body = params.get("text") or params.get("caption") or ""
                seen.sent.append((int(params["chat_id"]), body))
            elif method.startswith("edit"):
                seen.edits += 1
            elif method == "answercallbackquery":
                seen.alerts.append(params.get("text"))
        for _, body in seen.sent:
            assert body.strip(), "an empty message"
            assert telegram_length(body) <= MAX_TEXT
            assert body != t.SOMETHING_WENT_WRONG
        return seen

    def message(self, user_id: int, **fields: Any) -> dict[str, Any]:
        name = self.names.get(user_id, "Sam")
        return self.fake.make_message(user_id, first_name=name, **fields)

    async def text(self, user_id: int, text: str, **fields: Any) -> Seen:
        message = self.message(user_id, text=text, **fields)
        if entities := command_entity(text):
            message["entities"] = entities
        self.said[user_id] = message
        return await self.exchange(self.fake.push_update({"message": message}))

    async def say(self, user_id: int, text: str) -> list[str]:
        """Send text; return what the bot answered in that private chat."""
        return (await self.text(user_id, text)).to(user_id)

    async def press(self, user_id: int, message_id: int, data: str) -> Seen:
        return await self.exchange(self.fake.press(user_id, message_id, data))

    async def press_label(self, user_id: int, label: str) -> list[str]:
        """Press the newest live button with this label."""
        for message in reversed(self.live(user_id)):
            for text, data in self.fake.buttons(message):
                if text == label:
                    return (await self.press(user_id, message["message_id"], data)).to(user_id)
        raise AssertionError(f"no button {label!r} in chat {user_id}")

    # ---- reading state

    def live(self, user_id: int) -> list[dict[str, Any]]:
        return [m for m in self.fake.sent(user_id) if not m.get("_deleted")]

    def buttons(self, user_id: int) -> list[tuple[int, str, str, list[str]]]:
        """(message, label, data, unpacked parts) of every live button in the chat."""
        found = []
        for message in self.live(user_id):
            for label, data in self.fake.buttons(message):
                parts = self.signer.unpack(user_id, data)
                assert parts is not None, "the bot sent a button it would refuse"
                found.append((message["message_id"], label, data, parts))
        return found

    async def where(self, user_id: int) -> Where | None:
        async with self.harness.db.session() as session:
            conversation = await session.get(Conversation, user_id)
            if conversation is None:
                return None
            return Where(conversation.flow, conversation.step, str(conversation.data.get("_v")))

    async def count(self, model: type, *where: Any) -> int:
        async with self.harness.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)))

    async def nothing_failed(self) -> None:
        """No update in the inbox is marked failed: each was handled without an error."""
        assert await self.count(InboxUpdate, InboxUpdate.status == InboxStatus.FAILED) == 0

    # ---- junk

    async def send_junk(self, user_id: int, junk: Junk) -> Seen:
        """Send the junk and check the answer a person would expect; return what happened."""
        event(f"junk: {junk.kind}")
        before = await self.where(user_id)
        group = -1_001_000_000_000 - user_id
        if junk.kind in ("text", "command"):
            seen = await self.text(user_id, junk.text)
            assert seen.to(user_id), f"no answer to {junk.text!r}"
        elif junk.kind == "reply":
            earlier = self.live(user_id)
            reply_to = earlier[junk.pick % len(earlier)] if earlier else None
            fields = {"reply_to_message": _as_received(reply_to)} if reply_to else {}
            seen = await self.text(user_id, junk.text, **fields)
            assert seen.to(user_id)
        elif junk.kind in MEDIA:
            fields = dict(MEDIA_FIELDS[junk.kind])
            if junk.text and junk.kind in ("photo", "document", "video"):
                fields["caption"] = junk.text[:1024]
            seen = await self.exchange(
                self.fake.push_update({"message": self.message(user_id, **fields)})
            )
            assert seen.to(user_id) in ([t.NEED_TEXT], [t.FALLBACK])
        elif junk.kind == "edited":
            original = self.said.get(user_id) or self.message(user_id, text="hello")
            edited = {**original, "text": junk.text, "edit_date": int(wall.time())}
            edited.pop("entities", None)
            seen = await self.exchange(self.fake.push_update({"edited_message": edited}))
            assert seen.to(user_id) == [t.EDIT_NOT_SEEN]
            assert await self.where(user_id) == before
        elif junk.kind in ("group_text", "group_command", "group_other_bot"):
            text = junk.text
            if junk.kind == "group_other_bot":
                text = f"/start@other_bot {text}"
            chat_type = ("group", "supergroup")[junk.pick % 2]
            message = self.message(user_id, chat_type=chat_type, text=fits_in_a_message(text))
            if entities := command_entity(text):
                message["entities"] = entities
            seen = await self.exchange(self.fake.push_update({"message": message}))
            to_us = bool(entities) and re.match(r"/\w+(@between_test_bot\b|\s|$)", text, re.I)
            assert seen.to(group) == ([t.PRIVATE_ONLY] if to_us else [])
            assert seen.to(user_id) == []
            assert await self.where(user_id) == before, "group text was taken as an answer"
        elif junk.kind == "added_to_group":
            seen = await self.exchange(self.fake.push_update(self.bot_added(user_id, group)))
            assert seen.to(group) == [t.PRIVATE_ONLY] and seen.to(user_id) == []
        elif junk.kind == "channel_post":
            channel = -1_002_000_000_000 - user_id
            post = self.message(user_id, chat_type="channel", chat_id=channel, text=junk.text)
            seen = await self.exchange(self.fake.push_update({"channel_post": post}))
            assert seen.sent == []
            assert await self.where(user_id) == before
        elif junk.kind == "reaction":
            seen = await self.exchange(self.fake.push_update(self.reaction(user_id, junk.pick)))
            assert seen.sent == []
        elif junk.kind in ("forged", "tampered", "other_client"):
            seen = await self.forge(user_id, junk)
            assert seen.alerts == [t.UNKNOWN_BUTTON] and seen.sent == [] and seen.edits == 0
            assert await self.where(user_id) == before
        elif junk.kind == "stale":
            seen = await self.press_stale(user_id, junk.pick)
        else:
            raise AssertionError(f"unknown junk {junk.kind}")
        return seen

    async def forge(self, user_id: int, junk: Junk) -> Seen:
        """Press a button whose data was forged, altered, or signed for another client."""
        on = self.live(user_id)[-1]["message_id"]
        data = junk.text
        if junk.kind == "tampered":
            real = [b[2] for b in self.buttons(user_id)] or ["a:goal:x:1:AAAAAAAA"]
            original = real[junk.pick % len(real)]
            position = junk.pick % len(original)
            swap = "A" if original[position] != "A" else "B"
            data = original[:position] + swap + original[position + 1 :]
        elif junk.kind == "other_client":
            where = await self.where(user_id)
            step, version = (where.step, where.version) if where else ("goal", "1")
            data = self.signer.pack(user_id + 1, "a", step, "yes", version)
        data = data.encode()[:MAX_BYTES].decode(errors="ignore") or "x"
        return await self.press(user_id, on, data)

    async def press_stale(self, user_id: int, pick: int) -> Seen:
        """Press an answer button from an earlier question (or forge one, if none is stale)."""
        where = await self.where(user_id)
        current = (where.step, where.version) if where else None
        stale = [
            b for b in self.buttons(user_id) if b[3][0] == "a" and tuple(b[3][1::2]) != current
        ]
        if not stale:
            return await self.send_junk(user_id, Junk("forged", "a:goal:x:1:forged!"))
        message_id, _, data, _ = stale[pick % len(stale)]
        seen = await self.press(user_id, message_id, data)
        replies = seen.to(user_id)
        if where is None:
            assert replies == [f"{t.STALE_BUTTON_SHORT} {t.FALLBACK}"]
        else:
            assert replies[0] == t.STALE_BUTTON and len(replies) >= 2
            assert await self.where(user_id) == where
        return seen

    def bot_added(self, user_id: int, group: int) -> dict[str, Any]:
        bot = dict(self.fake.bot_user)
        return {
            "my_chat_member": {
                "chat": {"id": group, "type": "group", "title": "Friends"},
                "from": self.fake.make_message(user_id)["from"],
                "date": int(wall.time()),
                "old_chat_member": {"user": bot, "status": "left"},
                "new_chat_member": {"user": bot, "status": "member"},
            }
        }

    def reaction(self, user_id: int, pick: int) -> dict[str, Any]:
        messages = self.live(user_id)
        return {
            "message_reaction": {
                "chat": {"id": user_id, "type": "private", "first_name": "Sam"},
                "message_id": messages[pick % len(messages)]["message_id"] if messages else 1,
                "user": self.fake.make_message(user_id)["from"],
                "date": int(wall.time()),
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        }


def _as_received(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if not k.startswith("_")}


# --------------------------------------------------------------------------- answering well

# A cue far from now, so no nudge arrives in the middle of an example.
FAR_TIME = (datetime.now(ZoneInfo(ZONE)) - timedelta(hours=3)).strftime("%H:%M")
TYPED: dict[tuple[str, str], str] = {
    ("onboarding", "timezone"): "London",
    ("design", "goal"): "walking",
    ("design", "step"): "put my shoes on",
    ("design", "confidence"): "9",
    ("design", "smaller"): "stand by the door",
    ("report", "reflection"): "the shoes by the door helped",
    ("report", "obstacle"): "my sister visited",
    ("report", "other"): "my sister visited",
    ("report", "step_up"): "not yet",
    ("thought", "situation"): "at work, in a meeting",
    ("thought", "thought"): "they think I'm useless",
    ("thought", "belief_before"): "80",
    ("thought", "feeling"): "anxious",
    ("thought", "intensity_before"): "70",
    ("thought", "balanced"): "one quiet meeting says little about me",
    ("thought", "belief_after"): "40",
    ("thought", "intensity_after"): "35",
    ("support", "reply"): "proud of you",
}
for _flow in ("design", "change"):
    TYPED |= {
        (_flow, "anchor"): "after lunch",
        (_flow, "days"): "every day",
        (_flow, "days_pick"): "weekdays",
        (_flow, "time"): FAR_TIME,
        (_flow, "if_then"): "if it rains, then I walk indoors",
        (_flow, "reward"): "a cup of tea",
        (_flow, "edit_field"): "reward",
        (_flow, "goal"): "walking",
        (_flow, "step"): "put my shoes on",
    }
# To finish for sure: these buttons, else the typed answer, else the first button.
FINISHING = (
    t.CONSENT_YES, t.TIMEZONE_RIGHT, t.CONFIRM_SAVE, t.KEEP_AS_IS, t.OPTION_LABELS["keep"],
    t.TRAPS["not_sure"][0], t.SKIP,
)  # fmt: skip
NEVER = (t.CONSENT_NO,)  # declining consent is a way out, not a way through


@dataclass(frozen=True)
class Move:
    label: str
    typed: str | None = None
    message_id: int = 0
    data: str = ""


class Walk:
    """Answer a flow step by step (choices drawn by Hypothesis), with junk before each step."""

    def __init__(self, probe: Probe, user_id: int, draw: Callable[..., Any]) -> None:
        self.probe, self.user_id, self.draw = probe, user_id, draw

    def moves(self, where: Where) -> list[Move]:
        moves = [
            Move(label, message_id=message_id, data=data)
            for message_id, label, data, parts in self.probe.buttons(self.user_id)
            if parts[0] == "a"
            and (parts[1], parts[3]) == (where.step, where.version)
            and label not in NEVER
        ]
        typed = TYPED.get((where.flow, where.step))
        return moves + ([Move("typed", typed)] if typed else [])

    async def finish(self, *, junk: bool, chosen_steps: int = 12, max_steps: int = 40) -> None:
        for step in range(max_steps):
            where = await self.probe.where(self.user_id)
            if where is None:
                return
            if junk:
                await self.probe.send_junk(self.user_id, self.draw(junk_in_a_flow))
                where = await self.probe.where(self.user_id)
                if where is None:
                    return
            moves = self.moves(where)
            assert moves, f"no way to answer {where}"
            if step < chosen_steps:
                move = moves[self.draw(st.integers(0, len(moves) - 1))]
            else:
                ranked = [m for label in FINISHING for m in moves if m.label == label]
                move = (ranked or [m for m in moves if m.typed] or moves)[0]
            if move.typed is not None:
                seen = await self.probe.text(self.user_id, move.typed)
            else:
                seen = await self.probe.press(self.user_id, move.message_id, move.data)
            if await self.probe.where(self.user_id) is not None:
                # Still in the flow: the client sees the next question (or their choice).
                assert seen.to(self.user_id) or seen.edits, f"no answer to {move} at {where}"
        raise AssertionError(f"the flow did not finish in {max_steps} steps")


# --------------------------------------------------------------------------- seeding


async def seed_client(
    harness: Harness,
    user_id: int,
    *,
    practice: bool = True,
    history: tuple[Outcome, ...] = (),
    clinician: bool = False,
) -> None:
    """Someone who has consented and set a timezone, perhaps with a practice and reports."""
    async with harness.db.session() as session:
        user = User(
            id=user_id,
            first_name="Sam",
            consent_version=t.CONSENT_VERSION,
            consent_at=utcnow(),
            timezone=ZONE,
            is_clinician=clinician,
        )
        session.add(user)
        await session.flush()
        if not practice:
            return
        row = Practice(
            user_id=user_id,
            goal="reading",
            step="read 10 minutes",
            anchor="before bed",
            days=EVERY_DAY,
            cue_time=time.fromisoformat(FAR_TIME),
            status=PracticeStatus.ACTIVE,
        )
        repo.schedule(row, ZONE)
        session.add(row)
        await session.flush()
        today = datetime.now(ZoneInfo(ZONE)).date()
        for days_ago, outcome in enumerate(reversed(history), 1):
            session.add(
                Report(practice_id=row.id, outcome=outcome, local_date=today - timedelta(days_ago))
            )


FLOW_STARTS = ("onboarding", "design", "change", "report", "thought", "support")


async def start_flow(probe: Probe, flow: str, draw: Callable[..., Any]) -> tuple[int, int]:
    """Bring someone new to the first step of a flow; return (who answers, whose practice)."""
    harness, user_id = probe.harness, fresh_user()
    if flow == "onboarding":
        assert (await probe.say(user_id, "/start"))[-1] == t.PRIVACY
    elif flow == "design":
        await seed_client(harness, user_id, practice=False)
        assert await probe.say(user_id, "/new") == [t.ASK_GOAL]
    elif flow == "change":
        await seed_client(harness, user_id)
        assert (await probe.say(user_id, "/practices"))[0] == t.PRACTICES_HEADER
        assert await probe.press_label(user_id, t.EDIT) == [t.EDIT_WHICH]
    elif flow == "report":
        history = draw(
            st.sampled_from([(), (Outcome.DID,) * 4, (Outcome.NOT_TODAY,) * 2]), label="history"
        )
        await seed_client(harness, user_id, history=history)
        assert await probe.say(user_id, "/done") == [
            t.HOW_DID_IT_GO.format(step="read 10 minutes")
        ]
        outcome = draw(st.sampled_from([t.DID_IT, t.PARTLY, t.NOT_TODAY]), label="outcome")
        assert await probe.press_label(user_id, outcome)
    elif flow == "thought":
        await seed_client(harness, user_id, practice=False)
        assert await probe.say(user_id, "/thought") == [t.THOUGHT_START, t.ASK_SITUATION]
    elif flow == "support":
        client, supporter = user_id, fresh_user()
        await seed_client(harness, client)
        code = codes.new_code()
        async with harness.db.session() as session:
            [code_hash, *_] = codes.code_hashes(session, code)
            expires = utcnow() + timedelta(days=7)
            session.add(Supporter(client_id=client, code_hash=code_hash, expires_at=expires))
        assert await probe.say(supporter, f"/support {code}") == [
            t.SUPPORT_LINKED.format(name="Sam")
        ]
        await probe.say(client, "/done")
        await probe.press_label(client, t.DID_IT)
        assert await probe.press_label(supporter, t.SUPPORT_REPLY) == [
            t.SUPPORT_ASK_REPLY.format(name="Sam")
        ]
        return supporter, client
    return user_id, user_id


async def flow_is_done(probe: Probe, flow: str, user_id: int, client: int) -> None:
    """What finishing the flow stored, and that a later flow starts normally."""
    await probe.nothing_failed()
    if flow == "onboarding":
        async with probe.harness.db.session() as session:
            user = await session.get(User, user_id)
        assert user is not None and user.consent_version and user.timezone
    elif flow == "design":
        assert await probe.count(Practice, Practice.user_id == user_id) == 1
    elif flow == "report":
        mine = select(Practice.id).where(Practice.user_id == user_id)
        assert await probe.count(Report, Report.practice_id.in_(mine)) >= 1
    elif flow == "change":
        active = Practice.status == PracticeStatus.ACTIVE
        assert await probe.count(Practice, Practice.user_id == user_id, active) == 1
    elif flow == "thought":
        assert await probe.count(ThoughtRecord, ThoughtRecord.user_id == user_id) == 1
    if flow == "support":
        assert any(text.startswith("Sam says: ") for text in probe.fake.texts(client))
        assert await probe.say(user_id, "/cancel") == [t.NOTHING_TO_CANCEL]
        return
    assert await probe.say(user_id, "/new") == [t.ASK_GOAL]
    assert await probe.say(user_id, "/cancel") == [t.CANCELLED]


# --------------------------------------------------------------------------- flow properties


@pytest.mark.parametrize("flow", FLOW_STARTS)
@examples(10)
@given(data=st.data())
async def test_random_input_at_every_step_gets_a_kind_answer_and_the_flow_still_finishes(
    harness: Harness, caplog: pytest.LogCaptureFixture, flow: str, data: st.DataObject
) -> None:
    probe = Probe(harness, caplog)
    user_id, client = await start_flow(probe, flow, data.draw)

    await Walk(probe, user_id, data.draw).finish(junk=True)

    await flow_is_done(probe, flow, user_id, client)


# --------------------------------------------------------------------------- pure properties

SIGNER = CallbackSigner(b"k" * 32)
user_ids = st.integers(1, 2**52)
callback_parts = st.lists(
    st.one_of(
        st.integers(0, 10**9), st.text(ANY_CHAR, max_size=12).filter(lambda s: ":" not in s)
    ),
    min_size=1,
    max_size=4,
)


@PROPERTY
@given(user_id=user_ids, other=user_ids, parts=callback_parts)
def test_a_button_is_accepted_only_from_the_client_it_was_signed_for(
    user_id: int, other: int, parts: list[object]
) -> None:
    try:
        data = SIGNER.pack(user_id, *parts)
    except ValueError:  # over Telegram's 64 bytes: refused when the button is made
        assume(False)
        return
    assert len(data.encode()) <= MAX_BYTES
    assert SIGNER.unpack(user_id, data) == [str(part) for part in parts]
    if other != user_id:
        assert SIGNER.unpack(other, data) is None


@PROPERTY
@given(
    user_id=user_ids,
    data=st.one_of(
        st.text(ANY_CHAR, max_size=64),
        st.binary(max_size=64).map(lambda b: b.decode("utf-8", "replace")),
        st.builds(lambda p, s: f"{p}:{s}", st.text(ANY_CHAR, max_size=40), st.text(max_size=8)),
    ),
)
def test_any_callback_data_is_refused_unless_pack_made_it_for_that_client(
    user_id: int, data: str
) -> None:
    parts = SIGNER.unpack(user_id, data)  # never raises, whatever the bytes

    assert parts is None or SIGNER.pack(user_id, *parts) == data


@PROPERTY
@given(user_id=user_ids, parts=callback_parts, position=st.integers(0), char=ANY_CHAR)
def test_changing_any_character_of_a_button_makes_it_refused(
    user_id: int, parts: list[object], position: int, char: str
) -> None:
    try:
        data = SIGNER.pack(user_id, *parts)
    except ValueError:
        assume(False)
        return
    position %= len(data)
    assume(data[position] != char)

    forged = data[:position] + char + data[position + 1 :]

    assert SIGNER.unpack(user_id, forged) is None


any_text = st.one_of(
    texts,
    st.text(ANY_CHAR, max_size=200),
    st.integers(4000, 6000).map(lambda n: "7" * n),  # more digits than int() takes at once
)


@PROPERTY
@given(text=any_text, today=st.dates(date(2000, 1, 1), date(2100, 1, 1)))
def test_readers_of_what_clients_type_never_raise_and_return_only_sound_values(
    text: str, today: date
) -> None:
    cue = parse_time(text)
    assert cue is None or isinstance(cue, time)
    days = parse_days(text)
    assert days is None or (days and days.split(",") == [d for d in WEEKDAYS if d in days])
    zone = resolve_timezone(text)
    assert zone is None or zone in available_timezones() or zone == "UTC"
    until = parse_until(text, today)
    assert until is None or until >= today
    for low, high in ((0, 10), (0, 100)):
        rating = parse_rating(text, low, high)
        assert rating is None or low <= rating <= high


@PROPERTY
@given(number=st.integers(0, 100), before=st.sampled_from(["", "about ", "maybe "]))
def test_a_rating_in_range_is_read_as_written(number: int, before: str) -> None:
    assert parse_rating(f"{before}{number}%", 0, 100) == number


lines_of_text = st.lists(
    st.one_of(st.text(ANY_CHAR, max_size=30), st.sampled_from(EMOJI + WHITESPACE + ["", "x"])),
    max_size=40,
).map("\n".join)


@PROPERTY
@given(
    text=st.one_of(
        lines_of_text, texts, st.builds(_long, st.sampled_from(EMOJI), st.integers(0, 3000))
    ),
    limit=st.one_of(st.integers(2, 60), st.just(MAX_TEXT)),
)
def test_split_message_keeps_every_word_in_order_in_pieces_telegram_accepts(
    text: str, limit: int
) -> None:
    pieces = split_message(text, limit)

    assert all(piece.strip() and telegram_length(piece) <= limit for piece in pieces)
    whitespace = re.compile(r"\s")
    assert whitespace.sub("", "".join(pieces)) == whitespace.sub("", text)
    if text.strip() and telegram_length(text) <= limit:
        assert pieces == [text]
    if all(telegram_length(line) <= limit for line in text.split("\n")):
        lines = set(text.split("\n"))
        assert all(set(piece.split("\n")) <= lines for piece in pieces)


# --------------------------------------------------------------------------- more flow properties


def _answer(limit: int) -> st.SearchStrategy[str]:
    """Answers a step takes: words up to its limit, often long and full of emoji."""

    def acceptable(text: str) -> str:
        text = text.strip()[:limit].strip()
        return fits_in_a_message(text if text and not text.startswith("/") else f"x{text}")[:limit]

    long = st.builds(_long, st.sampled_from([*EMOJI, "x", "שלום ", "a\n"]), st.integers(1, limit))
    return st.one_of(texts, long, long).map(acceptable)


def _squeezed(text: str) -> str:
    return re.sub(r"\s", "", text)


@examples(6)
@given(
    design=st.lists(_answer(1000), min_size=5, max_size=5),
    thought=st.lists(_answer(4000), min_size=4, max_size=4),
)
async def test_the_longest_answers_each_step_takes_come_back_whole_in_messages_telegram_accepts(
    harness: Harness, caplog: pytest.LogCaptureFixture, design: list[str], thought: list[str]
) -> None:
    probe, user_id = Probe(harness, caplog), fresh_user()
    await seed_client(harness, user_id, practice=False)
    goal, step, anchor, if_then, reward = design

    await probe.say(user_id, "/new")
    assert await probe.say(user_id, goal) == [t.ASK_STEP]
    assert await probe.say(user_id, step) == [t.ASK_CONFIDENCE]
    assert await probe.say(user_id, "9") == [t.ASK_ANCHOR]
    assert await probe.say(user_id, anchor) == [t.ASK_DAYS]
    assert await probe.say(user_id, "every day") == [t.ASK_TIME]
    assert await probe.say(user_id, FAR_TIME) == [t.ASK_IF_THEN]
    assert await probe.say(user_id, if_then) == [t.ASK_REWARD]
    card = "".join(await probe.say(user_id, reward))
    for answer in (step, anchor, if_then, reward):
        assert _squeezed(answer) in _squeezed(card)
    assert (await probe.press_label(user_id, t.CONFIRM_SAVE))[0].startswith("Saved.")
    assert _squeezed(step) in _squeezed("".join(await probe.say(user_id, "/practices")))

    await probe.say(user_id, "/thought")
    situation, what, feeling, balanced = thought
    for answer in (situation, what, "80", feeling, "70"):
        assert await probe.say(user_id, answer)
    await probe.press_label(user_id, t.TRAPS["not_sure"][0])
    for answer in (balanced, "40"):
        assert await probe.say(user_id, answer)
    record = "".join(await probe.say(user_id, "35"))
    for answer in thought:
        assert _squeezed(answer) in _squeezed(record)
    assert await probe.count(ThoughtRecord, ThoughtRecord.user_id == user_id) == 1


any_button = st.builds(Junk, st.just("any_button"), st.just(""), st.integers(0, 10**6))
proper_answer = st.builds(Junk, st.just("answer"), st.just(""), st.integers(0, 10**6))
anything: st.SearchStrategy[Junk] = st.one_of(
    junk_in_a_flow,
    st.builds(Junk, st.just("command"), commands(FLOW_COMMANDS)),
    any_button,
    any_button,
    proper_answer,
    proper_answer,
)


async def act(probe: Probe, user_id: int, action: Junk) -> None:
    """Do one thing a client might do at any moment, and check the bot's answer to it."""
    if action.kind not in ("any_button", "answer"):
        await probe.send_junk(user_id, action)
        return
    before = await probe.where(user_id)
    if action.kind == "answer" and before is not None:
        moves = Walk(probe, user_id, lambda *_: 0).moves(before)
        move = moves[action.pick % len(moves)]
        if move.typed is not None:
            assert (await probe.text(user_id, move.typed)).to(user_id)
            return
        seen = await probe.press(user_id, move.message_id, move.data)
    else:
        buttons = probe.buttons(user_id)
        if not buttons:
            assert await probe.say(user_id, "/help")
            return
        message_id, _, data, _ = buttons[action.pick % len(buttons)]
        seen = await probe.press(user_id, message_id, data)
    ended = before is not None and await probe.where(user_id) is None
    assert seen.to(user_id) or seen.edits or any(seen.alerts) or ended, f"silence after {action}"


async def design_from_scratch(probe: Probe, user_id: int) -> None:
    """The whole of /new, answered plainly, with exactly the expected replies."""
    assert await probe.say(user_id, "/new") == [t.ASK_GOAL]
    assert await probe.say(user_id, "walking") == [t.ASK_STEP]
    assert await probe.say(user_id, "put my shoes on") == [t.ASK_CONFIDENCE]
    assert await probe.say(user_id, "9") == [t.ASK_ANCHOR]
    assert await probe.say(user_id, "after lunch") == [t.ASK_DAYS]
    assert await probe.say(user_id, "every day") == [t.ASK_TIME]
    assert await probe.say(user_id, FAR_TIME) == [t.ASK_IF_THEN]
    assert await probe.press_label(user_id, t.SKIP) == [t.ASK_REWARD]
    assert await probe.press_label(user_id, t.SKIP) == [
        f"{t.CONFIRM_INTRO}\n\nEvery day around {FAR_TIME}, after lunch: put my shoes on"
    ]
    cue = time.fromisoformat(FAR_TIME)
    assert await probe.press_label(user_id, t.CONFIRM_SAVE) == [
        t.PRACTICE_SAVED.format(when=t.describe_when(EVERY_DAY, cue)),
        t.REHEARSE_OFFER,
    ]


async def random_walk(harness: Harness, caplog: pytest.LogCaptureFixture, data: Any) -> None:
    probe, user_id = Probe(harness, caplog), fresh_user()
    await seed_client(harness, user_id)
    await probe.say(user_id, "/done")
    for action in data.draw(st.lists(anything, min_size=4, max_size=16), label="actions"):
        await act(probe, user_id, action)

    assert await probe.say(user_id, "/cancel") in ([t.CANCELLED], [t.NOTHING_TO_CANCEL])
    await design_from_scratch(probe, user_id)
    await probe.nothing_failed()


@examples(12)
@given(data=st.data())
async def test_any_sequence_of_messages_buttons_and_commands_leaves_every_flow_working(
    harness: Harness, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    await random_walk(harness, caplog, data)


@ON_POSTGRES
@examples(4)
@given(data=st.data())
async def test_any_sequence_leaves_every_flow_working_on_postgresql_too(
    harness: Harness, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    await random_walk(harness, caplog, data)


TRICKY_NUMBERS = ["1", "2", "0", "-1", "²", "١", "𝟏", "1 ²", "1 ٣", "1 0", "1 999", "Sam 7", "sam"]
clinician_arguments = st.one_of(
    ARGUMENTS,
    st.sampled_from(TRICKY_NUMBERS),
    st.builds(lambda who, rest: f"{who} {rest}", st.sampled_from(TRICKY_NUMBERS), texts),
)
CLINICIAN_COMMANDS = ("summary", "export", "suggest", "invite", "clinician", "sharing", "link")


@examples(12)
@given(
    said=st.lists(
        st.tuples(st.booleans(), st.sampled_from(CLINICIAN_COMMANDS), clinician_arguments),
        min_size=1,
        max_size=5,
    )
)
@hypothesis.example(said=[(True, "summary", "1 ²"), (True, "export", "²"), (False, "summary", "")])
async def test_clinician_commands_with_junk_arguments_get_a_kind_answer(
    harness: Harness, caplog: pytest.LogCaptureFixture, said: list[tuple[bool, str, str]]
) -> None:
    probe, clinician, client = Probe(harness, caplog), fresh_user(), fresh_user()
    await seed_client(harness, client, history=(Outcome.DID, Outcome.NOT_TODAY))
    await seed_client(harness, clinician, practice=False, clinician=True)
    async with harness.db.session() as session:
        session.add(
            Share(client_id=client, clinician_id=clinician, consent_version=t.CONSENT_VERSION)
        )
    await probe.say(client, "/help")  # a linked client has written to the bot before

    for by_clinician, name, arguments in said:
        sender = clinician if by_clinician else client
        replies = await probe.say(sender, _command(name, "", arguments))
        assert replies, f"no answer to /{name} {arguments!r}"


stranger_junk = junk_in_a_flow.filter(
    lambda j: j.kind not in ("stale", "forged", "tampered", "other_client", "reaction")
)


first_names = st.one_of(
    st.just("Sam"),
    st.text(ANY_CHAR, min_size=1, max_size=64),  # Telegram allows 1 to 64 characters
    st.sampled_from(["{name}", "%s", "<b>", "‮evil", "👩‍👩‍👧‍👦" * 8, "​"]),
)


@examples(25)
@given(first=stranger_junk, name=first_names)
async def test_a_strangers_first_update_of_any_kind_is_handled_kindly_and_start_still_works(
    harness: Harness, caplog: pytest.LogCaptureFixture, first: Junk, name: str
) -> None:
    probe, user_id = Probe(harness, caplog), fresh_user()
    probe.names[user_id] = name

    await probe.send_junk(user_id, first)

    if first.kind in (*SILENT, "group_command", "added_to_group"):
        assert await probe.count(User, User.id == user_id) == 0, "a group member was stored"
    replies = await probe.say(user_id, "/start")
    assert replies[0] == t.WELCOME.format(name=name) and replies[-1] == t.PRIVACY


@examples(8)
@given(
    typed=st.lists(st.one_of(words, st.sampled_from(["mon", "Mon", "done", "sun"])), max_size=3)
)
@hypothesis.example(typed=["mon"])
async def test_anything_typed_at_the_day_picker_is_answered_and_the_picker_still_works(
    harness: Harness, caplog: pytest.LogCaptureFixture, typed: list[str]
) -> None:
    probe, user_id = Probe(harness, caplog), fresh_user()
    await seed_client(harness, user_id, practice=False)
    for answer in ("/new", "walking", "put my shoes on", "9", "after lunch"):
        await probe.say(user_id, answer)
    assert await probe.press_label(user_id, t.DAYS_CHOOSE) == [t.DAYS_PICK]

    for text in typed:
        assert await probe.say(user_id, text), f"no answer to {text!r} at the day picker"

    where = await probe.where(user_id)
    assert where is not None and where.flow == "design"
    if where.step == "days_pick":  # the picker on screen still answers
        assert await probe.press_label(user_id, t.DAYS_DONE) in (
            [t.ASK_TIME],
            [t.DAYS_NONE_PICKED],
        )
