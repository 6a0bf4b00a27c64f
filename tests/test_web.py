"""Webhook mode, /healthz and /metrics, the send rate setting, and the compose file.

The real bot serves its Starlette app over HTTP; the test plays Telegram's side of the webhook
(posting updates with the secret header, as Telegram does) against the Bot API stand-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.config import WEBHOOK_SECRET_MISSING, Settings
from bot.texts import t
from sandbox.botapi import BotApiStandIn
from storage.db import migrate
from storage.models import InboxStatus, InboxUpdate, TranscriptionJob
from tests.support.databases import POSTGRES_HOST, empty_database
from tests.support.harness import Harness, bot_settings
from tests.support.processes import BotProcess

ROOT = Path(__file__).parents[1]
AUDIO = ROOT / "tests" / "fixtures" / "audio"
SECRET = "s3cret_token-for-tests"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HOOK = "/telegram/hook"
SAM, ALEX = 7101, 7102


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}{HOOK}",
            "webhook_secret": SECRET,
            "http_port": port,
        }
    )


async def until_up(client: httpx.AsyncClient, timeout: float = 60.0) -> None:
    """Wait until the bot answers /healthz (it binds its port early, serves once started)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if loop.time() > deadline:
            raise AssertionError("the bot's HTTP server never answered /healthz")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def webhook_bot(
    fake: BotApiStandIn, settings: Settings
) -> AsyncIterator[tuple[Harness, httpx.AsyncClient]]:
    """The real bot in webhook mode, in this process, and an HTTP client for its port."""
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    harness = Harness(fake, settings)
    await harness.start()
    base = f"http://127.0.0.1:{settings.listen_port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await until_up(client)
            yield harness, client
    finally:
        await harness.stop()
        await harness.db.dispose()


@pytest.fixture
async def webhook(
    fake: BotApiStandIn, settings: Settings
) -> AsyncIterator[tuple[Harness, httpx.AsyncClient]]:
    async with webhook_bot(fake, webhook_settings(settings, free_port())) as running:
        yield running


async def post(
    client: httpx.AsyncClient, update: dict[str, Any], secret: str | None = SECRET
) -> httpx.Response:
    """Post an update as Telegram does."""
    headers = {} if secret is None else {SECRET_HEADER: secret}
    return await client.post(HOOK, json=update, headers=headers)


async def inbox_rows(harness: Harness) -> dict[int, InboxStatus]:
    async with harness.db.session() as session:
        rows = await session.execute(select(InboxUpdate.update_id, InboxUpdate.status))
        return dict(rows.tuples().all())


async def metric_values(client: httpx.AsyncClient) -> dict[str, float]:
    """Every sample of /metrics by name and labels, e.g. 'x_total{result="done"}'."""
    page = await client.get("/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(page.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


@pytest.mark.parametrize("secret", [None, "not-the-secret", SECRET[:-1]])
async def test_a_post_without_the_right_secret_gets_403_and_nothing_is_stored(
    webhook: tuple[Harness, httpx.AsyncClient], fake: BotApiStandIn, secret: str | None
) -> None:
    harness, client = webhook
    update = fake.send_text(SAM, "/start")

    answer = await post(client, update, secret=secret)

    assert answer.status_code == 403
    assert update["update_id"] not in await inbox_rows(harness)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"message": {"text": "hi"}}',
        b'{"update_id": "7", "x": {}}',
        b'{"update_id": 9223372036854775808, "message": {}}',  # past a BIGINT
        b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # nested
    ],
    ids=["not json", "a list", "no update_id", "a text id", "too big an id", "deep nesting"],
)
async def test_a_body_that_is_not_an_update_gets_400_and_nothing_is_stored(
    webhook: tuple[Harness, httpx.AsyncClient], body: bytes
) -> None:
    harness, client = webhook

    answer = await client.post(HOOK, content=body, headers={SECRET_HEADER: SECRET})

    assert answer.status_code == 400
    assert await inbox_rows(harness) == {}


async def test_an_update_answered_200_is_in_the_inbox_at_that_moment_then_handled(
    webhook: tuple[Harness, httpx.AsyncClient], fake: BotApiStandIn
) -> None:
    harness, client = webhook
    update = fake.send_text(SAM, "/start")

    answer = await post(client, update)

    assert answer.status_code == 200
    assert update["update_id"] in await inbox_rows(harness)
    assert await harness.handled(update["update_id"]) == InboxStatus.DONE
    assert fake.texts(SAM)  # answered, as if it had come by polling


