"""What the stand-in Bot API knows: bots and users, chats and messages, the updates queue,
files, each user's language code, and the faults a test asks for.

It is also the "client side" a test (or the sandbox's chat page) drives: a user typing,
pressing a button or sending a voice note queues an update, as Telegram would.
One lock guards it all: the HTTP server's threads and the caller's event loop both touch it.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import mimetypes
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@\w+)?(\s|$)")  # what Telegram marks as a command


def words(text: str) -> frozenset[str]:
    """The set of a long string's words (for the Bot API's name lists)."""
    return frozenset(text.split())


# kind -> (file_path folder, default extension) as the real server lays files out.
_FILE_FOLDERS = {
    "voice": ("voice", "oga"),
    "audio": ("music", "mp3"),
    "video_note": ("video_notes", "mp4"),
    "document": ("documents", "bin"),
    "photo": ("photos", "jpg"),
    "video": ("videos", "mp4"),
}
_EXTENSIONS = {"audio/ogg": "ogg", "audio/mpeg": "mp3", "audio/mp4": "m4a", "video/mp4": "mp4"}


class ApiError(Exception):
    """A Telegram error answer; raising it from a method handler becomes the HTTP reply."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True)
class Upload:
    """A multipart file part, as it appears in recorded call parameters."""

    filename: str
    mime_type: str
    data: bytes = field(repr=False)


