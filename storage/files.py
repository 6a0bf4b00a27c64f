"""Folders and files Between writes are the owner's alone (0700 / 0600)."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Create `path` and any missing parents as owner-only folders, and make `path` owner-only
    even if it was there already (an older version may have made it 0755); return it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is filtered by the umask
    os.chmod(path, FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if it is missing, and make it owner-only; return it.

    A file already there is only chmod-ed, never opened: closing any descriptor of a file drops
    every POSIX lock this process holds on it, so opening a SQLite database, -wal or -shm that a
    connection in this process has open would silently drop that connection's locks (SQLite's
    "how to corrupt", 2.2). Another process could then take the database for its only user,
    checkpoint and delete the -wal under that connection, which from then on reads a stale copy."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    os.chmod(path, FILE_MODE)
    return path


def new_private_file(folder: Path, suffix: str) -> Path:
    """Create an empty owner-only file with a random, unguessable name in `folder` (made
    owner-only); return it. No name can be worked out from an id, so nothing a client sends can
    name another's file."""
    path = private_folder(folder) / f"{secrets.token_hex(16)}{suffix}"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    os.chmod(path, FILE_MODE)
    return path
