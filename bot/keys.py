"""Secrets generated once into the data folder, readable by the owner only."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from storage.crypto import TextCipher
from storage.files import private_folder


def load_or_create_key(data_dir: Path, name: str, size: int = 32) -> bytes:
    """Return the key stored as `data_dir/keys/name`, creating it atomically on first use."""
    folder = private_folder(data_dir / "keys")
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
    os.chmod(path, 0o600)  # a key an older version wrote may be readable by others
    return path.read_bytes()


def load_cipher(encryption_key: str | None, data_dir: Path) -> TextCipher:
    """Use `ENCRYPTION_KEY` (Fernet keys, newest first, comma-separated), else a generated key.

    The generated key lives in the data folder beside the SQLite file; with a database
    elsewhere, set ENCRYPTION_KEY so the key is not lost with one machine's disk.
    """
    if encryption_key:
        keys = [key.strip().encode() for key in encryption_key.split(",") if key.strip()]
    else:
        keys = [base64.urlsafe_b64encode(load_or_create_key(data_dir, "data.key"))]
    return TextCipher(keys)
