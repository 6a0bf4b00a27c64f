"""Voice notes that lie about their length, and audio that must not stay on disk.

A crafted Ogg/Opus note whose last page (the container's duration) says 3 s but holds 20 minutes
is made here: 20 minutes of silent Opus packets, then the last page's granule position rewritten.
"""

from __future__ import annotations

import asyncio
import struct
import tracemalloc
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import update

from bot.config import Settings
from bot.texts import t
from storage.models import InboxStatus, JobStatus, TranscriptionJob
from tests.support.databases import failing_commit
from tests.support.harness import Harness
from tests.support.voice import AUDIO, jobs, settled_jobs
from transcription.engine import AudioProblem, Transcriber, audio_duration
from transcription.worker import MAX_ATTEMPTS

SAM = 5101
OPUS_RATE = 48_000
PRE_SKIP = 312  # libopus's encoder delay, written in the Opus header


def _ogg_crc(data: bytes) -> int:
    """The CRC-32 of an Ogg page (polynomial 0x04C11DB7, not reflected, no final xor)."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def lying_note(path: Path, *, holds_seconds: int, claims_seconds: int) -> Path:
    """An Ogg/Opus note of `holds_seconds` of silence whose header says `claims_seconds`."""
    with av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, OPUS_RATE), np.float32), format="flt", layout="mono"
        )
        frame.sample_rate = OPUS_RATE
        silent = bytes(list(stream.encode(frame))[-1])  # one 20 ms packet
        for i in range(holds_seconds * 50):
            packet = av.Packet(silent)
            packet.pts = packet.dts = i * 960
            packet.duration = 960
            packet.time_base = Fraction(1, OPUS_RATE)
            packet.stream = stream
            out.mux(packet)
    data = bytearray(path.read_bytes())
    last = data.rfind(b"OggS")  # the page a demuxer reads the duration from
    struct.pack_into("<q", data, last + 6, claims_seconds * OPUS_RATE + PRE_SKIP)
    struct.pack_into("<I", data, last + 22, 0)
    segments = data[last + 26]
    size = 27 + segments + sum(data[last + 27 : last + 27 + segments])
    struct.pack_into("<I", data, last + 22, _ogg_crc(bytes(data[last : last + size])))
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber()


@pytest.fixture(scope="module")
def twenty_minutes_claiming_3s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lies") / "lie.ogg"
    return lying_note(path, holds_seconds=20 * 60, claims_seconds=3)


def peak_bytes_while(run: Callable[[], object]) -> tuple[int, Exception | None]:
    """Peak memory Python and numpy allocated (decoded samples live in numpy) while `run` ran,
    and what it raised."""
    tracemalloc.start()
    raised = None
    try:
        run()
    except Exception as error:  # handed back to the test
        raised = error
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, raised


def test_the_crafted_note_does_lie(twenty_minutes_claiming_3s: Path) -> None:
    assert audio_duration(twenty_minutes_claiming_3s) == pytest.approx(3, abs=0.1)
    with av.open(str(twenty_minutes_claiming_3s)) as container:
        held = sum(frame.samples for frame in container.decode(audio=0)) / OPUS_RATE
    assert held == pytest.approx(20 * 60, abs=2)


def test_audio_longer_than_its_header_says_is_refused_holding_only_seconds_of_it(
    transcriber: Transcriber, twenty_minutes_claiming_3s: Path
) -> None:
    peak, raised = peak_bytes_while(
        lambda: transcriber.transcribe(twenty_minutes_claiming_3s, max_seconds=300)
    )
    assert isinstance(raised, AudioProblem), raised
    assert raised.kind == "longer_than_claimed"
    # 20 minutes at 16 kHz float32 would be 77 MB; about 5 s (the claim and some slack) is 0.3 MB
    assert peak < 2_000_000


def test_decoding_stops_at_the_configured_limit_whatever_the_note_claims(
    transcriber: Transcriber, tmp_path: Path
) -> None:
    note = lying_note(tmp_path / "lie.ogg", holds_seconds=20 * 60, claims_seconds=58)
    peak, raised = peak_bytes_while(lambda: transcriber.transcribe(note, max_seconds=60))
    assert isinstance(raised, AudioProblem), raised
    assert raised.kind == "too_long"
    assert peak < 60 * 16_000 * 4 + 2_000_000  # the limit's samples, and nothing like 20 minutes


def test_audio_longer_than_telegram_was_told_is_refused(transcriber: Transcriber) -> None:
    with pytest.raises(AudioProblem) as problem:
        transcriber.transcribe(AUDIO / "walk.ogg", max_seconds=300, declared_seconds=2)
    assert problem.value.kind == "longer_than_claimed"
    heard = transcriber.transcribe(AUDIO / "walk.ogg", max_seconds=300, declared_seconds=8)
    assert heard.heard_words


async def test_a_note_that_lies_about_its_length_fails_once_kindly_and_is_not_claimed_again(
    harness: Harness, twenty_minutes_claiming_3s: Path
) -> None:
    await harness.onboard(SAM)
    before = len(harness.fake.sent(SAM))
    update_ = harness.fake.send_voice(SAM, twenty_minutes_claiming_3s.read_bytes(), duration=3)
    await harness.handled(update_["update_id"])
    await harness.fake.wait_for(SAM, before + 2, timeout=60)

    assert harness.fake.texts(SAM)[before:] == [
        t.VOICE_GOT_IT,
        t.VOICE_LONGER_THAN_IT_SAYS.format(minutes=5),
    ]
    [job] = await settled_jobs(harness)
    assert (job.status, job.problem, job.attempts) == (
        JobStatus.FAILED,
        "longer_than_claimed",
        1,
    )
    assert job.audio_path and not Path(job.audio_path).exists()
    await asyncio.sleep(1)  # a worker polls twice a second: nothing takes the job again
    [job] = await jobs(harness)
    assert job.attempts == 1 and len(harness.fake.sent(SAM)) == before + 2


async def test_audio_of_an_update_that_rolls_back_is_deleted(harness: Harness) -> None:
    await harness.onboard(SAM)
    db = await harness.running_db()
    with failing_commit(db, lambda: RuntimeError("injected bug")) as raised:
        update_ = harness.fake.send_voice(
            SAM, (AUDIO / "sister.ogg").read_bytes(), duration=4
        )  # downloaded, then the update's own commit fails: it rolls back
        assert await harness.handled(update_["update_id"]) == InboxStatus.FAILED
    assert raised
    assert harness.fake.calls_of("getFile")  # the audio was fetched before the fault
    assert await jobs(harness) == []
    assert list(harness.settings.audio_dir.iterdir()) == []


async def test_audio_of_a_job_out_of_attempts_is_deleted(
    harness: Harness, settings: Settings
) -> None:
    await harness.onboard(SAM)
    await harness.stop()  # no in-process workers: the job waits for the one we run
    harness.settings = settings.model_copy(update={"transcribe_workers": 0})
    await harness.start()
    update_ = harness.fake.send_voice(SAM, (AUDIO / "sister.ogg").read_bytes(), duration=4)
    await harness.handled(update_["update_id"])
    [job] = await jobs(harness)
    assert job.audio_path and Path(job.audio_path).exists()
    async with harness.db.session() as session:  # workers died on it again and again
        await session.execute(
            update(TranscriptionJob)
            .where(TranscriptionJob.id == job.id)
            .values(status=JobStatus.RUNNING, attempts=MAX_ATTEMPTS, lease_until=None)
        )
    await harness.stop()
    harness.settings = settings
    await harness.start()

    [job] = await settled_jobs(harness)
    assert (job.status, job.problem) == (JobStatus.FAILED, "unreadable")
    assert not Path(job.audio_path or "").exists()
    assert list(settings.audio_dir.iterdir()) == []
