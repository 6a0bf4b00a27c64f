"""Transcription: voice notes to text with faster-whisper (see issue 4)."""
