"""Word error rate and speed of the bundled models, ours against the bare model, per language.

    .venv/bin/python bench/models.py [--models base tiny.en] [--speech DIR]

For each model and for beam 5 and beam 1: the bare faster-whisper call (WhisperModel.transcribe
on the file, language set, beam as given, no VAD) and our Transcriber.transcribe (duration
check, bounded decode, VAD, no-speech filtering), on
- English: the committed clips (tests/fixtures/audio/reference.json, espeak-ng speech) and, with
  --speech, real read speech from the pocketsphinx source package (public-domain LibriVox
  readings and recorded card names): `pip download --no-deps --no-binary :all: pocketsphinx`,
  untar, and pass its test/data folder;
- Spanish, German and Russian: the committed clips (languages.json), heard with the language set.
WER is pooled over each set's words, after the standard Whisper normalisers (the
`whisper-normalizer` package, `pip install -e '.[bench]'`: OpenAI's EnglishTextNormalizer for
English, so "Mr."/"mister", "10"/"ten", "colour"/"color" are not errors; BasicTextNormalizer for
the others); "raw" is ours without normalising. Time is per audio second, one warm process.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whisper_normalizer.basic import BasicTextNormalizer  # noqa: E402
from whisper_normalizer.english import EnglishTextNormalizer  # noqa: E402

from tests.test_model import word_error_rate, words  # noqa: E402
from transcription.engine import Transcriber, audio_duration  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
ENGLISH, BASIC = EnglishTextNormalizer(), BasicTextNormalizer()


def real_speech(folder: Path, tmp: Path) -> dict[Path, str]:
    """pocketsphinx's LibriVox and cards clips with their transcripts (raw goforward too)."""
    clips: dict[Path, str] = {}
    for listing, sub in (
        ("librivox/transcription", "librivox"),
        ("cards/cards.transcription", "cards"),
    ):
        for line in (folder / listing).read_text().splitlines():
            found = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
            if found:
                clips[folder / sub / f"{found[2]}.wav"] = found[1].strip()
    raw = folder / "goforward.raw"
    if raw.exists():  # 16 kHz 16-bit mono without a header: give it one
        wav = tmp / "goforward.wav"
        with wave.open(str(wav), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16_000)
            out.writeframes(raw.read_bytes())
        clips[wav] = "go forward ten meters"
    return clips


def measure(model: Transcriber, clips: dict[Path, tuple[str, str]], beam: int) -> str:
    """One row: WER and time per audio second, bare and ours."""
    model.beam_size = beam
    n = audio = bare_s = ours_s = bare_err = ours_err = raw_n = raw_err = 0.0
    for path, (language, said) in clips.items():
        seconds = audio_duration(path)
        began = time.perf_counter()
        segments, _ = model.model.transcribe(str(path), language=language, beam_size=beam)
        bare = " ".join(s.text.strip() for s in segments)
        bare_s += time.perf_counter() - began
        began = time.perf_counter()
        ours = model.transcribe(path, max_seconds=600, language=language).text
        ours_s += time.perf_counter() - began
        norm = ENGLISH if language == "en" else BASIC
        count = len(words(norm(said)))
        n, audio = n + count, audio + seconds
        bare_err += count * word_error_rate(norm(said), norm(bare))
        ours_err += count * word_error_rate(norm(said), norm(ours))
        raw_n += len(words(said))
        raw_err += len(words(said)) * word_error_rate(said, ours)
    return (
        f"WER ours {ours_err / n:.3f} bare {bare_err / n:.3f} (raw ours {raw_err / raw_n:.3f}) | "
        "s per audio s ours "
        f"{ours_s / audio:.3f} bare {bare_s / audio:.3f} ({audio:.0f} s of audio, {n:.0f} words)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["base", "tiny.en"])
    parser.add_argument("--speech", type=Path, help="pocketsphinx's test/data folder")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        reference = json.loads((AUDIO / "reference.json").read_text())
        sets = {
            "English, committed (espeak-ng)": {AUDIO / c: ("en", t) for c, t in reference.items()}
        }
        if args.speech:
            real = real_speech(args.speech, Path(tmp))
            sets["English, real (LibriVox, cards)"] = {p: ("en", t) for p, t in real.items()}
        other = json.loads((AUDIO / "languages.json").read_text())
        for language in ("es", "de", "ru"):
            sets[f"{language}, committed (espeak-ng)"] = {
                AUDIO / c: (language, o["text"])
                for c, o in other.items()
                if o["language"] == language
            }
        for name in args.models:
            began = time.perf_counter()
            model = Transcriber(name)
            print(f"\n{name}: loaded in {time.perf_counter() - began:.1f} s")
            model.transcribe(AUDIO / "sister.ogg", max_seconds=60)  # warm, loads the VAD model
            for label, clips in sets.items():
                if not model.multilingual and not label.startswith("English"):
                    continue
                for beam in (5, 1):
                    print(f"  {label:<34} beam {beam}: {measure(model, clips, beam)}", flush=True)


if __name__ == "__main__":
    main()
