"""The transcription engine with the real bundled tiny.en model on committed voice-note clips."""

from __future__ import annotations

import json
import re
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from transcription.engine import AudioProblem, Transcriber, audio_duration

AUDIO = Path(__file__).parent / "fixtures" / "audio"
REFERENCE: dict[str, str] = json.loads((AUDIO / "reference.json").read_text())


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, so WER counts only what was misheard."""
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance divided by the reference length."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(len(ref), 1)


def write_long_silence(path: Path, seconds: int) -> None:
    """A long OGG/Opus voice note built by muxing one silent packet over and over (no encoding)."""
    with av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48_000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 48_000), np.float32), format="flt", layout="mono"
        )
        frame.sample_rate = 48_000
        silent = bytes(list(stream.encode(frame))[-1])  # one 20 ms packet
        for i in range(seconds * 50):
            packet = av.Packet(silent)
            packet.pts = packet.dts = i * 960
            packet.duration = 960
            packet.time_base = Fraction(1, 48_000)
            packet.stream = stream
            out.mux(packet)


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber()


@pytest.fixture(scope="module")
def forty_minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "forty.ogg"
    write_long_silence(path, 40 * 60)
    return path


def test_word_error_rate() -> None:
    assert word_error_rate("I felt fine.", "i felt fine") == 0
    assert word_error_rate("a b c d", "a x c") == 0.5


@pytest.mark.parametrize("clip", sorted(REFERENCE))
def test_speech_is_transcribed_close_to_what_was_said(transcriber: Transcriber, clip: str) -> None:
    transcript = transcriber.transcribe(AUDIO / clip, max_seconds=60)
    assert transcript.heard_words
    assert word_error_rate(REFERENCE[clip], transcript.text) < 0.3
    assert transcript.audio_seconds == pytest.approx(audio_duration(AUDIO / clip))


@pytest.mark.parametrize("clip", ["silence.ogg", "noise.ogg"])
def test_silence_and_noise_give_no_words(transcriber: Transcriber, clip: str) -> None:
    transcript = transcriber.transcribe(AUDIO / clip, max_seconds=60)
    assert transcript.text == ""
    assert not transcript.heard_words
    assert transcript.audio_seconds == pytest.approx(3, abs=0.1)


@pytest.mark.parametrize("clip", ["random.ogg", "empty.ogg", "truncated.ogg"])
def test_broken_files_are_unreadable(transcriber: Transcriber, clip: str) -> None:
    with pytest.raises(AudioProblem) as problem:
        transcriber.transcribe(AUDIO / clip, max_seconds=60)
    assert problem.value.kind == "unreadable"


@pytest.mark.parametrize("clip", ["random.ogg", "empty.ogg"])
def test_duration_of_a_non_audio_file_is_unreadable(clip: str) -> None:
    with pytest.raises(AudioProblem, match="unreadable"):
        audio_duration(AUDIO / clip)


def test_a_note_over_the_limit_is_too_long(transcriber: Transcriber) -> None:
    with pytest.raises(AudioProblem) as problem:
        transcriber.transcribe(AUDIO / "breathing.ogg", max_seconds=1)
    assert problem.value.kind == "too_long"
    assert problem.value.seconds == pytest.approx(5.8, abs=0.1)


def test_duration_of_a_long_note_is_read_without_decoding(forty_minutes: Path) -> None:
    started = time.perf_counter()
    assert audio_duration(forty_minutes) == pytest.approx(2400, abs=1)
    assert time.perf_counter() - started < 0.5


def test_a_long_note_is_refused_before_decoding(
    transcriber: Transcriber, forty_minutes: Path
) -> None:
    started = time.perf_counter()
    with pytest.raises(AudioProblem) as problem:
        transcriber.transcribe(forty_minutes, max_seconds=5 * 60)
    assert problem.value.kind == "too_long"
    assert problem.value.seconds == pytest.approx(2400, abs=1)
    assert time.perf_counter() - started < 0.5  # decoding 40 minutes would take seconds


def test_one_transcriber_serves_many_notes(transcriber: Transcriber) -> None:
    model = transcriber.model
    heard = []
    for clip in ["sister.ogg", "truncated.ogg", "silence.ogg", "walk.ogg"]:
        try:
            heard.append(transcriber.transcribe(AUDIO / clip, max_seconds=60).heard_words)
        except AudioProblem as problem:
            heard.append(problem.kind)
    assert heard == [True, "unreadable", False, True]
    assert transcriber.model is model
