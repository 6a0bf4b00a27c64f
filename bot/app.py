"""Assemble the python-telegram-bot Application and run it with durable ingest."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from telegram import Bot, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    ExtBot,
)

from bot.callbacks import CallbackSigner
from bot.config import Settings, webhook_path
from bot.context import SERVICES_KEY, BetweenContext, Services
from bot.faults import is_database_outage
from bot.ingest import (
    DurableProcessor,
    Poller,
    durable_processor,
    prune_handled,
    requeue_unfinished,
)
from bot.keys import load_cipher, load_or_create_key
from bot.logs import describe
from bot.metrics import Metrics
from bot.outbox import OutboxSender
from bot.web import Webhook, WebServer, listen, web_app
from handlers import publish_commands, register
from scheduler.dispatcher import Dispatcher, SentJournal
from storage.claims import Claimant
from storage.db import Database, migrate
from storage.files import private_folder
from storage.models import JobStatus, TranscriptionJob, utcnow
from transcription.worker import TranscriptionWorker

logger = logging.getLogger(__name__)

BetweenApplication = Application[Any, BetweenContext, Any, Any, Any, Any]


class TelegramUnreachable(Exception):
    """Telegram did not answer at start: no network, or a wrong TELEGRAM_API_URL."""


class TokenRefused(Exception):
    """Telegram refused the bot's token at start."""


class WebhookRefused(Exception):
    """Telegram refused WEBHOOK_URL (it wants HTTPS on port 443, 80, 88 or 8443)."""


async def meet_telegram(bot: Bot) -> None:
    """Ask Telegram who the bot is before anything starts, so that no network or a refused
    token stops the process with one sentence (raised here without the token in it)."""
    try:
        await bot.initialize()
    except (InvalidToken, NetworkError) as error:
        reason = str(error).replace(bot.token, "…")
        await bot.shutdown()
        if isinstance(error, InvalidToken):
            raise TokenRefused from None
        raise TelegramUnreachable(reason) from None


def open_database(settings: Settings) -> Database:
    """Open the configured database with the key its encrypted columns use."""
    cipher = load_cipher(settings.encryption_key, settings.data_dir)
    return Database(settings.resolved_database_url, cipher)


def claimant_of(settings: Settings) -> Claimant:
    """This instance, as the inbox's and the dispatcher's claims name it."""
    return Claimant(settings.instance, settings.claim_seconds)


class CountingRateLimiter(AIORateLimiter):
    """python-telegram-bot's rate limiter, counting each error Telegram answers by kind
    (a 429 it retries included): every call but getUpdates passes through it."""

    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        async def counted(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                return await callback(*call_args, **call_kwargs)
            except TelegramError as error:
                self._metrics.telegram_errors.labels(kind=type(error).__name__).inc()
                raise

        return await super().process_request(
            counted, args, kwargs, endpoint, data, rate_limit_args
        )


def send_rate_limiter(settings: Settings, metrics: Metrics) -> CountingRateLimiter:
    """`TELEGRAM_MAX_SEND_RATE` a second, smoothly (a bucket of one), so no second ever holds
    more than that, even at the start of a burst; 429 answers are retried up to 3 times."""
    return CountingRateLimiter(
        metrics,
        overall_max_rate=1,
        overall_time_period=1 / settings.telegram_max_send_rate,
        max_retries=3,
    )


def build_application(
    settings: Settings, db: Database, clock: Callable[[], datetime] = utcnow
) -> BetweenApplication:
    """Build the Application: no Updater (our Poller stores first), our processor, our context;
    `clock` is the bot's "now" (the sandbox's moves forward)."""
    assert settings.telegram_bot_token
    signer = CallbackSigner(load_or_create_key(settings.data_dir, "callback.key"))
    metrics = Metrics()
    processor = DurableProcessor(
        db,
        flood_burst=settings.flood_burst,
        flood_rate=settings.flood_rate,
        claimant=claimant_of(settings),
        metrics=metrics,
    )
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .updater(None)
        .concurrent_updates(processor)
        .rate_limiter(send_rate_limiter(settings, metrics))
        .context_types(ContextTypes(context=BetweenContext))
        .build()
    )
    processor.attach(application)
    application.bot_data[SERVICES_KEY] = Services(
        settings=settings, db=db, signer=signer, clock=clock, metrics=metrics
    )
    replies = SentJournal(settings.data_dir / "sent-replies.journal")
    owner = claimant_of(settings)
    application.bot_data[SERVICES_KEY].outbox = OutboxSender(
        db, application.bot, replies, owner.name, timedelta(seconds=owner.seconds)
    )
    register(application)
    return application


