"""Assemble the python-telegram-bot Application and run it with durable ingest."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot.callbacks import CallbackSigner
from bot.config import Settings
from bot.context import SERVICES_KEY, BetweenContext, Services
from bot.ingest import DurableProcessor, Poller, replay_unfinished
from bot.keys import load_or_create_key
from handlers import publish_commands, register
from storage.db import Database, migrate

logger = logging.getLogger(__name__)

BetweenApplication = Application[Any, BetweenContext, Any, Any, Any, Any]


def build_application(settings: Settings, db: Database) -> BetweenApplication:
    """Build the Application: no Updater (our Poller stores first), our processor, our context."""
    assert settings.telegram_bot_token
    signer = CallbackSigner(load_or_create_key(settings.data_dir, "callback.key"))
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .updater(None)
        .concurrent_updates(DurableProcessor(db))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .context_types(ContextTypes(context=BetweenContext))
        .build()
    )
    application.bot_data[SERVICES_KEY] = Services(settings=settings, db=db, signer=signer)
    register(application)
    return application


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Migrate, replay what a crash left unfinished, then poll until `stop` is set."""
    url = settings.resolved_database_url
    await asyncio.to_thread(migrate, url)
    db = Database(url)
    application = build_application(settings, db)
    try:
        async with application:
            await publish_commands(application)
            await application.start()
            await replay_unfinished(db, application)
            poller = asyncio.create_task(Poller(application, db, settings.poll_timeout).run())
            logger.info("Between is running")
            await stop.wait()
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            await application.stop()
    finally:
        await db.dispose()
