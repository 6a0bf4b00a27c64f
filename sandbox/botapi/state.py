"""A loopback fake of the Telegram Bot API server for flow tests.

The real python-telegram-bot ``Application``/``Bot`` talks HTTP to this server (configure it
with ``base_url=fake.api_url`` and ``base_file_url=fake.file_url``), so tests exercise the
actual request encoding, error mapping and polling loop instead of mocks. The fake follows
Telegram's observable behaviour where bots commonly get it wrong: length limits, callback
data limits, HTML entity parsing, "message is not modified", blocked users, offsets that
confirm updates, long polling and rate-limit errors.

Standard library only; one lock guards all state because the HTTP server threads and the
test's event loop thread both touch it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import html
import itertools
import json
import mimetypes
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import HeaderParser
from email.utils import collapse_rfc2231_value
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MAX_TEXT = 4096
DROPPED = 0  # a status meaning "close the connection without answering"
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@\w+)?(\s|$)")  # what Telegram marks as a command
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile limit of the cloud Bot API
MAX_UPLOAD = 50 * 1024 * 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
# Telegram's default when a bot never sent allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Parameters the Bot API types as strings; PTB sends them raw, everything else JSON-encoded.
_STRING_PARAMS = _words(
    """
    text caption parse_mode callback_query_id file_id url secret_token ip_address query emoji
    name description short_description title language_code business_connection_id
    message_effect_id inline_message_id action document photo audio voice video video_note
    animation sticker thumbnail certificate
    """
)
_HTML_TAGS = _words(
    """
    a b strong i em u ins s strike del span tg-spoiler tg-emoji code pre blockquote
    """
)
_TAG_NAME_RE = re.compile(r"<(/?)([^\s>]*)")
_BUTTON_ACTIONS = _words(
    """
    url callback_data web_app login_url switch_inline_query pay
    switch_inline_query_current_chat switch_inline_query_chosen_chat copy_text callback_game
    """
)
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
_MEDIA_KINDS = ("document", "photo", "audio", "voice", "video")
_ALWAYS_TRUE = _words(
    """
    close logout setmydescription setmyshortdescription setchatmenubutton
    setmydefaultadministratorrights
    """
)


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
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)


def _utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _visible_text(text: str, parse_mode: str | None) -> str:
    """Return the text a user would see, validating HTML markup the way Telegram does.

    Only HTML is parsed (an unescaped ``<`` in user-supplied text is a classic bug); other
    parse modes are counted raw.
    """
    if not parse_mode or parse_mode.lower() != "html":
        return text

    def error(problem: str) -> ApiError:
        return _bad(f"can't parse entities: {problem}")

    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while (lt := text.find("<", pos)) != -1:
        out.append(text[pos:lt])
        at = f"at byte offset {len(text[:lt].encode())}"
        tag = _TAG_NAME_RE.match(text, lt)
        assert tag is not None  # the pattern matches any "<"
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        gt = text.find(">", tag.end())
        if closing:
            if gt == -1:
                raise error(f"Unclosed end tag {at}")
            if not stack:
                raise error(f"Unexpected end tag {at}")
            if name and name != stack[-1]:
                found = text[lt : gt + 1]
                raise error(f'Unmatched end tag {at}, expected "</{stack[-1]}>", found "{found}"')
            stack.pop()
        else:
            if tag.end() == len(text):
                raise error(f"Unclosed start tag {at}")
            if name not in _HTML_TAGS:
                raise error(f'Unsupported start tag "{name}" {at}')
            if gt == -1:
                raise error(f"Unclosed start tag {at}")
            stack.append(name)
        pos = gt + 1
    out.append(text[pos:])
    if stack:
        raise error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return html.unescape("".join(out))


def _coerce(name: str, value: Any) -> Any:
    """Undo PTB's encoding: non-string parameters arrive JSON-encoded."""
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _parse_multipart(body: bytes, boundary: str) -> dict[str, Any]:
    """Split a multipart/form-data body exactly (binary-safe, unlike the email package)."""
    params: dict[str, Any] = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = HeaderParser().parsestr(head.decode("utf-8", "replace"))
        name = collapse_rfc2231_value(headers.get_param("name", "", "content-disposition"))
        filename = headers.get_filename()
        if filename is None:
            params[name] = content.decode("utf-8")
        else:
            mime = headers.get_content_type() if headers["content-type"] else ""
            guessed = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            mime = mime if mime not in ("", "application/octet-stream") else guessed
            params[name] = Upload(filename, mime, content)
    return params


