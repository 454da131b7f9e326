"""Offline voice-note transcription: platform audio -> Simplified-Chinese text with faster-whisper.

    pool = TranscriptionPool.from_settings(settings.speech)   # one shared model, N worker threads
    pool.warm_up()                                            # optional: load the model now
    transcript = await pool.transcribe(audio_bytes, "amr", hotwords=crm_names)
    # raises QueueFull (answer "排队中，稍后回复"), AudioError / ModelError (reply err.user_message)
    pool.shutdown()

Heavy modules (numpy, PyAV, faster-whisper) load on first use, so importing `speech` is cheap.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import AudioError, ModelError, QueueFull, SpeechError, Transcriber, Transcript

if TYPE_CHECKING:
    from .pool import TranscriptionPool
    from .whisper import WhisperTranscriber

__all__ = ["AudioError", "ModelError", "QueueFull", "SpeechError", "Transcriber", "Transcript",
           "TranscriptionPool", "WhisperTranscriber"]


def __getattr__(name: str) -> Any:
    if name == "TranscriptionPool":
        from .pool import TranscriptionPool

        return TranscriptionPool
    if name == "WhisperTranscriber":
        from .whisper import WhisperTranscriber

        return WhisperTranscriber
    raise AttributeError(f"module 'speech' has no attribute {name!r}")
