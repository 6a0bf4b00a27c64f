"""The HTTP side: Telegram's webhook, /healthz and /metrics, one Starlette app under uvicorn.

As python-telegram-bot's custom-webhook example does (Starlette + uvicorn beside an
Application built without an Updater), but durable: an update Telegram posts is stored in the
inbox (the same `Poller.accept` as polling) before it is answered 200, so a crash after the 200
loses nothing; a missing or wrong secret token gets 403 and nothing is stored; a body that is
not an update gets 400; if the database cannot store it, 503 makes Telegram send it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.faults import is_database_outage
from bot.metrics import CONTENT_TYPE, Metrics
from storage.db import Database
from storage.health import Backlog, backlog
from storage.models import utcnow

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # an update is a few KB; anything this big is not one
DATABASE_PATIENCE = 5.0  # seconds /healthz waits for the database before saying it is away


class HttpPortBusy(Exception):
    """HTTP_HOST:HTTP_PORT cannot be listened on."""


@dataclass
class Webhook:
    """Where Telegram posts (the path of WEBHOOK_URL), its secret, and what stores a batch."""

    path: str
    secret: str
    accept: Callable[[Sequence[dict[str, Any]]], Awaitable[None]]


def is_update(payload: object) -> bool:
    """An update as Telegram sends it: an integer update_id and one object beside it."""
    if not isinstance(payload, dict):
        return False
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return False
    if not 0 <= update_id < 2**63:  # what the inbox's BIGINT holds
        return False
    return any(isinstance(v, dict) for k, v in payload.items() if k != "update_id")


async def _body(request: Request) -> bytes | None:
    """The request's body, or None if it is larger than any update."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def web_app(
    db: Database, metrics: Metrics, mode: str, webhook: Webhook | None = None
) -> Starlette:
    """/healthz and /metrics, and Telegram's webhook if one is given; `mode` is shown in
    /healthz (webhook, polling or worker)."""

    async def read_backlog() -> Backlog:
        async with db.session() as session:
            return await backlog(session, utcnow())

    async def healthz(request: Request) -> Response:
        since = metrics.seconds_since_dispatch()
        state: dict[str, Any] = {
            "mode": mode,
            "dispatcher": {"seconds_since_last_round": None if since is None else round(since, 1)},
        }
        try:
            waiting = await asyncio.wait_for(read_backlog(), DATABASE_PATIENCE)
        except Exception as error:
            logger.warning("health check: database unavailable (%s)", type(error).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable", **state}, 503)
        return JSONResponse(
            {
                "status": "ok",
                "database": "ok",
                **state,
                "inbox_backlog": waiting.inbox,
                "nudges_due": waiting.nudges_due,
                "transcription_queue": waiting.transcription,
            }
        )

    async def metrics_page(request: Request) -> Response:
        try:
            waiting = await asyncio.wait_for(read_backlog(), DATABASE_PATIENCE)
        except Exception as error:  # the counters are still worth serving
            logger.warning("metrics: database unavailable (%s)", type(error).__name__)
        else:
            metrics.inbox_backlog.set(waiting.inbox)
            metrics.nudges_due.set(waiting.nudges_due)
            metrics.transcription_queue.set(waiting.transcription)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
    ]
    if webhook is not None:
        routes.append(Route(webhook.path, _receiver(webhook), methods=["POST"]))
    return Starlette(routes=routes)


def _receiver(webhook: Webhook) -> Callable[[Request], Awaitable[Response]]:
    secret = webhook.secret.encode()

    async def receive(request: Request) -> Response:
        """Store the update, then answer 200: Telegram forgets it only once it is ours."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, secret):
            return Response(status_code=403)
        body = await _body(request)
        if body is None:
            return Response(status_code=413)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
            return Response(status_code=400)
        if not is_update(payload):
            return Response(status_code=400)
        try:
            await webhook.accept([payload])
        except Exception as error:  # not stored: Telegram sends it again later
            level = logging.WARNING if is_database_outage(error) else logging.ERROR
            logger.log(
                level,
                "could not store update %s (%s); Telegram will send it again",
                payload["update_id"],
                type(error).__name__,
            )
            return Response(status_code=503)
        return Response(status_code=200)

    return receive


def listen(host: str, port: int) -> socket.socket:
    """Bind HTTP_HOST:HTTP_PORT now, so a busy port stops the start with one sentence."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
    except OSError as error:
        raise HttpPortBusy(str(error)) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise HttpPortBusy(error.strerror or str(error)) from None
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `between` stops it with everything else."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebServer:
    """The app under uvicorn on a socket bound beforehand; stopped by `stop()`."""

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        config = uvicorn.Config(
            app,
            lifespan="off",
            ws="none",
            log_config=None,  # our logging, as configured by bot/logs.py
            access_log=False,  # the webhook's path can be secret
            server_header=False,
            timeout_graceful_shutdown=5,
        )
        self._server = _Server(config)
        self._sock = sock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        self._sock.close()
