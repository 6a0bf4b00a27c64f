"""Secrets generated once into the data folder, readable by the owner only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_key(data_dir: Path, name: str, size: int = 32) -> bytes:
    """Return the key stored as `data_dir/keys/name`, creating it atomically on first use."""
    folder = data_dir / "keys"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / name
    if not path.exists():
        draft = folder / f".{name}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(secrets.token_bytes(size))
        try:
            os.link(draft, path)  # fails if another process won the race: keep theirs
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()
