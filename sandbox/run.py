"""`between sandbox`: the real bot against the stand-in Bot API, and a chat page to drive it.

One process: the stand-in (sandbox.botapi) on a free loopback port, the bot (bot.app.serve) on
embedded defaults pointed at it, and the page on 127.0.0.1:PORT, whose JSON API (under
/sandbox/api/) acts as the people in the chats. Nothing listens beyond loopback and nothing
leaves the machine. The stand-in's chats and the bot's clock are saved in the data folder at
stop, so running it again carries on.

Time travel: the bot's clock is real time plus an offset, set where every part reads the time
(storage.models.utcnow: the dispatcher's clock, handlers' "today", the summary's period); the
page asks to move it to a client's next nudge or check-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import secrets
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

from bot.app import serve
from bot.config import Settings
from sandbox.botapi import BotApiStandIn
from storage.db import Database
from storage.files import private_folder
from storage.models import move_clock_ahead, utcnow
from storage.timeline import next_checkin_at, next_nudge_at

logger = logging.getLogger(__name__)

# Not a real token: the stand-in accepts only this one, and nothing talks to Telegram.
TOKEN = "7000000001:SANDBOX-not-a-real-token"
STATE_FILE = "sandbox.json"
CODE_FILE = "sandbox-clinician-code"
PAGE_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/chat.css": ("chat.css", "text/css; charset=utf-8"),
    "/chat.js": ("chat.js", "text/javascript; charset=utf-8"),
}
T = TypeVar("T")


class PortBusy(Exception):
    """The page's port cannot be listened on."""


@dataclass(frozen=True)
class Persona:
    """Someone in the sandbox: their own Telegram user and private chat."""

    key: str
    role: str
    user_id: int
    first_name: str


PERSONAS = (
    Persona("client", "Client", 1001, "Alex"),
    Persona("client2", "Second client", 1002, "Robin"),
    Persona("clinician", "Clinician", 2001, "Dr Rivera"),
    Persona("supporter", "Supporter", 3001, "Jo"),
)


class SandboxClock:
    """The bot's "now": real time plus an offset that only moves forward. The offset is set in
    the one place every part reads the time from (storage.models.utcnow)."""

    def __init__(self, offset: timedelta = timedelta()) -> None:
        self.offset = offset
        move_clock_ahead(offset)

    def __call__(self) -> datetime:
        return utcnow()

    def set(self, offset: timedelta) -> None:
        self.offset = offset
        move_clock_ahead(offset)

    def advance_to(self, when: datetime) -> None:
        """Move "now" to just after `when` (never back)."""
        self.set(max(self.offset, when - datetime.now(UTC) + timedelta(seconds=1)))


