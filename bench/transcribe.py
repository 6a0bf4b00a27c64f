"""Benchmark transcription of the speech fixtures with a bundled model (base by default).

    .venv/bin/python bench/transcribe.py [--repeat 3] [--model tiny.en]

(bench/models.py compares the models on more speech, real and in Spanish and German.)

In one warm process (the model loaded once), for each speech clip and beam 5 and beam 1: the
bare faster-whisper time (WhisperModel.transcribe on the file, iterating the segments), the time
of our Transcriber.transcribe (duration check, strict decode, VAD, no-speech filtering), and the
word error rate of each against the reference text. Times are the best of --repeat runs.
Whisper decodes 30-second windows, so these short clips cost more per audio second than long
notes do.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_transcription_engine import AUDIO, REFERENCE, word_error_rate, words  # noqa: E402
from transcription.engine import Transcriber, audio_duration  # noqa: E402


def best_time(run: Callable[[], str], repeat: int) -> tuple[float, str]:
    """Fastest of `repeat` runs, and the text the last one produced."""
    times, text = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        text = run()
        times.append(time.perf_counter() - started)
    return min(times), text


def main() -> None:
    """Print model load time and a table per beam size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", default="base", help="base, tiny.en, or any faster-whisper")
    args = parser.parse_args()

    started = time.perf_counter()
    transcriber = Transcriber(args.model)
    print(f"model load: {time.perf_counter() - started:.2f} s ({args.model} int8, cpu)")
    model = transcriber.model
    clips = sorted(REFERENCE)
    transcriber.transcribe(AUDIO / clips[0], max_seconds=60)  # warm up, loads the VAD model

    for beam in (5, 1):
        transcriber.beam_size = beam

        def bare(path: Path, beam: int = beam) -> str:
            segments, _ = model.transcribe(str(path), language="en", beam_size=beam)
            return " ".join(s.text.strip() for s in segments)

        print(f"\nbeam {beam}")
        print(
            f"{'clip':<14}{'audio s':>8}{'WER':>7}{'bare WER':>9}{'bare s':>8}{'ours s':>8}"
            f"{'ratio':>7}"
        )
        rows = []  # (words in reference, audio s, ours WER, bare WER, bare s, ours s)
        for clip in clips:
            path = AUDIO / clip
            bare_s, bare_text = best_time(lambda path=path: bare(path), args.repeat)
            ours_s, ours_text = best_time(
                lambda path=path: transcriber.transcribe(path, max_seconds=60).text, args.repeat
            )
            row = (
                len(words(REFERENCE[clip])),
                audio_duration(path),
                word_error_rate(REFERENCE[clip], ours_text),
                word_error_rate(REFERENCE[clip], bare_text),
                bare_s,
                ours_s,
            )
            rows.append(row)
            print(f"{clip:<14}" + line(*row[1:]))
        n = sum(r[0] for r in rows)
        audio, bare_s, ours_s = (sum(r[i] for r in rows) for i in (1, 4, 5))
        ours_wer, bare_wer = (sum(r[0] * r[i] for r in rows) / n for i in (2, 3))
        print(f"{'all':<14}" + line(audio, ours_wer, bare_wer, bare_s, ours_s))
        print(f"per audio second: bare {bare_s / audio:.3f} s, ours {ours_s / audio:.3f} s")


def line(audio: float, wer: float, bare_wer: float, bare_s: float, ours_s: float) -> str:
    """One table row after the clip name."""
    return (
        f"{audio:>8.2f}{wer:>7.1%}{bare_wer:>9.1%}{bare_s:>8.2f}{ours_s:>8.2f}"
        f"{ours_s / bare_s:>7.2f}"
    )


if __name__ == "__main__":
    main()
