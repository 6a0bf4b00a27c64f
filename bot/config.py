"""Settings read from the environment and `.env` (names as in the README's "Configuration")."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_CLINICIAN_CODE = 12
WEAK_CLINICIAN_CODE = (
    f"CLINICIAN_CODE is too easy to guess: use at least {MIN_CLINICIAN_CODE} characters "
    "(a few words, or a long random string), then start Between again."
)

DEFAULT_HTTP_PORT = 8080
RESERVED_PATHS = ("/healthz", "/metrics")
# What Telegram accepts as a webhook's secret_token.
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_SECRET_MISSING = (
    "WEBHOOK_SECRET is required with WEBHOOK_URL: set it to a long random string (letters, "
    "digits, _ and -), e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'."
)
WEBHOOK_SECRET_INVALID = (
    "WEBHOOK_SECRET may hold only letters, digits, _ and - (1 to 256 of them), as Telegram "
    "requires: e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'."
)
WEBHOOK_PATH_TAKEN = (
    "WEBHOOK_URL cannot end in {path}: that path serves the bot's own status. Use another "
    "path, e.g. https://example.org/telegram."
)


def webhook_path(url: str) -> str:
    """The path Telegram posts to: the path of WEBHOOK_URL ("/" if it has none)."""
    return urlsplit(url).path or "/"


class Settings(BaseSettings):
    """Everything an operator can configure; defaults run the bot on embedded parts."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    telegram_bot_token: str | None = Field(default=None, repr=False)
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    database_url: str | None = None
    data_dir: Path = Field(default=Path("data"), validation_alias="BETWEEN_DATA_DIR")
    whisper_model: str | None = None
    clinician_code: str | None = Field(default=None, repr=False)
    # Wrong codes from everyone together before codes are refused for a while (storage/codes.py).
    code_tries_per_hour: int = Field(
        default=10_000, ge=1, validation_alias="BETWEEN_CODE_TRIES_PER_HOUR"
    )
    clinician_code_tries_per_day: int = Field(
        default=500, ge=1, validation_alias="BETWEEN_CLINICIAN_CODE_TRIES_PER_DAY"
    )
    encryption_key: str | None = Field(default=None, repr=False)
    crisis_text: str | None = None
    # The crisis resources in a language (else CRISIS_TEXT, else the bot's own words in it).
    crisis_text_es: str | None = None
    crisis_text_de: str | None = None
    crisis_text_ru: str | None = None
    crisis_phrases: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Voice notes.
    whisper_compute_type: str = "int8"
    transcribe_workers: int = 1
    max_voice_seconds: int = Field(default=300, validation_alias="BETWEEN_MAX_VOICE_SECONDS")
    transcribe_lease_seconds: int = Field(
        default=120, validation_alias="BETWEEN_TRANSCRIBE_LEASE_SECONDS"
    )

    # Polling and dispatch.
    poll_timeout: int = Field(default=30, validation_alias="BETWEEN_POLL_TIMEOUT")
    dispatch_interval: float = Field(default=20.0, validation_alias="BETWEEN_DISPATCH_INTERVAL")
    grace_minutes: int = Field(default=120, validation_alias="BETWEEN_GRACE_MINUTES")
    max_practices: int = Field(default=20, ge=1, validation_alias="BETWEEN_MAX_PRACTICES")

    # Inbox and flood control.
    inbox_keep_hours: float = Field(default=48.0, validation_alias="BETWEEN_INBOX_KEEP_HOURS")
    inbox_sweep_seconds: float = Field(
        default=30.0, validation_alias="BETWEEN_INBOX_SWEEP_SECONDS"
    )
    flood_burst: int = Field(default=20, validation_alias="BETWEEN_FLOOD_BURST")
    flood_rate: float = Field(default=1.0, validation_alias="BETWEEN_FLOOD_RATE")

    # Webhook mode, and the HTTP server of /healthz and /metrics (README, "Webhook mode").
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, repr=False, validate_default=True)
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=1, le=65535)  # webhook mode: 8080
    # Telegram allows a bot about 30 messages a second overall (more with paid broadcasts).
    telegram_max_send_rate: float = Field(default=29.0, gt=0)

    # Several `between run` processes on one PostgreSQL database (README, "Several instances").
    # Each needs its own name; the same name again after a restart takes back its own work at once.
    instance: str = Field(
        default_factory=socket.gethostname, max_length=64, validation_alias="BETWEEN_INSTANCE"
    )
    # How long an update or a nudge stays with the instance that took it before another may take
    # it over (that instance stopped, or cannot reach the database); renewed at each inbox sweep.
    claim_seconds: float = Field(default=120.0, gt=0, validation_alias="BETWEEN_CLAIM_SECONDS")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("clinician_code")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        """A short code could be guessed within the ceiling on wrong codes."""
        if value and len(value) < MIN_CLINICIAN_CODE:
            raise ValueError(WEAK_CLINICIAN_CODE)
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_path_free(cls, value: str | None) -> str | None:
        """The webhook cannot share a path with /healthz or /metrics."""
        if value and webhook_path(value) in RESERVED_PATHS:
            raise ValueError(WEBHOOK_PATH_TAKEN.format(path=webhook_path(value)))
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A webhook without a secret would let anyone post updates as Telegram."""
        if info.data.get("webhook_url") and not value:
            raise ValueError(WEBHOOK_SECRET_MISSING)
        if value and not SECRET_TOKEN.fullmatch(value):
            raise ValueError(WEBHOOK_SECRET_INVALID)
        return value

    @field_validator("encryption_key")
    @classmethod
    def _fernet_keys(cls, value: str | None) -> str | None:
        """Refuse a key that is not a Fernet key before anything is written with it."""
        for key in (value or "").split(","):
            if key.strip():
                try:
                    Fernet(key.strip().encode())
                except ValueError:
                    raise ValueError(
                        "must be Fernet keys (32 url-safe base64 bytes), made with "
                        "python -c 'from cryptography.fernet import Fernet; "
                        "print(Fernet.generate_key().decode())'"
                    ) from None
        return value

    def crisis_text_for(self, language: str) -> str | None:
        """The operator's crisis resources for a language (`CRISIS_TEXT_ES`, …), else theirs
        for every language (`CRISIS_TEXT`: local numbers matter more than the language)."""
        own: str | None = getattr(self, f"crisis_text_{language}", None)
        return own or self.crisis_text

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def listen_port(self) -> int | None:
        """Where /healthz and /metrics (and the webhook) are served; None: no HTTP server."""
        if self.http_port is None and self.webhook_url:
            return DEFAULT_HTTP_PORT
        return self.http_port

    @property
    def resolved_database_url(self) -> str:
        """Return `DATABASE_URL`, or SQLite inside the data folder."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'between.db').resolve()}"


def normalise_database_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite://` URLs by naming their async drivers."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url