class Sandbox:
    """The stand-in, the bot's clock and database, and what the page asks of them."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.data_dir = settings.data_dir
        private_folder(self.data_dir)
        self.stand_in = BotApiStandIn(token=TOKEN, bot_username="between_sandbox_bot")
        self.clock = SandboxClock()
        self.code = self._clinician_code()
        self.port = port
        self.db: Database | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: ThreadingHTTPServer | None = None
        self._callbacks: dict[str, int] = {}  # callback query id -> who pressed
        self._restore()

    # ----------------------------------------------------------------- lifecycle

    def settings_for_bot(self, settings: Settings) -> Settings:
        """Embedded defaults pointed at the stand-in, with the sandbox's clinician code."""
        return settings.model_copy(
            update={
                "telegram_bot_token": TOKEN,
                "telegram_api_url": self.stand_in.api_url,
                "telegram_file_url": self.stand_in.file_url,
                "database_url": None,
                "clinician_code": self.code,
                "poll_timeout": 10,
                "dispatch_interval": 1.0,
            }
        )

    def start_page(self) -> int:
        """Serve the page on 127.0.0.1 (the given port, or a free one); return the port."""
        handler = type("_BoundPage", (_Page,), {"sandbox": self})
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        except OSError as error:
            raise PortBusy(error.strerror or str(error)) from None
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sandbox-page",
            daemon=True,
        ).start()
        self.port = self._server.server_address[1]
        return self.port

    def stop_page(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def save(self) -> None:
        state = {"clock_offset": self.clock.offset.total_seconds(), **self.stand_in.snapshot()}
        path = self.data_dir / STATE_FILE
        fresh = path.with_suffix(".tmp")
        fresh.write_text(json.dumps(state))
        fresh.replace(path)

    def _restore(self) -> None:
        path = self.data_dir / STATE_FILE
        if path.exists():
            saved = json.loads(path.read_text())
            self.clock.set(timedelta(seconds=saved.pop("clock_offset", 0)))
            self.stand_in.restore(saved)

    def _clinician_code(self) -> str:
        path = self.data_dir / CODE_FILE
        if not path.exists():
            path.write_text(secrets.token_urlsafe(9))
        return path.read_text().strip()

    # ----------------------------------------------------------------- the page's API

    def on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the bot's event loop from a page thread."""
        if self.loop is None or self.db is None:
            coroutine.close()
            raise RuntimeError("the bot is still starting")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=15)

    def info(self) -> dict[str, Any]:
        commands = self.stand_in.commands.get(('{"type": "default"}', ""), [])
        return {
            "personas": [p.__dict__ for p in PERSONAS],
            "clinician_code": self.code,
            "commands": commands,
            "clock": self.clock().isoformat(timespec="minutes"),
            "ready": self.db is not None,
        }

    def chat(self, user_id: int) -> dict[str, Any]:
        answers = [
            {"text": a.get("text") or "", "alert": bool(a.get("show_alert"))}
            for a in self.stand_in.answered_callbacks
            if self._callbacks.get(str(a.get("callback_query_id"))) == user_id and a.get("text")
        ]
        return {
            "messages": self.stand_in.chat_view(user_id),
            "answers": answers,
            "clock": self.clock().isoformat(timespec="minutes"),
        }

    def send(self, user_id: int, body: dict[str, Any]) -> None:
        persona = _persona(user_id)
        text = str(body.get("text") or "").strip()
        if not text:
            raise ValueError("empty message")
        reply_to = int(body["reply_to"]) if body.get("reply_to") else None
        self.stand_in.send_text(user_id, text, first_name=persona.first_name, reply_to=reply_to)

    def press(self, user_id: int, body: dict[str, Any]) -> None:
        update = self.stand_in.press(user_id, int(body["message_id"]), str(body["data"]))
        self._callbacks[update["callback_query"]["id"]] = user_id

    def voice(self, user_id: int, query: dict[str, str], data: bytes, mime: str) -> None:
        persona = _persona(user_id)
        if not data:
            raise ValueError("empty recording")
        self.stand_in._users.setdefault(
            user_id, self.stand_in._make_user(user_id, persona.first_name)
        )
        kind = "voice" if query.get("kind") == "voice" else "audio"
        self.stand_in.send_voice(
            user_id,
            data,
            duration=max(1, round(float(query.get("duration") or 1))),
            mime_type=mime.split(";")[0] or "audio/ogg",
            kind=kind,
            reply_to=int(query["reply_to"]) if query.get("reply_to") else None,
        )

    def travel(self, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
        find = next_checkin_at if body.get("to") == "checkin" else next_nudge_at

        async def when() -> datetime | None:
            assert self.db is not None
            async with self.db.session() as session:
                return await find(session, user_id, self.clock())

        moment = self.on_loop(when())
        if moment is None:
            return {"moved": False, "clock": self.clock().isoformat(timespec="minutes")}
        self.clock.advance_to(moment)
        logger.info("sandbox clock moved forward to %s", moment.isoformat(timespec="minutes"))
        return {"moved": True, "clock": self.clock().isoformat(timespec="minutes")}


def _persona(user_id: int) -> Persona:
    for persona in PERSONAS:
        if persona.user_id == user_id:
            return persona
    raise ValueError("no such person in the sandbox")


class _Page(BaseHTTPRequestHandler):
    """The page and its JSON API (127.0.0.1 only); the Bot API is on the stand-in's port."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "BetweenSandbox/1.0"
    sandbox: Sandbox

    def log_message(self, fmt: str, *args: Any) -> None:
        """Quiet: the page polls."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path in PAGE_FILES:
            name, kind = PAGE_FILES[url.path]
            page = resources.files("sandbox").joinpath("page", name).read_bytes()
            self._reply(200, page, kind)
        elif url.path == "/sandbox/api/info":
            self._json(self.sandbox.info())
        elif url.path == "/sandbox/api/chat":
            self._json(self.sandbox.chat(int(query.get("user", 0))))
        elif url.path.startswith("/sandbox/file/"):
            found = self.sandbox.stand_in.file(url.path.removeprefix("/sandbox/file/"))
            if found is None:
                self._reply(404, b"Not Found", "text/plain")
                return
            file_path, data = found
            name = query.get("name") or Path(file_path).name
            kind = _content_type(name)
            disposition = "inline" if kind.startswith(("image/", "audio/")) else "attachment"
            self._reply(
                200,
                data,
                kind,
                {"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}"},
            )
        else:
            self._reply(404, b"Not Found", "text/plain")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            user_id = int(query.get("user", 0))
            _persona(user_id)
            if url.path == "/sandbox/api/voice":
                self.sandbox.voice(user_id, query, data, self.headers.get("Content-Type", ""))
                self._json({"ok": True})
                return
            body = json.loads(data or b"{}")
            if url.path == "/sandbox/api/send":
                self.sandbox.send(user_id, body)
                self._json({"ok": True})
            elif url.path == "/sandbox/api/press":
                self.sandbox.press(user_id, body)
                self._json({"ok": True})
            elif url.path == "/sandbox/api/travel":
                self._json(self.sandbox.travel(user_id, body))
            else:
                self._reply(404, b"Not Found", "text/plain")
        except (ValueError, KeyError, AssertionError, RuntimeError) as error:
            self._json({"ok": False, "error": str(error).split(";")[0]}, 400)

    def _json(self, payload: Any, status: int = 200) -> None:
        self._reply(status, json.dumps(payload).encode(), "application/json")

    def _reply(
        self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True


def _content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


async def run_sandbox(settings: Settings, port: int, stop: asyncio.Event) -> None:
    """Start the stand-in, the page and the bot; stop them all when `stop` is set."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a tick every second
    sandbox = Sandbox(settings, port)
    sandbox.stand_in.start()
    try:
        sandbox.start_page()
        sandbox.loop = asyncio.get_running_loop()

        def ready(db: Database) -> None:
            sandbox.db = db
            print(f"Open http://127.0.0.1:{sandbox.port}", flush=True)

        await serve(sandbox.settings_for_bot(settings), stop, sandbox.clock, ready)
    finally:
        sandbox.db = None
        sandbox.stop_page()
        sandbox.stand_in.stop()
        with contextlib.suppress(OSError):
            sandbox.save()
