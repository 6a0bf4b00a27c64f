"""`between run` as a real process, so a test can kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.config import Settings


class BotProcess:
    """`between run` as a real process, so it can be killed with SIGKILL."""

    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": settings.telegram_bot_token or "",
            "TELEGRAM_API_URL": settings.telegram_api_url,
            "TELEGRAM_FILE_URL": settings.telegram_file_url,
            "DATABASE_URL": settings.resolved_database_url,
            "BETWEEN_DATA_DIR": str(settings.data_dir),
            "BETWEEN_POLL_TIMEOUT": "1",
            **env,  # e.g. BETWEEN_INSTANCE for a second instance
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], env=self.env, stdout=log, stderr=log
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(30)
