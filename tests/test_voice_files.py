"""Audio on disk: a note can never make ffmpeg open another file or a URL, no audio file's name
can be guessed, and the data folder is the owner's alone even when an older version made it."""

from __future__ import annotations

import asyncio
import http.server
import os
import re
import shutil
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.texts import t
from sandbox.botapi import BotApiStandIn
from storage.db import migrate
from tests.support.harness import Harness, bot_settings
from tests.support.voice import AUDIO, jobs, settled_jobs
from transcription.engine import AudioProblem, audio_duration

SAM = 5201
MALLORY = 5202


@pytest.fixture
def http_hits() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server's base URL and the paths it was asked for."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


async def send_document(harness: Harness, user_id: int, data: bytes) -> list[str]:
    """Send bytes as a document with an audio mime type; return the bot's replies."""
    before = len(harness.fake.sent(user_id))
    update_ = harness.fake.send_voice(user_id, data, duration=4, kind="document")
    await harness.handled(update_["update_id"])
    await harness.fake.wait_for(user_id, before + 2, timeout=60)
    return harness.fake.texts(user_id)[before:]


def test_a_playlist_naming_another_file_is_not_opened(tmp_path: Path) -> None:
    shutil.copy(AUDIO / "sister.ogg", tmp_path / "424242.audio")
    playlist = tmp_path / "mine.audio"
    playlist.write_bytes(b"ffconcat version 1.0\nfile 424242.audio\n")
    with pytest.raises(AudioProblem) as problem:
        audio_duration(playlist)
    assert problem.value.kind == "unreadable"
    assert audio_duration(tmp_path / "424242.audio") > 0  # a plain Ogg note still opens


async def test_a_playlist_sent_as_audio_gets_unreadable_and_nobody_elses_words(
    harness: Harness,
) -> None:
    await harness.onboard(MALLORY)
    audio_dir = harness.settings.audio_dir
    audio_dir.mkdir(parents=True, exist_ok=True)
    # Another client's note waiting for a worker, under a name the attacker could guess,
    # named both relatively and absolutely.
    victim = audio_dir / "424242.audio"
    shutil.copy(AUDIO / "sister.ogg", victim)
    for playlist in (
        b"ffconcat version 1.0\nfile 424242.audio\n",
        f"ffconcat version 1.0\nfile '{victim}'\n".encode(),
    ):
        replies = await send_document(harness, MALLORY, playlist)
        assert replies == [t.VOICE_GOT_IT, t.VOICE_UNREADABLE]
        assert "sister" not in " ".join(replies).lower()
    assert all(job.problem == "unreadable" for job in await settled_jobs(harness))


async def test_an_hls_playlist_pointing_at_a_local_url_fetches_nothing(
    harness: Harness, http_hits: tuple[str, list[str]]
) -> None:
    url, hits = http_hits
    await harness.onboard(MALLORY)
    for playlist in (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{url}/seg.ts\n#EXT-X-ENDLIST\n",
        f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n{url}/variant.m3u8\n",
        f"ffconcat version 1.0\nfile {url}/note.ogg\n",
    ):
        replies = await send_document(harness, MALLORY, playlist.encode())
        assert replies == [t.VOICE_GOT_IT, t.VOICE_UNREADABLE]
    assert hits == []


async def test_audio_file_names_are_random_not_derived_from_ids(
    harness: Harness, settings: Settings
) -> None:
    await harness.onboard(SAM)
    await harness.stop()  # no workers: the notes wait on disk where we can look at them
    harness.settings = settings.model_copy(update={"transcribe_workers": 0})
    await harness.start()
    updates = [
        harness.fake.send_voice(SAM, (AUDIO / "sister.ogg").read_bytes(), duration=4)
        for _ in range(2)
    ]
    for update_ in updates:
        await harness.handled(update_["update_id"])
    waiting = await jobs(harness)
    names = [Path(job.audio_path or "").name for job in waiting]
    assert len(set(names)) == 2
    for job, name, update_ in zip(waiting, names, updates, strict=True):
        assert re.fullmatch(r"[0-9a-f]{32}\.audio", name), name
        assert name not in (f"{update_['update_id']}.audio", f"job-{job.id}.audio")
        path = Path(job.audio_path or "")
        assert path.parent == settings.audio_dir
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # A worker that does not find the file (another machine) fetches it again, under a random
    # name too, and still answers.
    Path(waiting[0].audio_path or "").unlink()
    await harness.stop()
    harness.settings = settings
    await harness.start()
    done = await settled_jobs(harness)
    assert [job.problem for job in done] == [None, None]
    assert "sister" in (done[0].transcript or "").lower()
    assert not any(p.name.startswith("job-") for p in settings.audio_dir.iterdir())
    assert list(settings.audio_dir.iterdir()) == []


async def test_folders_and_files_an_older_version_left_open_become_owner_only(
    fake: BotApiStandIn, tmp_path: Path
) -> None:
    settings = bot_settings(fake, "", tmp_path)  # SQLite in the data folder, the default
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    harness = Harness(fake, settings)
    await harness.start()  # the first run makes the folders, the key and the database
    await harness.onboard(SAM)
    await harness.stop()
    # What an older version left: folders 0755, the database and its side files 0644.
    data = settings.data_dir
    folders = [data, settings.audio_dir, data / "keys"]
    database = data / "between.db"
    sides = [database.with_name(database.name + end) for end in ("-wal", "-shm", "-journal")]
    for side in sides[:2]:
        side.touch()  # empty: SQLite starts them afresh
    files = [database, *sides[:2], *(data / "keys").iterdir()]
    for folder in folders:
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o755)
    for path in files:
        os.chmod(path, 0o644)

    await harness.start()
    try:
        await harness.onboard(SAM + 1)  # the bot is up and has used its database
        for folder in folders:
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder.name
        for path in files:
            if path.exists():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    finally:
        await harness.stop()
        await harness.db.dispose()


async def test_the_answer_to_a_note_comes_after_got_it_even_when_got_it_is_late(
    harness: Harness,
) -> None:
    """"Got it" leaves after the commit; Telegram fails it once (502), so it goes again a moment
    later. The worker has the answer to an unreadable note at once: it waits for the chat's
    earlier replies, instead of saying "I couldn't open that" before "Got it"."""
    await harness.onboard(MALLORY)
    harness.fake.fail_next("sendMessage", 502)

    replies = await send_document(harness, MALLORY, os.urandom(4000))

    assert replies == [t.VOICE_GOT_IT, t.VOICE_UNREADABLE]