def start_dispatching(
    settings: Settings, db: Database, application: BetweenApplication
) -> tuple[AsyncIOScheduler, Dispatcher]:
    """One APScheduler interval job sends what is due; the database holds all the state."""
    services: Services = application.bot_data[SERVICES_KEY]
    dispatcher = Dispatcher(
        db,
        application.bot,
        services.signer,
        grace=timedelta(minutes=settings.grace_minutes),
        journal=SentJournal(settings.data_dir / "sent-nudges.journal"),
        clock=services.clock,
        claimant=claimant_of(settings),
        metrics=services.metrics,
        send_rate=settings.telegram_max_send_rate,
    )
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        dispatcher.tick,
        IntervalTrigger(seconds=settings.dispatch_interval),
        id="dispatch-due",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    processor = durable_processor(application)
    scheduler.add_job(
        sweep_inbox,
        IntervalTrigger(seconds=settings.inbox_sweep_seconds),
        args=(db, processor, timedelta(hours=settings.inbox_keep_hours)),
        id="sweep-inbox",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler, dispatcher


async def sweep_inbox(db: Database, processor: DurableProcessor, keep: timedelta) -> None:
    """Queue again what is pending and no one is working on; forget old handled rows."""
    try:
        await requeue_unfinished(db, processor)
        pruned = await prune_handled(db, keep)
    except Exception as error:  # the next sweep tries again
        if is_database_outage(error):
            logger.warning("inbox sweep skipped: %s", type(error).__name__)
        else:
            logger.error("inbox sweep failed: %s", describe(error))
        return
    if pruned:
        logger.info("forgot %d handled updates", pruned)


def start_workers(
    settings: Settings,
    db: Database,
    bot: Bot,
    stop: asyncio.Event,
    wake: asyncio.Event,
    metrics: Metrics | None = None,
) -> list[asyncio.Task[None]]:
    """Transcription workers (`TRANSCRIBE_WORKERS`), each with its own model."""
    signer = CallbackSigner(load_or_create_key(settings.data_dir, "callback.key"))
    return [
        asyncio.create_task(
            TranscriptionWorker(
                db, bot, signer, settings, name=f"worker-{i}", metrics=metrics
            ).run(stop, wake)
        )
        for i in range(settings.transcribe_workers)
    ]


def bind_http(settings: Settings) -> socket.socket | None:
    """The socket of HTTP_HOST:HTTP_PORT, if this process serves HTTP (webhook mode, or
    HTTP_PORT set)."""
    port = settings.listen_port
    return None if port is None else listen(settings.http_host, port)


def start_web(
    settings: Settings,
    db: Database,
    metrics: Metrics,
    sock: socket.socket | None,
    intake: Poller | None = None,
) -> WebServer | None:
    """Serve /healthz, /metrics and (with an intake, in webhook mode) Telegram's webhook."""
    if sock is None:
        return None
    webhook = None
    if intake is not None and settings.webhook_url and settings.webhook_secret:
        path = webhook_path(settings.webhook_url)
        webhook = Webhook(path, settings.webhook_secret, intake.accept)
    mode = "worker" if intake is None else "webhook" if webhook else "polling"
    server = WebServer(web_app(db, metrics, mode, webhook), sock)
    server.start()
    logger.info("serving HTTP on %s:%s (%s)", settings.http_host, settings.listen_port, mode)
    return server


async def meet_webhook(bot: Bot, settings: Settings) -> None:
    """Webhook mode: tell Telegram where to post and the secret it sends along. Polling: drop
    any webhook left from before, or getUpdates would be refused."""
    try:
        if settings.webhook_url:
            await bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            await bot.delete_webhook()
    except BadRequest as error:
        raise WebhookRefused(error.message) from None
    except NetworkError as error:
        raise TelegramUnreachable(str(error).replace(bot.token, "…")) from None


async def serve_workers(settings: Settings, stop: asyncio.Event) -> None:
    """`between worker`: transcription only, against the same database as the bot."""
    assert settings.telegram_bot_token
    db = open_database(settings)
    await db.check_key()  # a worker with another key would write what the bot cannot read
    metrics = Metrics()
    bot: ExtBot[int] = ExtBot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        rate_limiter=send_rate_limiter(settings, metrics),
    )
    sock: socket.socket | None = None
    try:
        sock = bind_http(settings)
        await meet_telegram(bot)
        async with bot:
            web = start_web(settings, db, metrics, sock)
            await asyncio.gather(*start_workers(settings, db, bot, stop, asyncio.Event(), metrics))
            if web is not None:
                await web.stop()
    finally:
        if sock is not None:
            sock.close()
        await db.dispose()


