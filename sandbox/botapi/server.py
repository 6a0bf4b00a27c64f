"""The stand-in's HTTP front: Bot API calls at /bot<token>/<method> and file downloads at
/file/bot<token>/<path>, served by http.server from a daemon thread on 127.0.0.1.

Keep-alive with Nagle's algorithm off (``disable_nagle_algorithm``), or every reply stalls
~40 ms on loopback; a deep accept backlog, so bursts of concurrent sends never hit SYN retries.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import socket
import threading
from email.parser import HeaderParser
from email.utils import collapse_rfc2231_value
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sandbox.botapi.methods import DROPPED, BotApiMethods
from sandbox.botapi.state import Upload, bad, words

# Parameters the Bot API types as strings; PTB sends them raw, everything else JSON-encoded.
_STRING_PARAMS = words(
    """
    text caption parse_mode callback_query_id file_id url secret_token ip_address query emoji
    name description short_description title language_code business_connection_id
    message_effect_id inline_message_id action document photo audio voice video video_note
    animation sticker thumbnail certificate
    """
)


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
        boundary = collapse_rfc2231_value(header.get_param("boundary", ""))
        raw.update(_parse_multipart(body, boundary))
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
    stand_in: BotApiStandIn  # bound per server by BotApiStandIn.start()

    def setup(self) -> None:
        super().setup()
        self.stand_in._track_connection(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.stand_in._track_connection(self.connection, add=False)

    def log_message(self, fmt: str, *args: Any) -> None:
        """Silence per-request logging; the stand-in records calls itself."""

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
            data = self.stand_in._download(token, file_path)
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
            status, payload = 400, bad(f"can't decode request: {exc!r}").payload()
        else:
            status, payload = self.stand_in._handle_api(token, method, params)
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


class BotApiStandIn(BotApiMethods):
    """A loopback Bot API server: the real python-telegram-bot talks HTTP to it.

    Configure the bot with ``base_url=stand_in.api_url`` and ``base_file_url=stand_in.file_url``;
    drive the users' side with ``send_text``, ``press_button``, ``send_voice``; read what the
    bot sent with ``sent``, ``texts``, ``last``.
    """

    def __init__(
        self, token: str = "123456:TEST-token", bot_username: str = "between_test_bot"
    ) -> None:
        super().__init__(token, bot_username)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        handler = type("_BoundHandler", (_Handler,), {"stand_in": self})
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
