"""The `between` command: `run` the bot, `migrate` the database, `rekey` its values."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from pydantic import ValidationError

from bot.config import Settings
from bot.logs import configure_logging
from storage.crypto import KeyMismatch
from storage.db import migrate

MISSING_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in the environment "
    "or in a .env file, then run `between run` again."
)

KEY_MISMATCH = (
    "The encryption key cannot open the data already in this database. Set ENCRYPTION_KEY "
    "to the key it was written with (or restore the data folder's keys/data.key)."
)


CANT_REACH = (
    "Can't reach Telegram at TELEGRAM_API_URL ({url}): {reason}. Check the network and the "
    "URL, then run `between {command}` again."
)

TOKEN_REFUSED = (
    "Telegram refused the token in TELEGRAM_BOT_TOKEN: copy it again from @BotFather "
    "(or /revoke there for a new one), then run `between {command}` again."
)

HTTP_PORT_BUSY = (
    "Can't listen on HTTP_HOST:HTTP_PORT ({address}): {reason}. Choose another HTTP_PORT (or "
    "stop what uses it), then run `between {command}` again."
)

WEBHOOK_REFUSED = (
    "Telegram refused WEBHOOK_URL ({url}): {reason}. It must be an https:// address on port "
    "443, 80, 88 or 8443 that reaches HTTP_HOST:HTTP_PORT; then run `between run` again."
)


SANDBOX_PORT = 8800
PORT_BUSY = (
    "The sandbox can't listen on 127.0.0.1:{port} ({reason}): choose another port with "
    "`between sandbox --port N`."
)

REKEYED = (
    "Re-encrypted {count} values with the first key in ENCRYPTION_KEY; "
    "the other keys can now be removed from it."
)


async def _rekey(settings: Settings) -> int:
    from bot.app import open_database

    db = open_database(settings)
    try:
        return await db.rekey()
    finally:
        await db.dispose()


async def _run_until_signalled(settings: Settings, workers_only: bool) -> None:
    from bot.app import serve, serve_workers

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await (serve_workers if workers_only else serve)(settings, stop)


async def _sandbox_until_signalled(settings: Settings, port: int) -> None:
    from sandbox.run import run_sandbox

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_sandbox(settings, port, stop)


def _invalid_setting(error: ValidationError) -> str:
    """One sentence naming the first setting that is not valid, and why."""
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "A setting"
    reason = str(first.get("ctx", {}).get("error", first["msg"]))
    return reason if reason.startswith(name) else f"{name} is not valid: {reason}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="between", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the whole bot (migrates first)")
    commands.add_parser("worker", help="transcribe voice notes only (scale out on more machines)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser(
        "rekey", help="re-encrypt everything with the newest ENCRYPTION_KEY (then drop the old)"
    )
    sandbox = commands.add_parser(
        "sandbox", help="try every flow on this machine in a chat page: no token, no network"
    )
    sandbox.add_argument("--port", type=int, default=SANDBOX_PORT, help="the page's port")
    args = parser.parse_args(argv)
    os.umask(0o077)  # everything Between writes (database, WAL, audio, keys) is the owner's only
    try:
        settings = Settings()
    except ValidationError as error:
        sys.exit(_invalid_setting(error))
    configure_logging(settings.log_level, settings.telegram_bot_token)
    if args.command == "migrate":
        migrate(settings.resolved_database_url)
    elif args.command == "sandbox":
        from sandbox.run import PortBusy

        try:
            asyncio.run(_sandbox_until_signalled(settings, args.port))
        except KeyMismatch:
            sys.exit(KEY_MISMATCH)
        except PortBusy as error:
            sys.exit(PORT_BUSY.format(port=args.port, reason=error))
    elif args.command == "rekey":
        migrate(settings.resolved_database_url)
        try:
            count = asyncio.run(_rekey(settings))
        except KeyMismatch:
            sys.exit(KEY_MISMATCH)
        print(REKEYED.format(count=count))
    else:
        if not settings.telegram_bot_token:
            sys.exit(MISSING_TOKEN)
        # The bot's parts load only here.
        from bot.app import TelegramUnreachable, TokenRefused, WebhookRefused
        from bot.web import HttpPortBusy

        try:
            asyncio.run(_run_until_signalled(settings, workers_only=args.command == "worker"))
        except KeyMismatch:
            sys.exit(KEY_MISMATCH)
        except TelegramUnreachable as error:
            url = settings.telegram_api_url
            sys.exit(CANT_REACH.format(url=url, reason=error, command=args.command))
        except TokenRefused:
            sys.exit(TOKEN_REFUSED.format(command=args.command))
        except HttpPortBusy as error:
            address = f"{settings.http_host}:{settings.listen_port}"
            sys.exit(HTTP_PORT_BUSY.format(address=address, reason=error, command=args.command))
        except WebhookRefused as error:
            sys.exit(WEBHOOK_REFUSED.format(url=settings.webhook_url, reason=error))