def decode_params(content_type: str, body: bytes, query: str = "") -> dict[str, Any]:
    """Decode a Bot API request (query string plus urlencoded, multipart or JSON body)."""
    raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    header = HeaderParser().parsestr(f"Content-Type: {content_type or 'text/plain'}\n\n")
    kind = header.get_content_type()
    if kind == "multipart/form-data":
        raw.update(_parse_multipart(body, header.get_param("boundary") or ""))
    elif kind == "application/json" and body.strip():
        raw.update(json.loads(body))
    elif body:
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {name: _coerce(name, value) for name, value in raw.items()}


class _Handler(BaseHTTPRequestHandler):
    """HTTP front end; keep-alive and no Nagle so httpx round trips stay sub-millisecond."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "BotApiStandIn/1.0"
    fake: BotApiStandIn  # bound per server by BotApiStandIn.start()

    def setup(self) -> None:
        super().setup()
        self.fake._track_connection(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._track_connection(self.connection, add=False)

    def log_message(self, fmt: str, *args: Any) -> None:
        """Silence per-request logging; the fake records calls itself."""

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _route(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)  # PTB percent-encodes file URLs (the token's ":")
        body = self._read_body()
        if path.startswith("/file/bot"):
            token, _, file_path = path.removeprefix("/file/bot").partition("/")
            data = self.fake._download(token, file_path)
            if data is None:
                self._reply(404, b"Not Found", "text/plain")
            else:
                self._reply(200, data, "application/octet-stream")
            return
        if not path.startswith("/bot"):
            self._reply(404, b"Not Found", "text/plain")
            return
        token, _, method = path.removeprefix("/bot").partition("/")
        try:
            params = decode_params(self.headers.get("Content-Type", ""), body, url.query)
        except Exception as exc:  # a malformed request body
            status, payload = 400, _bad(f"can't decode request: {exc!r}").payload()
        else:
            status, payload = self.fake._handle_api(token, method, params)
        if status == DROPPED:
            self.close_connection = True  # no answer at all
            return
        self._reply(status, json.dumps(payload).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (e.g. its read timeout fired)
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    """A deep accept backlog: bursts of concurrent sends must not hit SYN-retry stalls."""

    request_queue_size = 256
    daemon_threads = True


class BotApiStandIn:
    """The Bot API server plus the "client side" a test drives (users typing and pressing)."""

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
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
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
        self._files: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(4_000_000_000_000_001)
        self._open_callbacks: set[str] = set()
        self._blocked: set[int] = set()
        self._faults: dict[str, list[ApiError]] = {}
        self._delays: dict[str, list[float]] = {}
        self._drops: dict[str, int] = {}
        self._holds: dict[str, list[threading.Event]] = {}
        # Bot API method names are case-insensitive: "sendMessage" -> self._api_send_message.
        self._api: dict[str, Callable[[dict[str, Any]], Any]] = {
            name.removeprefix("_api_").replace("_", ""): getattr(self, name)
            for name in dir(self)
            if name.startswith("_api_")
        }
        for kind in _MEDIA_KINDS:
            self._api[f"send{kind}"] = functools.partial(self._send_media, kind)
        for name in _ALWAYS_TRUE:
            self._api[name] = lambda params: True

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="botapi-stand-in",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; wakes long polls and stalls and drops open keep-alive connections."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
            connections = list(self._connections)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> BotApiStandIn:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        if self._server is None:
            raise RuntimeError("BotApiStandIn is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/bot"

    @property
    def file_url(self) -> str:
        return f"{self.base}/file/bot"

    def _track_connection(self, conn: socket.socket, *, add: bool) -> None:
        with self._cond:
            (self._connections.add if add else self._connections.discard)(conn)

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

    def send_text(self, user_id: int, text: str, *, first_name: str = "Sam") -> dict[str, Any]:
        """A user writes to the bot; a leading /command gets its bot_command entity."""
        fields: dict[str, Any] = {"text": text}
        if COMMAND.match(text):  # as Telegram: "/" and a name; "/ words" is not a command
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self.push_update(
            {"message": self.make_message(user_id, first_name=first_name, **fields)}
        )

    def send_voice(
        self,
        user_id: int,
        data: bytes,
        *,
        duration: int,
        mime_type: str = "audio/ogg",
        kind: str = "voice",
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
        return self.push_update(
            {"message": self.make_message(user_id, first_name=first_name, **{kind: obj})}
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
                    f"bot messages: {[(m['message_id'], _text(m)) for m in self._live(user_id)]}"
                )
            query_id = str(next(self._callback_counter))
            self._open_callbacks.add(query_id)
            user = self._users.get(user_id) or self._make_user(user_id, "Sam")
            return self.push_update(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": user,
                        "message": _public(message),
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
                    f" with inline buttons; bot messages: {[_text(m) for m in live]}"
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
                    f"message {message['message_id']} ({_text(message)[:80]!r}); "
                    f"buttons: {buttons}"
                )
            return self.press(user_id, message["message_id"], matches[0][1])

    # ----------------------------------------------------------------- inspection

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """Snapshot of the bot's messages in a chat, in order, with edits applied.

        Deleted messages stay in the list with ``"_deleted": True`` so counts never shrink.
        """
        with self._cond:
            return copy.deepcopy(self._sent.get(chat_id, []))

    def texts(self, chat_id: int) -> list[str]:
        return [_text(m) for m in self.sent(chat_id)]

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

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the answer of the next calls: they take effect, but the reply comes late."""
        with self._cond:
            self._delays.setdefault(method.lower(), []).extend([seconds] * times)

    # ----------------------------------------------------------------- HTTP plumbing

    def _handle_api(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        delay = 0.0
        hold: threading.Event | None = None
        with self._cond:
            self.calls.append((method, params))
            try:
                if token != self.token:
                    raise ApiError(401, "Unauthorized")
                handler = self._api.get(method.lower())
                if handler is None:
                    raise ApiError(404, "Not Found")
                delays = self._delays.get(method.lower())
                delay = delays.pop(0) if delays else 0.0
                holds = self._holds.get(method.lower())
                hold = holds.pop(0) if holds else None
                if self._drops.get(method.lower()):
                    self._drops[method.lower()] -= 1
                    return DROPPED, None
                faults = self._faults.get(method.lower())
                if faults:
                    raise faults.pop(0)
                status, payload = 200, {"ok": True, "result": handler(params)}
            except ApiError as err:
                status, payload = err.status, err.payload()
            except Exception as exc:  # a bug in the fake: make it loud, not a hang
                traceback.print_exc()
                status, payload = 500, ApiError(500, f"Internal Server Error: {exc!r}").payload()
        if delay:
            self._stopping.wait(delay)
        while hold is not None and not hold.wait(0.05) and not self._stopping.is_set():
            pass
        return status, payload

    def _download(self, token: str, file_path: str) -> bytes | None:
        with self._cond:
            if token != self.token:
                return None
            found = [f for f in self._files.values() if f.file_path == file_path]
            return found[0].data if found else None

    # ----------------------------------------------------------------- state helpers

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
        chat = message.get("chat") if isinstance(message, dict) else None
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

    def _target_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise _bad("chat_id is empty")
        try:
            chat = self._chats.get(int(raw))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise _bad("chat not found")
        if chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _target_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        message = self._messages.get(chat["id"], {}).get(_int(params.get("message_id")))
        if message is None or message.get("_deleted"):
            raise _bad("message to edit not found")
        if not self._is_bot_message(message):
            raise _bad("message can't be edited")
        return message

    def _store_file(self, kind: str, data: bytes, ext: str | None) -> _StoredFile:
        n = next(self._file_counter)
        folder, default_ext = _FILE_FOLDERS[kind]
        stored = _StoredFile(
            file_id=f"BQACAgIAAxkBAAI{n:06d}Fake{kind.title().replace('_', '')}",
            file_unique_id=f"AgAD{n:06d}",
            file_path=f"{folder}/file_{n}.{ext or default_ext}",
            data=data,
        )
        self._files[stored.file_id] = stored
        return stored

    def _new_bot_message(self, chat: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        chat_id = chat["id"]
        message = {
            "message_id": self._allocate_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
            **{k: v for k, v in fields.items() if v is not None},
        }
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        self._sent.setdefault(chat_id, []).append(message)
        self._send_times.setdefault(chat_id, []).append(time.monotonic())
        return _public(message)

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters") or {}
        target = reply.get("message_id") or params.get("reply_to_message_id")
        if not target:
            return None
        found = self._messages.get(chat_id, {}).get(_int(target))
        if found is None or found.get("_deleted"):
            if reply.get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            ):
                return None
            raise _bad("message to be replied not found")
        return {k: v for k, v in _public(found).items() if k != "reply_to_message"}

    # ----------------------------------------------------------------- API methods

    def _api_get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _api_get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        limit = min(max(_int(params.get("limit", 100)) or 100, 1), 100)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = set(allowed) if allowed else None
        if params.get("offset") not in (None, ""):
            self._confirm(_int(params["offset"]))
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()  # an older long poll still waiting gets 409, as in Telegram
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            batch = [u for u in self._updates if self._wanted(u)][:limit]
            if batch or self._stopping.is_set():
                break
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make "
                    "sure that only one bot instance is running",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
        for update in batch:
            self._served[update["update_id"]] = self._served.get(update["update_id"], 0) + 1
        return copy.deepcopy(batch)

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    def _confirm(self, offset: int) -> None:
        self.confirmed_offset = max(self.confirmed_offset, offset)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _api_delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._confirm(self._next_update_id)
        return True

    def _api_set_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = str(params.get("url") or "")
        return True

    def _api_send_chat_action(self, params: dict[str, Any]) -> bool:
        return bool(self._target_chat(params))

    def _api_get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _api_set_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands[self._commands_key(params)] = list(params.get("commands") or [])
        return True

    def _api_get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    def _api_delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _api_send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        text = _check_text(params.get("text"), params.get("parse_mode"))
        markup = _check_markup(params.get("reply_markup"))
        chat = self._target_chat(params)
        reply_to = self._reply_to(chat["id"], params)
        return self._new_bot_message(
            chat, {"reply_to_message": reply_to, "text": text, "reply_markup": markup}
        )

    def _api_edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        text = _check_text(params.get("text"), params.get("parse_mode"))
        markup = _check_markup(params.get("reply_markup"))
        message = self._target_message(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        return _apply_edit(message, "text", text, markup)

    def _api_edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = _check_caption(params.get("caption"), params.get("parse_mode"))
        markup = _check_markup(params.get("reply_markup"))
        message = self._target_message(params)
        if "text" in message:
            raise _bad("there is no caption in the message to edit")
        return _apply_edit(message, "caption", caption, markup)

    def _api_edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = _check_markup(params.get("reply_markup"))
        message = self._target_message(params)
        return _apply_edit(message, None, None, markup)

    def _api_delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = _int(params.get("chat_id"))
        message = self._messages.get(chat_id, {}).get(_int(params.get("message_id")))
        if message is None or message.get("_deleted"):
            raise _bad("message to delete not found")
        message["_deleted"] = True
        return True

    def _api_answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise ApiError(400, QUERY_INVALID)
        self._open_callbacks.discard(query_id)  # a query can be answered only once
        self.answered_callbacks.append(params)
        return True

    def _send_media(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        caption = _check_caption(params.get("caption"), params.get("parse_mode"))
        markup = _check_markup(params.get("reply_markup"))
        chat = self._target_chat(params)
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            if not value.data:
                raise _bad("file must be non-empty")
            if len(value.data) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            ext = value.filename.rpartition(".")[2] if "." in value.filename else None
            stored = self._store_file(kind, value.data, ext)
            file_name, mime_type = value.filename, value.mime_type
        elif isinstance(value, str) and value in self._files:
            stored = self._files[value]
            file_name = stored.file_path.rpartition("/")[2]
            mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        base = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        media: Any
        if kind == "photo":
            media = [{**base, "width": 1280, "height": 720}]
        elif kind == "document":
            media = {**base, "file_name": file_name, "mime_type": mime_type}
        else:
            media = {**base, "duration": _int(params.get("duration")), "mime_type": mime_type}
            if kind != "voice":
                media["file_name"] = file_name
            if kind == "video":
                media.update(
                    width=_int(params.get("width")) or 1280,
                    height=_int(params.get("height")) or 720,
                )
        result = self._new_bot_message(
            chat,
            {
                "reply_to_message": self._reply_to(chat["id"], params),
                kind: media,
                "caption": caption,
                "reply_markup": markup,
            },
        )
        self._sent[chat["id"]][-1]["_uploaded"] = stored.data
        return result

    def _api_get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }


# --------------------------------------------------------------------- pure helpers


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _text(message: dict[str, Any]) -> str:
    return message.get("text") or message.get("caption") or ""


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """What the Bot API returns: no test-only keys, and only inline keyboards are echoed."""
    result = {k: copy.deepcopy(v) for k, v in message.items() if not k.startswith("_")}
    if "inline_keyboard" not in (result.get("reply_markup") or {}):
        result.pop("reply_markup", None)
    return result


def _check_text(text: Any, parse_mode: Any) -> str:
    text = "" if text is None else str(text)
    visible = _visible_text(text, parse_mode)
    if not visible.strip():
        raise _bad("message text is empty")
    if _utf16_len(visible) > MAX_TEXT:
        raise _bad("message is too long")
    return text


def _check_caption(caption: Any, parse_mode: Any) -> str | None:
    if caption in (None, ""):
        return None
    caption = str(caption)
    if _utf16_len(_visible_text(caption, parse_mode)) > MAX_CAPTION:
        raise _bad("message caption is too long")
    return caption


def _check_markup(markup: Any) -> dict[str, Any] | None:
    """Validate reply_markup like Telegram; callback_data must be 1-64 bytes."""
    if markup in (None, ""):
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
        if not _BUTTON_ACTIONS & button.keys():
            raise _bad(
                "can't parse inline keyboard button: Text buttons are unallowed in the "
                "inline keyboard"
            )
        if "callback_data" in button:
            data = str(button["callback_data"]).encode()
            if not 1 <= len(data) <= MAX_CALLBACK_DATA:
                raise _bad("BUTTON_DATA_INVALID")
    return markup


def _apply_edit(
    message: dict[str, Any], key: str | None, value: str | None, markup: dict[str, Any] | None
) -> dict[str, Any]:
    """Edit in place; a missing reply_markup removes the keyboard, as Telegram does."""
    same_content = key is None or message.get(key) == value
    if same_content and message.get("reply_markup") == markup:
        raise ApiError(400, NOT_MODIFIED)
    if key is not None:
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    if markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = markup
    message["edit_date"] = int(time.time())
    return _public(message)
