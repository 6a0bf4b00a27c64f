"""The bundled Whisper models: the multilingual base by default, checked before loading, and
each note heard in its client's language (real models on committed clips)."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import pytest

from transcription import engine
from transcription.engine import (
    BASE_MODEL_SHA256,
    ModelProblem,
    Transcriber,
    bundled_base_dirs,
    bundled_base_files,
    whisper_language,
)

AUDIO = Path(__file__).parent / "fixtures" / "audio"
ENGLISH: dict[str, str] = json.loads((AUDIO / "reference.json").read_text())
OTHER: dict[str, dict[str, str]] = json.loads((AUDIO / "languages.json").read_text())


def words(text: str) -> list[str]:
    """Lower-case words in any alphabet, without punctuation."""
    return re.findall(r"[^\W_]+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(len(ref), 1)


@pytest.fixture(scope="module")
def base() -> Transcriber:
    return Transcriber()


def test_the_default_model_is_the_multilingual_base(base: Transcriber) -> None:
    assert base.multilingual
    assert base.beam_size == 5


@pytest.mark.parametrize("clip", sorted(ENGLISH))
def test_the_default_model_hears_english(base: Transcriber, clip: str) -> None:
    transcript = base.transcribe(AUDIO / clip, max_seconds=60, language="en")
    assert word_error_rate(ENGLISH[clip], transcript.text) < 0.15


@pytest.mark.parametrize("clip", sorted(OTHER))
def test_a_note_is_heard_in_its_clients_language(base: Transcriber, clip: str) -> None:
    language, said = OTHER[clip]["language"], OTHER[clip]["text"]
    transcript = base.transcribe(AUDIO / clip, max_seconds=60, language=language)
    assert word_error_rate(said, transcript.text) < 0.6  # espeak-ng speech is robotic


def test_a_spanish_note_heard_as_english_is_not_spanish(base: Transcriber) -> None:
    """Why the language matters: forced to English, the words come out wrong."""
    said = OTHER["es-sister.ogg"]["text"]
    as_spanish = base.transcribe(AUDIO / "es-sister.ogg", max_seconds=60, language="es")
    as_english = base.transcribe(AUDIO / "es-sister.ogg", max_seconds=60, language="en")
    assert word_error_rate(said, as_spanish.text) < word_error_rate(said, as_english.text)


@pytest.mark.parametrize(
    ("tag", "code"),
    [("es", "es"), ("pt-br", "pt"), ("zh-hans", "zh"), ("EN_gb", "en"), ("xx", None), ("", None)],
)
def test_telegram_language_tags_become_whisper_codes(tag: str, code: str | None) -> None:
    assert whisper_language(tag) == code


def test_the_bundled_files_match_their_digests() -> None:
    files = bundled_base_files()
    assert set(files) == set(BASE_MODEL_SHA256)


def test_a_corrupted_model_file_is_refused(tmp_path: Path) -> None:
    dirs = []
    for i, source in enumerate(bundled_base_dirs(), 1):
        dirs.append(shutil.copytree(source, tmp_path / f"part{i}"))
    part = dirs[1] / "model.bin.part2"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    part.write_bytes(bytes(data))
    with pytest.raises(ModelProblem, match=r"model\.bin .*SHA-256.*not loaded"):
        bundled_base_files((dirs[0], dirs[1]))


def test_a_changed_tokenizer_is_refused(tmp_path: Path) -> None:
    first, second = (
        shutil.copytree(source, tmp_path / f"part{i}")
        for i, source in enumerate(bundled_base_dirs(), 1)
    )
    (second / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelProblem, match=r"tokenizer\.json"):
        bundled_base_files((first, second))


def test_an_english_only_model_tells_the_operator_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "_english_only_noted", False)
    tiny = Transcriber("tiny.en")
    assert not tiny.multilingual
    with caplog.at_level(logging.WARNING, logger="transcription.engine"):
        for clip in ("es-sister.ogg", "de-walk.ogg", "sister.ogg"):
            language = OTHER[clip]["language"] if clip in OTHER else "en"
            tiny.transcribe(AUDIO / clip, max_seconds=60, language=language)
    notes = [r for r in caplog.records if "English-only" in r.getMessage()]
    assert len(notes) == 1
    assert "WHISPER_MODEL" in notes[0].getMessage()