@dataclass
class StoredFile:
    """A file the bot can fetch: getFile gives its path, /file/bot<token>/<path> its bytes."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def to_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def text_of(message: dict[str, Any]) -> str:
    return message.get("text") or message.get("caption") or ""


def public(message: dict[str, Any]) -> dict[str, Any]:
    """What the Bot API returns: no test-only keys, and only inline keyboards are echoed."""
    result = {k: copy.deepcopy(v) for k, v in message.items() if not k.startswith("_")}
    if "inline_keyboard" not in (result.get("reply_markup") or {}):
        result.pop("reply_markup", None)
    return result


class BotApiState:
    """Everything the server knows, and the users' side of the conversation."""

    def __init__(
        self, token: str = "123456:TEST-token", bot_username: str = "between_test_bot"
    ) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Between",
            "username": bot_username,
        }
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answered_callbacks: list[dict[str, Any]] = []
        self._served: dict[int, int] = {}
        self.confirmed_offset = 0
        self.webhook_url = ""
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._cond = threading.Condition(threading.RLock())
        self._stopping = threading.Event()
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 10001
        self._allowed_updates: set[str] | None = None
        self._poll_generation = 0
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        # The language a user's Telegram app is set to (Telegram's `language_code`); "en" if unset.
        self.language_codes: dict[int, str] = {}
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}  # every message, by chat
        self._next_message_id: dict[int, int] = {}
        self._sent: dict[int, list[dict[str, Any]]] = {}  # the bot's messages, by chat
        self._send_times: dict[int, list[float]] = {}
        # update_id -> time.monotonic() when getUpdates first returned it (for latency benches).
        self._served_at: dict[int, float] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(4_000_000_000_000_001)
        self._open_callbacks: set[str] = set()
        self._blocked: set[int] = set()
        self._faults: dict[str, list[ApiError]] = {}
        self._delays: dict[str, list[float]] = {}
        self._drops: dict[str, int] = {}
        self._holds: dict[str, list[threading.Event]] = {}
        self._chat_holds: dict[tuple[str, str], threading.Event] = {}  # (method, chat id)

    # ----------------------------------------------------------------- client side

    def make_message(
        self,
        user_id: int,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        first_name: str = "Sam",
        **fields: Any,
    ) -> dict[str, Any]:
        """Build a realistic incoming Message dict (for push_update); fields override."""
        if chat_id is None:
            chat_id = user_id if chat_type == "private" else -1_001_000_000_000 - user_id
        if chat_type == "private":
            chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": first_name}
        else:
            chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type}"}
        with self._cond:
            message: dict[str, Any] = {
                "message_id": self._allocate_message_id(chat_id),
                "date": int(time.time()),
                "chat": chat,
            }
        if chat_type == "channel":
            message["sender_chat"] = chat
        else:
            message["from"] = self._make_user(user_id, first_name)
        return {**message, **fields}

    def send_text(
        self, user_id: int, text: str, *, first_name: str = "Sam", reply_to: int | None = None
    ) -> dict[str, Any]:
        """A user writes to the bot (replying to message `reply_to`, if given); a leading
        /command gets its bot_command entity."""
        fields: dict[str, Any] = {"text": text} | self._reply_field(user_id, reply_to)
        if COMMAND.match(text):  # as Telegram: "/" and a name; "/ words" is not a command
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self.push_update(
            {"message": self.make_message(user_id, first_name=first_name, **fields)}
        )

    def add_chat(self, user_id: int, first_name: str = "Sam") -> None:
        """Know a user and their private chat without an update, as for someone who wrote to
        the bot long ago (so it may message them first: a nudge)."""
        with self._cond:
            self._users.setdefault(user_id, self._make_user(user_id, first_name))
            self._chats.setdefault(
                user_id, {"id": user_id, "type": "private", "first_name": first_name}
            )

    def send_voice(
        self,
        user_id: int,
        data: bytes,
        *,
        duration: int,
        mime_type: str = "audio/ogg",
        kind: str = "voice",
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A user sends a voice note (or audio / video_note / document) the bot can download."""
        if kind not in ("voice", "audio", "video_note", "document"):
            raise ValueError(f"unsupported kind {kind!r}")
        ext = _EXTENSIONS.get(mime_type) or (mimetypes.guess_extension(mime_type) or ".bin")[1:]
        with self._cond:
            stored = self._store_file(kind, data, None if kind == "voice" else ext)
            obj: dict[str, Any] = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(data),
            }
            if kind == "video_note":
                obj.update(length=240, duration=duration)
            elif kind == "document":
                obj.update(file_name=f"recording.{ext}", mime_type=mime_type)
            else:
                obj.update(duration=duration, mime_type=mime_type)
            if kind == "audio":
                obj["file_name"] = f"audio.{ext}"
            first_name = self._users.get(user_id, {}).get("first_name", "Sam")
        media: dict[str, Any] = {kind: obj} | self._reply_field(user_id, reply_to)
        return self.push_update(
            {"message": self.make_message(user_id, first_name=first_name, **media)}
        )

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue any raw update for getUpdates; assigns update_id and learns chats/users."""
        update = copy.deepcopy(update)
        with self._cond:
            update.setdefault("update_id", self._next_update_id)
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            for kind, payload in update.items():
                if isinstance(payload, dict):
                    self._learn(kind, payload)
            self._updates.append(update)
            self._updates.sort(key=lambda u: u["update_id"])
            self._cond.notify_all()
            return copy.deepcopy(update)

    def press(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        """The user taps an inline button (raw data, so forged payloads can be tested too)."""
        with self._cond:
            message = self._messages.get(user_id, {}).get(message_id)
            if message is None or message.get("_deleted") or not self._is_bot_message(message):
                raise AssertionError(
                    f"no bot message {message_id} in chat {user_id}; "
                    f"bot messages: {[(m['message_id'], text_of(m)) for m in self._live(user_id)]}"
                )
            query_id = str(next(self._callback_counter))
            self._open_callbacks.add(query_id)
            user = self._users.get(user_id) or self._make_user(user_id, "Sam")
            return self.push_update(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": user,
                        "message": public(message),
                        "chat_instance": str(7_000_000_000_000_000_000 + user_id),
                        "data": data,
                    }
                }
            )

    def press_button(
        self,
        user_id: int,
        text_or_predicate: str | Callable[[str], bool],
        *,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """Press an inline button by its visible text on the latest keyboard (or message_id)."""
        with self._cond:
            live = self._live(user_id)
            if message_id is not None:
                candidates = [m for m in live if m["message_id"] == message_id]
            else:
                candidates = [m for m in live if self.buttons(m)][-1:]
            if not candidates:
                raise AssertionError(
                    f"chat {user_id}: no {'message ' + str(message_id) if message_id else ''}"
                    f" with inline buttons; bot messages: {[text_of(m) for m in live]}"
                )
            message = candidates[0]
            buttons = self.buttons(message)
            if callable(text_or_predicate):
                matches = [b for b in buttons if text_or_predicate(b[0])]
            else:
                wanted = text_or_predicate.casefold()
                matches = [b for b in buttons if b[0].casefold() == wanted] or [
                    b for b in buttons if wanted in b[0].casefold()
                ]
            if not matches or not matches[0][1]:
                raise AssertionError(
                    f"chat {user_id}: no callback button matching {text_or_predicate!r} on "
                    f"message {message['message_id']} ({text_of(message)[:80]!r}); "
                    f"buttons: {buttons}"
                )
            return self.press(user_id, message["message_id"], matches[0][1])

    def _reply_field(self, chat_id: int, reply_to: int | None) -> dict[str, Any]:
        """The reply_to_message of a message answering `reply_to` (none if it is gone)."""
        with self._cond:
            found = self._messages.get(chat_id, {}).get(reply_to or 0)
            if found is None or found.get("_deleted"):
                return {}
            return {
                "reply_to_message": {
                    k: v for k, v in public(found).items() if k != "reply_to_message"
                }
            }

    # ----------------------------------------------------------------- inspection

    def chat_view(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message of a private chat as its user sees it (theirs and the bot's, edits
        applied, deleted ones gone), oldest first."""
        with self._cond:
            messages = self._messages.get(chat_id, {})
            return [
                {k: copy.deepcopy(v) for k, v in m.items() if not k.startswith("_")}
                for _, m in sorted(messages.items())
                if not m.get("_deleted")
            ]

    def file(self, file_id: str) -> tuple[str, bytes] | None:
        """(file_path, bytes) of a file the bot sent or a user uploaded."""
        with self._cond:
            stored = self._files.get(file_id)
            return None if stored is None else (stored.file_path, stored.data)

    def snapshot(self) -> dict[str, Any]:
        """What the users' side holds (chats, messages, files, updates, commands), as JSON
        data, so a stand-in started again carries on (update and message ids go on rising)."""
        with self._cond:
            return {
                "next_update_id": self._next_update_id,
                "confirmed_offset": self.confirmed_offset,
                "updates": copy.deepcopy(self._updates),
                "chats": list(self._chats.values()),
                "users": list(self._users.values()),
                "messages": [
                    {k: v for k, v in m.items() if k != "_uploaded"}
                    for chat in self._messages.values()
                    for _, m in sorted(chat.items())
                ],
                "next_message_id": [[c, n] for c, n in self._next_message_id.items()],
                "files": [
                    {
                        "file_id": f.file_id,
                        "file_unique_id": f.file_unique_id,
                        "file_path": f.file_path,
                        "data": base64.b64encode(f.data).decode(),
                    }
                    for f in self._files.values()
                ],
                "commands": [[list(key), value] for key, value in self.commands.items()],
            }

    def restore(self, saved: dict[str, Any]) -> None:
        """Take back what `snapshot` returned (before the bot starts polling)."""
        with self._cond:
            self._next_update_id = int(saved["next_update_id"])
            self.confirmed_offset = int(saved["confirmed_offset"])
            self._updates = list(saved["updates"])
            self._chats = {c["id"]: c for c in saved["chats"]}
            self._users = {u["id"]: u for u in saved["users"]}
            for message in sorted(saved["messages"], key=lambda m: m["message_id"]):
                chat_id = message["chat"]["id"]
                self._messages.setdefault(chat_id, {})[message["message_id"]] = message
                if self._is_bot_message(message):
                    self._sent.setdefault(chat_id, []).append(message)
            self._next_message_id = {int(c): int(n) for c, n in saved["next_message_id"]}
            for f in saved["files"]:
                self._files[f["file_id"]] = StoredFile(
                    f["file_id"], f["file_unique_id"], f["file_path"], base64.b64decode(f["data"])
                )
            self._file_counter = itertools.count(len(self._files) + 1)
            self.commands = {(k[0], k[1]): v for k, v in saved["commands"]}

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """Snapshot of the bot's messages in a chat, in order, with edits applied.

        Deleted messages stay in the list with ``"_deleted": True`` so counts never shrink.
        """
        with self._cond:
            return copy.deepcopy(self._sent.get(chat_id, []))

    def texts(self, chat_id: int) -> list[str]:
        return [text_of(m) for m in self.sent(chat_id)]

    def last(self, chat_id: int) -> dict[str, Any]:
        messages = self.sent(chat_id)
        if not messages:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}")
        return messages[-1]

    @staticmethod
    def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
        """(text, callback_data) of every inline button, flattened ("" for non-callback)."""
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call of one method (case-insensitive)."""
        with self._cond:
            return [p for m, p in self.calls if m.lower() == method.lower()]

    def send_times(self, chat_id: int) -> list[float]:
        """time.monotonic() of each successful send to the chat, for rate-limit tests."""
        with self._cond:
            return list(self._send_times.get(chat_id, []))

    def all_send_times(self) -> dict[int, list[float]]:
        """chat_id -> time.monotonic() of each successful send there (every chat at once)."""
        with self._cond:
            return {chat: list(times) for chat, times in self._send_times.items()}

    def served_at(self, update_id: int) -> float | None:
        """time.monotonic() when getUpdates first returned the update (None: not yet)."""
        with self._cond:
            return self._served_at.get(update_id)

    @property
    def served_count(self) -> dict[int, int]:
        """update_id -> how many times getUpdates returned it (a copy: the server mutates it)."""
        with self._cond:
            return dict(self._served)

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset (served or not)."""
        with self._cond:
            return copy.deepcopy(self._updates)

    async def wait_for(
        self, chat_id: int, count: int, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait (without blocking the loop) until the bot has sent `count` messages there."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                done = len(self._sent.get(chat_id, [])) >= count
            if done:
                return self.sent(chat_id)
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"chat {chat_id}: expected {count} bot messages within {timeout}s, "
                    f"got {self.texts(chat_id)!r}"
                )
            await asyncio.sleep(0.01)

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
            await asyncio.sleep(0.01)

    # ----------------------------------------------------------------- faults

    def block(self, user_id: int) -> None:
        with self._cond:
            self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        with self._cond:
            self._blocked.discard(user_id)

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        description: str = "",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail like Telegram would."""
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        description = description or HTTPStatus(status).phrase
        with self._cond:
            self._faults.setdefault(method.lower(), []).extend(
                ApiError(status, description, retry_after) for _ in range(times)
            )

    def clear_faults(self) -> None:
        """Forget the faults still waiting (fail_next): Telegram is well again."""
        with self._cond:
            self._faults.clear()

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection instead of answering the next calls (a network failure the
        bot cannot tell from a lost answer); they do not take effect."""
        with self._cond:
            self._drops[method.lower()] = self._drops.get(method.lower(), 0) + times

    def hold_next(self, method: str) -> threading.Event:
        """Hold the answer of the next call until the returned event is set (it takes effect
        at once, like delay_next, but for as long as the test needs)."""
        release = threading.Event()
        with self._cond:
            self._holds.setdefault(method.lower(), []).append(release)
        return release

    def hold_chat(self, method: str, chat_id: int) -> threading.Event:
        """Hold the answers of every call of `method` to one chat until the returned event is
        set (each takes effect at once): Telegram slow for that chat, as long as a test needs."""
        release = threading.Event()
        with self._cond:
            self._chat_holds[(method.lower(), str(chat_id))] = release
        return release

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the answer of the next calls: they take effect, but the reply comes late."""
        with self._cond:
            self._delays.setdefault(method.lower(), []).extend([seconds] * times)

    # ----------------------------------------------------------------- state helpers

    def _download(self, token: str, file_path: str) -> bytes | None:
        with self._cond:
            if token != self.token:
                return None
            found = [f for f in self._files.values() if f.file_path == file_path]
            return found[0].data if found else None

    def _make_user(self, user_id: int, first_name: str) -> dict[str, Any]:
        language = self.language_codes.get(user_id, "en")
        return {"id": user_id, "is_bot": False, "first_name": first_name} | {
            "language_code": language
        }

    def _allocate_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _learn(self, kind: str, payload: dict[str, Any]) -> None:
        """Remember chats, users and incoming messages so the bot may answer them."""
        if isinstance(payload.get("from"), dict):
            self._users[payload["from"]["id"]] = copy.deepcopy(payload["from"])
        message = payload.get("message") if kind == "callback_query" else payload
        if not isinstance(message, dict):
            return
        chat = message.get("chat")
        if not isinstance(chat, dict) or "id" not in chat:
            return
        chat_id = chat["id"]
        self._chats.setdefault(chat_id, copy.deepcopy(chat))
        message_id = message.get("message_id")
        if kind in ("message", "channel_post", "business_message") and message_id:
            self._messages.setdefault(chat_id, {}).setdefault(message_id, copy.deepcopy(message))
            current = self._next_message_id.get(chat_id, 1)
            self._next_message_id[chat_id] = max(current, message_id + 1)

    def _is_bot_message(self, message: dict[str, Any]) -> bool:
        return (message.get("from") or {}).get("id") == self.bot_user["id"]

    def _live(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self._sent.get(chat_id, []) if not m.get("_deleted")]

    def _store_file(self, kind: str, data: bytes, ext: str | None) -> StoredFile:
        n = next(self._file_counter)
        folder, default_ext = _FILE_FOLDERS[kind]
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAI{n:06d}Fake{kind.title().replace('_', '')}",
            file_unique_id=f"AgAD{n:06d}",
            file_path=f"{folder}/file_{n}.{ext or default_ext}",
            data=data,
        )
        self._files[stored.file_id] = stored
        return stored