async def test_webhook_mode_tells_telegram_the_url_and_the_secret_at_start(
    webhook: tuple[Harness, httpx.AsyncClient], fake: BotApiStandIn
) -> None:
    harness, _ = webhook
    [call] = fake.calls_of("setWebhook")
    assert call["url"] == harness.settings.webhook_url
    assert call["secret_token"] == SECRET
    assert fake.webhook_url == harness.settings.webhook_url
    assert not fake.calls_of("getUpdates")


async def test_an_update_answered_200_then_kill_9_before_handling_is_handled_after_restart(
    fake: BotApiStandIn, settings: Settings, tmp_path: Path
) -> None:
    """The voice handler fetches the note from Telegram before its commit: holding that answer
    keeps the update unhandled while the process is killed."""
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    polling = Harness(fake, settings)
    await polling.start()
    await polling.onboard(SAM)
    await polling.stop()

    port = free_port()
    process = BotProcess(webhook_settings(settings, port), tmp_path / "bot.log")
    process.env.update(
        WEBHOOK_URL=f"http://127.0.0.1:{port}{HOOK}",
        WEBHOOK_SECRET=SECRET,
        HTTP_PORT=str(port),
        TRANSCRIBE_WORKERS="0",  # the note's job is what matters here, not its transcript
    )
    held = fake.hold_next("getFile")
    voice = fake.send_voice(SAM, (AUDIO / "sister.ogg").read_bytes(), duration=4)
    process.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await until_up(client)
            assert (await post(client, voice)).status_code == 200
            await fake.wait_until(lambda: bool(fake.calls_of("getFile")), timeout=30)
            process.kill()
            held.set()
            assert (await inbox_rows(polling))[voice["update_id"]] == InboxStatus.PENDING
            assert t.VOICE_GOT_IT not in fake.texts(SAM)

            process.start()
            await until_up(client)
            assert await polling.handled(voice["update_id"], timeout=60) == InboxStatus.DONE
    finally:
        held.set()
        if process.process is not None and process.process.poll() is None:
            process.stop()
    await fake.wait_until(lambda: t.VOICE_GOT_IT in fake.texts(SAM), timeout=30)
    assert fake.texts(SAM).count(t.VOICE_GOT_IT) == 1
    async with polling.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(TranscriptionJob)) == 1
    await polling.db.dispose()


async def test_healthz_reports_the_database_the_dispatcher_and_the_queues(
    fake: BotApiStandIn, settings: Settings
) -> None:
    settings = webhook_settings(settings.model_copy(update={"transcribe_workers": 0}), free_port())
    async with webhook_bot(fake, settings) as (harness, client):
        async with harness.db.session() as session:
            # A stored update no one can handle (no payload) and a voice note no worker takes.
            session.add(InboxUpdate(update_id=1, chat_id=SAM, payload=None))
            session.add(TranscriptionJob(user_id=SAM, source_message_id=1, file_id="f"))
        for _ in range(500):  # until the dispatcher's first round (it starts at once)
            health = await client.get("/healthz")
            assert health.status_code == 200
            body = health.json()
            if body["dispatcher"]["seconds_since_last_round"] is not None:
                break
            await asyncio.sleep(0.02)

    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["mode"] == "webhook"
    assert body["inbox_backlog"] == 1
    assert body["nudges_due"] == 0
    assert body["transcription_queue"] == 1
    assert 0 <= body["dispatcher"]["seconds_since_last_round"] < 60


async def test_healthz_is_503_when_the_database_is_away(
    fake: BotApiStandIn, tmp_path: Path
) -> None:
    """The bot's PostgreSQL database is dropped under it (PostgreSQL itself keeps running)."""
    async with empty_database("postgres", tmp_path) as url:
        settings = webhook_settings(bot_settings(fake, url, tmp_path), free_port())
        async with webhook_bot(fake, settings) as (_, client):
            assert (await client.get("/healthz")).status_code == 200
            admin = await asyncpg.connect(user="postgres", host=POSTGRES_HOST, database="test")
            try:
                name = url.rsplit("/", 1)[1]
                await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            finally:
                await admin.close()

            health = await client.get("/healthz")

            assert health.status_code == 503
            assert health.json()["database"] == "unreachable"
            assert (await client.get("/metrics")).status_code == 200  # counters still served


