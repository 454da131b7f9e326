"""Shared speech types: what a transcriber returns and the errors a handler must answer.

Kept free of faster-whisper and PyAV imports so handlers and tests can use them cheaply.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol


@dataclass(frozen=True, slots=True)
class Transcript:
    """One transcribed voice note; `text` is what goes into the note pipeline."""

    text: str  # Simplified Chinese, segments joined; "" when nothing was said
    raw_text: str  # the model's own output before Traditional -> Simplified conversion
    language: str
    duration_s: float  # audio duration
    model: str  # model name or directory, for the stored record
    timings: dict[str, float] = field(default_factory=dict)  # decode / transcribe (/ queued) seconds
    fixes: tuple[tuple[str, str], ...] = ()  # (heard, written) rewrites toward CRM / sales words


class SpeechError(Exception):
    """Base for speech failures; `user_message` is a Simplified-Chinese chat reply."""

    user_message = "语音识别失败，请稍后重试或发文字。"


class AudioError(SpeechError):
    """The audio itself cannot be transcribed (empty, corrupt, not audio, too long).

    `kind` is one of "empty", "unreadable", "too_long"; str(err) is the English detail for logs.
    """

    MESSAGES: ClassVar[dict[str, str]] = {
        "empty": "收到的语音是空的，请重新录一条。",
        "unreadable": "这条语音无法解析（文件损坏或不是音频），请重新录一条或发文字。",
        "too_long": "语音太长了（最长 {max_s:.0f} 秒），请分成几条短语音发送。",
    }

    def __init__(self, kind: str, detail: str, max_s: float = 0.0) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.max_s = max_s

    @property
    def user_message(self) -> str:  # type: ignore[override]
        return self.MESSAGES.get(self.kind, SpeechError.user_message).format(max_s=self.max_s)

    def __reduce__(self) -> tuple[type, tuple[str, str, float]]:
        # Custom __init__ args: needed so the error survives a process-pool boundary.
        return (type(self), (self.kind, self.detail, self.max_s))

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


class ModelError(SpeechError):
    """The configured model cannot be found or loaded: an operator problem, not the rep's."""

    user_message = "语音识别暂不可用（模型未安装或配置有误），请先发文字，我们会尽快处理。"


class QueueFull(SpeechError):
    """All workers busy and the waiting queue full: answer now instead of blocking."""

    user_message = "排队中，稍后回复"


class Transcriber(Protocol):
    """Anything that turns voice-note bytes into a Transcript (the real model or a test fake)."""

    def transcribe(self, audio: bytes, fmt: str | None, hotwords: Sequence[str] = ()) -> Transcript: ...