async def sweep_audio(settings: Settings, db: Database) -> int:
    """Remove audio a crash left behind: files no unfinished job refers to."""
    folder = settings.audio_dir
    if not folder.exists():
        return 0
    private_folder(folder)  # an older version may have left it open to others
    async with db.session() as session:
        wanted = set(
            (
                await session.scalars(
                    select(TranscriptionJob.audio_path).where(
                        TranscriptionJob.status.in_([JobStatus.PENDING, JobStatus.RUNNING])
                    )
                )
            ).all()
        )
    leftovers = [path for path in folder.iterdir() if str(path) not in wanted]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    clock: Callable[[], datetime] = utcnow,
    ready: Callable[[Database], None] | None = None,
) -> None:
    """Migrate, replay what a crash left unfinished, then poll (or, with WEBHOOK_URL, take
    Telegram's posts) until `stop` is set; /healthz and /metrics when there is an HTTP port.

    `clock` is the bot's "now"; `ready` is told the open database once the bot is running.
    """
    url = settings.resolved_database_url
    await asyncio.to_thread(migrate, url)
    db = open_database(settings)
    await db.check_key()
    application = build_application(settings, db, clock)
    services: Services = application.bot_data[SERVICES_KEY]
    sock: socket.socket | None = None
    try:
        sock = bind_http(settings)  # first: a busy port stops the start with one sentence
        await meet_telegram(application.bot)
        async with application:
            await publish_commands(application)
            await meet_webhook(application.bot, settings)
            await application.start()
            await sweep_audio(settings, db)
            outbox = services.outbox
            assert outbox is not None
            await outbox.sweep()  # replies a crash left unsent go first
            await requeue_unfinished(db, durable_processor(application))
            intake = Poller(application, db, settings.poll_timeout)
            # Webhook mode: Telegram's posts waited in the socket's queue until now.
            web = start_web(settings, db, services.metrics, sock, intake)
            poller = None if settings.webhook_url else asyncio.create_task(intake.run())
            scheduler, dispatcher = start_dispatching(settings, db, application)
            scheduler.add_job(
                outbox.sweep,
                IntervalTrigger(seconds=settings.inbox_sweep_seconds),
                id="sweep-outbox",
                max_instances=1,
                coalesce=True,
            )
            workers = start_workers(
                settings, db, application.bot, stop, services.jobs_waiting, services.metrics
            )
            logger.info("Between is running")
            if ready is not None:
                ready(db)
            await stop.wait()
            if web is not None:
                await web.stop()  # no new updates while the rest stops
            await asyncio.gather(*workers)
            scheduler.pause()
            await dispatcher.stop()
            scheduler.shutdown(wait=False)
            if poller is not None:
                poller.cancel()
                await asyncio.gather(poller, return_exceptions=True)
            # Queued updates stay pending in the inbox for the next start.
            durable_processor(application).stop_waiting()
            await application.stop()
            await outbox.stop()  # after the updates in hand: their replies go out first
    finally:
        if sock is not None:
            sock.close()
        await db.dispose()