async def test_metrics_count_updates_handlers_and_telegram_errors(
    webhook: tuple[Harness, httpx.AsyncClient], fake: BotApiStandIn
) -> None:
    harness, client = webhook
    fake.fail_next("sendMessage", 429, retry_after=1)  # retried by the rate limiter
    updates = [fake.send_text(SAM, "/start"), fake.send_text(ALEX, "/help")]
    for update in updates:
        assert (await post(client, update)).status_code == 200
    for update in updates:
        await harness.handled(update["update_id"])

    values = await metric_values(client)

    assert values["between_updates_received_total"] == 2
    assert values['between_updates_handled_total{result="done"}'] == 2
    assert values["between_handler_seconds_count"] == 2
    assert values['between_handler_seconds_bucket{le="+Inf"}'] == 2
    assert values['between_telegram_errors_total{kind="RetryAfter"}'] == 1
    assert values["between_inbox_backlog"] == 0
    assert values["between_nudges_due"] == 0
    assert values["between_transcription_queue"] == 0
    for name in (
        "between_nudge_lateness_seconds_count",
        "between_transcription_seconds_count",
        "between_dispatcher_last_round_timestamp_seconds",
    ):
        assert name in values


async def test_polling_mode_serves_healthz_and_metrics_when_http_port_is_set(
    fake: BotApiStandIn, settings: Settings
) -> None:
    port = free_port()
    settings = settings.model_copy(update={"http_port": port})
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    harness = Harness(fake, settings)
    await harness.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await until_up(client)
            await harness.send(SAM, "/start")
            health = (await client.get("/healthz")).json()
            values = await metric_values(client)
            assert (await post(client, fake.send_text(SAM, "/help"))).status_code == 404
    finally:
        await harness.stop()
        await harness.db.dispose()
    assert health["mode"] == "polling"
    assert values["between_updates_received_total"] >= 1
    assert not fake.calls_of("setWebhook")


async def test_the_send_rate_is_the_setting_telegram_max_send_rate(
    fake: BotApiStandIn, settings: Settings
) -> None:
    """Ten clients at once, at 5 messages a second: no second holds more than 5 (+1 at its
    edge), where the old fixed 29 a second sent all ten within a second."""
    settings = settings.model_copy(update={"telegram_max_send_rate": 5.0})
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    harness = Harness(fake, settings)
    await harness.start()
    clients = [SAM + 100 + i for i in range(10)]
    try:
        updates = [fake.send_text(client, "/help") for client in clients]
        for update in updates:
            await harness.handled(update["update_id"], timeout=60)
    finally:
        await harness.stop()
        await harness.db.dispose()
    times = sorted(when for client in clients for when in fake.send_times(client))
    assert len(times) >= len(clients)
    busiest = max(sum(1 for x in times if a <= x < a + 1.0) for a in times)
    assert busiest <= 6


def test_webhook_url_without_a_secret_stops_with_one_sentence(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))},
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "WEBHOOK_URL": "https://bot.example.org/telegram",
        "BETWEEN_DATA_DIR": str(tmp_path / "data"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [WEBHOOK_SECRET_MISSING]


def settings_names() -> set[str]:
    """Every environment name Settings reads."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias.upper() if isinstance(alias, str) else name.upper())
    return names


def between_commands() -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, timeout=60
    )
    listed = result.stdout.split("{", 1)[1].split("}", 1)[0]
    return set(listed.split(","))


def test_compose_file_runs_postgres_the_webhook_bot_and_two_workers_with_health_checks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "bot", "worker-1", "worker-2"}
    commands = between_commands()
    known = settings_names()

    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])

    bot = services["bot"]
    script = bot["command"][-1]
    assert [step.split()[:2] for step in script.replace("exec ", "").split(" && ")] == [
        ["between", "migrate"],
        ["between", "run"],
    ]
    assert bot["ports"] == ["127.0.0.1:8080:8080"]
    for name in ("worker-1", "worker-2"):
        assert services[name]["command"] == ["between", "worker"]
        assert services[name]["depends_on"]["bot"]["condition"] == "service_healthy"
    for name in ("bot", "worker-1", "worker-2"):
        service = services[name]
        assert {"migrate", "run", "worker"} <= commands
        assert service["env_file"] == [".env"] or service["env_file"] == ".env"
        assert set(service["environment"]) <= known, set(service["environment"]) - known
        assert "between-data:/data" in service["volumes"]
        assert "/healthz" in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["environment"]["HTTP_PORT"] == "8080"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
    # Each process keeps its name across a recreate (BETWEEN_INSTANCE defaults to the
    # hostname), so it takes back at once what it had claimed; no two share one.
    names = [services[n].get("hostname") for n in ("bot", "worker-1", "worker-2")]
    assert None not in names and len(set(names)) == 3, names
    assert services["bot"]["environment"]["TRANSCRIBE_WORKERS"] == "0"
    assert set(compose["volumes"]) == {"postgres-data", "between-data"}

    example = [
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {"TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "WEBHOOK_SECRET", "POSTGRES_PASSWORD"} <= set(
        example
    )
    assert {n for n in example if not n.startswith("POSTGRES_")} <= known

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "EXPOSE 8080" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
